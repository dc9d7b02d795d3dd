"""Where independent training tasks run: local processes, or a Dask cluster — one code path.

Both give a :class:`concurrent.futures.Executor`: a process pool by default,
or ``distributed.Client(address).get_executor()`` when a scheduler address is
given (``--cluster`` or ``DASK_SCHEDULER_ADDRESS``; the ``qorch[dask]``
extra). The caller submits the same picklable task function either way.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any

from qorch.errors import NetworkError, UsageError

PRELOAD = ["numpy", "sklearn", "qorch.qcnn.task"]


def scheduler_address(cluster: str | None) -> str | None:
    """The Dask scheduler to use: ``cluster``, else ``$DASK_SCHEDULER_ADDRESS``, else None."""
    return cluster or os.environ.get("DASK_SCHEDULER_ADDRESS") or None


@contextmanager
def task_executor(workers: int, cluster: str | None = None) -> Iterator[Executor]:
    """An executor for ``workers`` local processes, or for the Dask cluster at ``cluster``.

    Raises UsageError if Dask is asked for but not installed, NetworkError if
    the scheduler cannot be reached.
    """
    address = scheduler_address(cluster)
    if address is None:
        context = _process_context()
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_limit_threads
        ) as pool:
            yield pool
        return
    try:
        from distributed import Client
    except ImportError:
        raise UsageError(
            f"a Dask scheduler ({address}) was given but Dask is not installed: "
            "pip install 'qorch[dask]'"
        ) from None
    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise NetworkError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    try:
        yield client.get_executor()
    finally:
        client.close()


def run_all(
    executor: Executor,
    function: Callable[[dict[str, Any]], dict[str, Any]],
    tasks: Iterable[dict[str, Any]],
    on_done: Callable[[dict[str, Any], dict[str, Any] | None, BaseException | None], None],
) -> None:
    """Run ``function`` on every task; call ``on_done(task, result, error)`` as each finishes."""
    futures: dict[Future[dict[str, Any]], dict[str, Any]] = {
        executor.submit(function, task): task for task in tasks
    }
    for future in as_completed(futures):
        task = futures[future]
        error = future.exception()
        on_done(task, None if error else future.result(), error)


def _process_context() -> multiprocessing.context.BaseContext:
    """A forkserver that has imported numpy, scikit-learn and the task code once."""
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        return context
    return multiprocessing.get_context("spawn")


def _limit_threads() -> None:
    """One BLAS thread per worker process: the processes are the parallelism."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - scikit-learn brings threadpoolctl
        return
    threadpool_limits(1)
