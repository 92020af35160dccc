"""analysis.workers: results in order, errors passed back, and a worker that dies told apart
(a retry in a fresh pool, or the exit code of a call run alone)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from analysis import workers


def _square(x: int) -> int:
    return x * x


def _fails(x: int) -> int:
    raise ValueError(f"no good: {x}")


def _killed(x: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)  # as the system's out-of-memory killer does
    return x


def _killed_once(x: int, marker: str) -> int:
    """Kills its worker the first time it is called for 2 (the marker file remembers)."""
    if x == 2 and not Path(marker).exists():
        Path(marker).touch()
        _killed(x)
    return x


def _sigint_ignored() -> bool:
    return signal.getsignal(signal.SIGINT) == signal.SIG_IGN


def test_pool_map_keeps_the_items_order():
    assert list(workers.pool_map(_square, range(7), jobs=2)) == [x * x for x in range(7)]


def test_a_call_alone_gives_its_result_or_its_error():
    assert workers.run_alone(_square, 4) == 16
    assert workers.run_alone(_sigint_ignored)  # Ctrl-C is left to the parent
    with pytest.raises(ValueError, match="no good: 3"):
        workers.run_alone(_fails, 3)


def test_a_call_alone_whose_process_dies_gives_its_exit_code():
    with pytest.raises(workers.WorkerDied) as died:
        workers.run_alone(_killed, 1)
    assert died.value.exitcode == -signal.SIGKILL


def test_a_worker_killed_once_costs_its_calls_a_retry(tmp_path):
    marker = str(tmp_path / "killed")
    got = {
        item: fut.result()
        for item, fut in workers.as_completed_in_rounds(_killed_once, [1, 2, 3], 2, 2, args=(marker,))
    }
    assert Path(marker).exists() and got == {1: 1, 2: 2, 3: 3}


def test_after_the_last_round_a_call_whose_worker_died_is_yielded_as_dead():
    done = list(workers.as_completed_in_rounds(_killed, [1], jobs=1, rounds=2))
    assert [(item, workers.died(fut)) for item, fut in done] == [(1, True)]
