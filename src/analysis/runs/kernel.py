"""One warm Jupyter kernel per worker process, reused from notebook to notebook.

Starting a kernel and importing pandas, statsmodels and matplotlib into it costs about 4 s,
against about 1 s of work in a force report, so a worker keeps its kernel. Before each notebook
the kernel is put back into the state of a fresh one (analysis.kernel_state): user namespace
cleared, execution count back to 1, warning filters and "shown once" registries restored,
figures closed. Imported modules stay (that is the saving), so the kernel is replaced when the
package's code changes, and after any notebook that failed, timed out or killed it.
tests/runs/test_kernel.py checks that a force report executed in a reused kernel is byte-identical
to one executed in a fresh kernel.

Papermill still parameterises and executes every notebook; the warm kernel reaches it through a
papermill engine ("warm") registered here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from pathlib import Path

from jupyter_core.utils import run_sync
from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, papermill_engines
from papermill.log import logger

from analysis import paths

ENGINE = "warm"
STARTUP_TIMEOUT = 60
STARTS = 2  # a kernel can die at start when another takes its port first: one retry
_LOCAL = threading.local()  # one kernel per thread: a dask worker may run tasks in threads


class WarmKernel:
    """A started kernel, its client, and what it was started for."""

    def __init__(self, kernel_name: str, cwd: str, code: str, outputs: str = "") -> None:
        # nbclient drives kernels through the asyncio clients: a blocking client would stall its
        # event loop (and with it the per-cell timeout)
        from jupyter_client.manager import AsyncKernelManager

        self.ident = (kernel_name, cwd, code, outputs)
        self.km = AsyncKernelManager(kernel_name=kernel_name)
        # the kernel's own start-up warnings are not the reader's business
        env = {k: v for k, v in os.environ.items() if k != paths.OUTPUTS_ENV}
        if outputs:
            env[paths.OUTPUTS_ENV] = outputs  # the run's output folder, where its tables are
        run_sync(self.km.start_kernel)(cwd=cwd, env=env, extra_arguments=["--IPKernelApp.log_level=ERROR"])
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            run_sync(self.kc.wait_for_ready)(timeout=STARTUP_TIMEOUT)
            self._silent("import analysis.runs.kernel_state as _k; _k.snapshot(); del _k")
        except BaseException:
            self.close()
            raise

    def _silent(self, code: str) -> None:
        reply = run_sync(self.kc.execute_interactive)(
            code, silent=True, store_history=False, timeout=STARTUP_TIMEOUT
        )
        if reply["content"]["status"] != "ok":
            c = reply["content"]
            raise RuntimeError(f"kernel set-up failed: {c.get('ename')}: {c.get('evalue')}")

    def reset(self) -> None:
        """Fresh-kernel state, keeping the imported modules."""
        self._silent("import analysis.runs.kernel_state as _k; _k.reset()")  # reset clears _k

    def alive(self) -> bool:
        return bool(run_sync(self.km.is_alive)())

    def close(self) -> None:
        """Stop the client and shut the kernel down."""
        try:
            self.kc.stop_channels()
        finally:
            if self.km.has_kernel:
                run_sync(self.km.shutdown_kernel)(now=True)


def acquire(kernel_name: str, cwd: str, code: str, outputs: str = "") -> WarmKernel:
    """This thread's kernel for (kernel, folder, code, output folder), reset; started or replaced
    if needed."""
    warm = getattr(_LOCAL, "warm", None)
    if warm is not None and (warm.ident != (kernel_name, cwd, code, outputs) or not warm.alive()):
        discard()
        warm = None
    if warm is not None:
        try:
            warm.reset()
            return warm
        except Exception:  # a kernel that cannot reset is replaced, not trusted
            discard()
    _LOCAL.warm = _start(kernel_name, cwd, code, outputs)
    return _LOCAL.warm


def _start(kernel_name: str, cwd: str, code: str, outputs: str) -> WarmKernel:
    """A new kernel; started again once if it died starting (jupyter_client picks free TCP ports
    before the kernel binds them, so two workers starting at once can collide)."""
    for attempt in range(STARTS):
        try:
            return WarmKernel(kernel_name, cwd, code, outputs)
        except RuntimeError:  # "Kernel died before replying to kernel_info", set-up failures
            if attempt == STARTS - 1:
                raise
    raise AssertionError("unreachable")


def discard() -> None:
    """Shut this thread's kernel down (after a failed notebook, or when the worker ends)."""
    warm, _LOCAL.warm = getattr(_LOCAL, "warm", None), None
    if warm is not None:
        with contextlib.suppress(Exception):  # already dead: nothing left to stop
            warm.close()


def kill() -> None:
    """Kill this process's kernels at once, no shutdown handshake (a worker being stopped has no
    time for one): the warm one, and one still starting, which no handle holds yet. A kernel left
    behind would hold the run's output pipes, and its parent poller does not always see its
    parent go (it only looks for pid 1 when the parent died before the poller started)."""
    warm, _LOCAL.warm = getattr(_LOCAL, "warm", None), None
    process = getattr(getattr(getattr(warm, "km", None), "provisioner", None), "process", None)
    pids = {process.pid} if process is not None else set()
    for pid in pids | _children():
        with contextlib.suppress(OSError):  # already gone
            os.kill(pid, signal.SIGKILL)


def _children() -> set[int]:
    """Pids of this process's child processes (Linux /proc; empty elsewhere)."""
    me, found = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # the command name, in parentheses, may hold spaces: fields after its ")" are fixed
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                found.add(int(stat.parent.name))
    return found


class WarmEngine(NBClientEngine):
    """Papermill's nbclient engine, executing in the kernel passed as `warm_kernel`."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man,
        kernel_name,
        log_output=False,
        stdout_file=None,
        stderr_file=None,
        start_timeout=60,
        execution_timeout=None,
        warm_kernel: WarmKernel | None = None,
        **kwargs,
    ):
        if warm_kernel is None:
            raise ValueError("the 'warm' engine needs warm_kernel=")
        for k in ("input_path", "timeout", "startup_timeout", "extra_arguments"):
            kwargs.pop(k, None)
        client = PapermillNotebookClient(
            nb_man,
            km=warm_kernel.km,
            timeout=execution_timeout,
            startup_timeout=start_timeout,
            kernel_name=kernel_name,
            log=logger,
            log_output=log_output,
            stdout_file=stdout_file,
            stderr_file=stderr_file,
            **kwargs,
        )
        client.kc = warm_kernel.kc  # nbclient then neither starts nor stops a client
        return client.execute()


papermill_engines.register(ENGINE, WarmEngine)
