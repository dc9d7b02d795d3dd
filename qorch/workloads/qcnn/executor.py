"""Where independent training tasks run: local processes, or a Dask cluster — one code path.

Both give a :class:`concurrent.futures.Executor`: a process pool by default,
or ``distributed.Client(address).get_executor()`` when a scheduler address is
given (``--cluster`` or ``DASK_SCHEDULER_ADDRESS``; the ``qorch[dask]``
extra). The caller submits the same picklable task function either way.

Local workers never outlive the run:

- Ctrl-C (or any error) in the parent stops them at once: queued tasks are
  cancelled and running ones terminated (a task that did not finish is simply
  run again on resume). Workers ignore SIGINT themselves, so a Ctrl-C sent to
  the whole process group never turns into a "failed" task.
- If the parent dies without cleaning up (SIGKILL, the OOM killer), each worker
  notices through a watchdog thread (a pidfd of the parent on Linux, polling
  elsewhere) and exits; the forkserver then sees its last client go and exits.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager, suppress
from typing import Any

from qorch.contract.errors import NetworkError, UsageError
from qorch.engine import interrupt

PRELOAD = ["numpy", "sklearn", "qorch.workloads.qcnn.task"]
POLL_S = 0.2  # how often the parent looks at the Ctrl-C flag while tasks run
STOP_GRACE_S = 1.0  # SIGTERM, then this long before SIGKILL
CONNECT_TIMEOUT = "10s"  # how long to keep trying an unreachable Dask scheduler

Notify = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


def scheduler_address(cluster: str | None) -> str | None:
    """The Dask scheduler to use: ``cluster``, else ``$DASK_SCHEDULER_ADDRESS``, else None."""
    return cluster or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


@contextmanager
def task_executor(
    workers: int, cluster: str | None = None, notify: Notify = _quiet
) -> Iterator[Executor]:
    """An executor for ``workers`` local processes, or for the Dask cluster at ``cluster``.

    On leaving the block by an exception (Ctrl-C included), local workers are stopped
    without waiting for their tasks (``notify`` says so) and Dask futures are cancelled.
    Raises UsageError if Dask is asked for but not installed, NetworkError if the
    scheduler cannot be reached.
    """
    address = scheduler_address(cluster)
    if address is None:
        pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=_process_context(), initializer=_start_worker,
            initargs=(os.getpid(), workers),
        )  # fmt: skip
        try:
            yield pool
        except BaseException as error:
            stop_pool(pool, notify, interrupted=isinstance(error, KeyboardInterrupt))
            raise
        pool.shutdown(wait=True)
        return
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            f"a Dask scheduler ({address}) was given but Dask is not installed: "
            "pip install 'qorch[dask]'"
        ) from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as error:
        raise NetworkError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    executor = client.get_executor()
    try:
        yield executor
    except BaseException:
        notify("interrupted: cancelling the sweep's tasks on the Dask cluster")
        executor.shutdown(wait=False)
        raise
    finally:
        client.close()


def run_all(
    executor: Executor,
    function: Callable[[dict[str, Any]], dict[str, Any]],
    tasks: Iterable[dict[str, Any]],
    on_done: Callable[[dict[str, Any], dict[str, Any] | None, BaseException | None], None],
) -> None:
    """Run ``function`` on every task; call ``on_done(task, result, error)`` as each finishes.

    Checks for Ctrl-C between results (even one whose exception was swallowed) and
    raises KeyboardInterrupt after cancelling the tasks not started. A task that itself
    ended in KeyboardInterrupt counts as an interrupt, not as a failed task.
    """
    futures: dict[Future[dict[str, Any]], dict[str, Any]] = {
        executor.submit(function, task): task for task in tasks
    }
    pending = set(futures)
    try:
        while pending:
            interrupt.raise_if_interrupted()
            done, pending = wait(pending, timeout=POLL_S, return_when=FIRST_COMPLETED)
            for future in done:
                error = future.exception()
                if isinstance(error, KeyboardInterrupt):
                    raise KeyboardInterrupt
                on_done(futures[future], None if error else future.result(), error)
        interrupt.raise_if_interrupted()
    except BaseException:
        for future in pending:
            future.cancel()
        raise


def stop_pool(
    pool: ProcessPoolExecutor, notify: Notify = _quiet, *, interrupted: bool = True
) -> None:
    """Stop a process pool now: cancel queued tasks, terminate the workers, reap them.

    Says on ``notify`` what it stops, and which worker it is still waiting for.
    """
    processes = dict(getattr(pool, "_processes", None) or {})  # shutdown forgets them
    pool.shutdown(wait=False, cancel_futures=True)
    live = [process for process in processes.values() if process.is_alive()]
    if not live:
        return
    why = "interrupted: " if interrupted else ""
    notify(f"{why}stopping {len(live)} sweep worker{'s' if len(live) != 1 else ''} "
           "(finished tasks are stored; the others run again on resume)")  # fmt: skip
    for process in live:
        _signal(process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for process in live:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            notify(f"waiting for sweep worker {process.pid} to exit; killing it")
            _signal(process, signal.SIGKILL)
            process.join(STOP_GRACE_S)


def _signal(process: Any, signum: int) -> None:
    with suppress(ProcessLookupError, TypeError):
        os.kill(process.pid, signum)


def _process_context() -> multiprocessing.context.BaseContext:
    """A forkserver that has imported numpy, scikit-learn and the task code once."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _start_worker(parent: int, workers: int) -> None:
    """Worker initializer: ignore Ctrl-C (the parent stops us), die with the parent, use one
    BLAS thread (the processes are the parallelism) and a share of the memory."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exit_with(parent)
    from qorch.workloads.qcnn.resources import limit_blas_threads, share_memory

    limit_blas_threads(1)
    share_memory(workers)


def exit_with(parent: int) -> None:
    """Exit this process (at once, status 1) when process ``parent`` ends.

    Watches a pidfd of ``parent`` where the OS has them (Linux ≥ 5.3), else polls it
    twice a second. Exits at once if ``parent`` is already gone.
    """
    try:
        watched: int | None = os.pidfd_open(parent)  # type: ignore[attr-defined,unused-ignore]
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):
        watched = None
    thread = threading.Thread(target=_watch, args=(parent, watched), name="qorch-parent-watch")
    thread.daemon = True
    thread.start()


def _watch(parent: int, pidfd: int | None) -> None:
    if pidfd is not None:
        select.select([pidfd], [], [])  # readable once the parent has exited
        os._exit(1)
    start_ppid = os.getppid()
    while True:
        time.sleep(0.5)
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            os._exit(1)
        except PermissionError:
            pass
        if parent == start_ppid and os.getppid() != parent:
            os._exit(1)  # re-parented: the parent is gone (even if its pid was reused)
