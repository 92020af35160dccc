"""Worker processes, in one place: a local process pool, one call in a process of its own, and
a dask.distributed client. The runner, ingest and the method study fan their work out through
these; no other module starts processes for work.

Every local worker runs one BLAS thread (two workers each running a multi-threaded BLAS on two
cores thrash) and leaves Ctrl-C to the parent, which stops the workers itself: a worker that
died of KeyboardInterrupt would look like a crash and break its pool.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # imported where used: the command line starts without them
    from concurrent.futures import Future, ProcessPoolExecutor

T = TypeVar("T")
Setup = Callable[[], object] | None  # run in each worker as it starts, after the common setup


class WorkerDied(Exception):
    """A process running a call died (killed, or crashed) before it could answer."""

    def __init__(self, exitcode: int | None) -> None:
        super().__init__(f"the worker process died (exit code {exitcode})")
        self.exitcode = exitcode  # negative: killed by that signal


def limit_threads() -> None:
    """One BLAS thread in this process."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _worker_init(setup: Setup) -> None:
    """What every local worker does first: leave Ctrl-C to the parent, one BLAS thread, then
    the caller's own `setup`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads()
    if setup is not None:
        setup()


def on_exit(teardown: Callable[[], object]) -> None:
    """Call `teardown` when this worker process ends (multiprocessing's workers leave by
    os._exit, so atexit handlers would not run)."""
    from multiprocessing.util import Finalize

    Finalize(None, teardown, exitpriority=10)


@contextmanager
def process_pool(jobs: int, setup: Setup = None) -> Iterator[ProcessPoolExecutor]:
    """A pool of `jobs` worker processes. Left normally, it waits for its calls; left by an
    error, it cancels what had not started and waits for the calls running; left by an
    interrupt (Ctrl-C, SIGTERM turned into one) or a closed generator, it terminates its
    workers at once and cancels what had not started."""
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(jobs, initializer=_worker_init, initargs=(setup,))
    try:
        yield pool
    except Exception:
        # not terminated: a worker killed while it sends a result leaves half a message in the
        # pool's pipe, and the pool's own thread then waits for the rest for ever (a process
        # that never exits)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    except BaseException:
        _terminate(pool)
        raise
    pool.shutdown(wait=True)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Stop a pool's workers now (what they were writing is never installed; their own children,
    such as kernels, stop with them) and cancel the calls not yet started."""
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def died(future: Future) -> bool:
    """Whether a call's worker process died under it (waits for the call to finish)."""
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(future.exception(), BrokenProcessPool)


def pool_map(fn: Callable[[Any], T], items: Sequence[Any], jobs: int, setup: Setup = None) -> Iterator[T]:
    """fn(item) for each item on a pool of `jobs` processes, yielded in the items' order (so
    what is built from them does not depend on which worker finished first)."""
    with process_pool(jobs, setup) as pool:
        yield from pool.map(fn, items)


def as_completed_in_rounds(
    fn: Callable[..., T],
    items: Sequence[Any],
    jobs: int,
    rounds: int,
    args: tuple = (),
    setup: Setup = None,
) -> Generator[tuple[Any, Future], None, None]:
    """fn(item, *args) for each item on a pool of `jobs` processes, yielding (item, its finished
    future) as each finishes. A worker that dies breaks its pool and every unfinished call with
    it: those calls go to a fresh pool, up to `rounds` pools in all, so one killed worker costs
    its calls a retry and not the others their results; after the last round they are yielded
    with their broken futures (`died` is true)."""
    from concurrent.futures import as_completed

    todo = list(items)
    for round_ in range(1, rounds + 1):
        broken = []
        with process_pool(jobs, setup) as pool:
            pending = {pool.submit(fn, item, *args): item for item in todo}
            for fut in as_completed(pending):
                if died(fut) and round_ < rounds:
                    broken.append(pending[fut])
                else:
                    yield pending[fut], fut
        if not broken:
            return
        todo = broken


def _call_and_send(fn: Callable[..., object], args: tuple, conn: Any) -> None:
    """A child process's work for `run_alone`: call, and send back the result or the error."""
    _worker_init(None)
    try:
        try:
            message: tuple[str, object] = ("ok", fn(*args))
        except Exception as exc:
            message = ("error", exc)
        conn.send(message)
    finally:
        conn.close()


def run_alone(fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a fresh process of its own: its result, or the exception it raised; if the
    process dies before it answers, WorkerDied with its exit code, which a pool cannot give (it
    does not say which of its workers died, nor how)."""
    import multiprocessing

    ctx = multiprocessing.get_context()
    receiver, sender = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_call_and_send, args=(fn, args, sender), daemon=True)
    proc.start()
    sender.close()  # the child's end: only the child's exit may now close the pipe
    try:
        status, payload = receiver.recv()
    except EOFError:  # it died before it could answer
        proc.join()
        raise WorkerDied(proc.exitcode) from None
    except BaseException:  # Ctrl-C in the parent: the child ignores it, so stop it here
        proc.terminate()
        proc.join()
        raise
    finally:
        receiver.close()
    proc.join()
    if status != "ok":
        raise payload
    return payload


@contextmanager
def dask_client(workers: int, scheduler: str | None = None) -> Iterator[Any]:
    """A connected dask.distributed client; a LocalCluster of `workers` one-thread processes
    when no scheduler address is given (any running cluster otherwise: a SLURM cluster from
    dask-jobqueue, for instance), closed with the client."""
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        client = Client(scheduler)
    else:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dask_map(
    fn: Callable[..., T],
    items: Sequence[Any],
    jobs: int,
    scheduler: str | None = None,
    args: tuple = (),
    in_order: bool = True,
    setup: Setup = None,
) -> Iterator[T]:
    """fn(item, *args) for each item on a dask cluster (see `dask_client`), yielded in the
    items' order, or as each finishes when not `in_order`; `setup` runs first on every worker."""
    from distributed import as_completed

    with dask_client(jobs, scheduler) as client:
        if setup is not None:
            client.run(setup)
        futures = [client.submit(fn, item, *args, pure=False) for item in items]
        for fut in futures if in_order else as_completed(futures):
            yield fut.result()
