"""What the QCNN numerics take from the machine: BLAS threads and memory.

BLAS threads. The engine's matrix products are tall and thin (``(rows, 8) @ (8, 8)``):
a threaded BLAS spends more time waking and synchronising its threads than computing
(a 12-qubit training step 3-5x slower with two OpenBLAS threads than with one, 16 qubits
5-10x). Training, prediction and evaluation therefore run under :func:`one_blas_thread`,
which limits every loaded BLAS to one thread for the duration (threadpoolctl) and restores
the previous limits afterwards. Nested and concurrent uses share one limit.

Memory. A state of ``n`` qubits is ``16 * 2**n`` bytes. An engine pass over ``rows``
samples holds several arrays of ``rows`` states at once (:data:`PREDICT_STATES` for a
forward pass and read-out, :data:`TRAIN_STATES` for a forward and adjoint pass), so
passes are run over chunks of samples sized by :func:`chunk_rows`: at most
:data:`CHUNK_BYTES`, and at most half the memory the machine still has available
(``MemAvailable`` in ``/proc/meminfo``, bounded by a cgroup limit), shared among
the processes of a sweep. :func:`memory_shortfall` says when even one sample does not fit.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from qorch.contract.errors import QorchError

__all__ = [
    "CHUNK_BYTES",
    "PREDICT_STATES",
    "TRAIN_STATES",
    "OutOfMemoryError",
    "available_memory",
    "blas_single_threaded",
    "chunk_rows",
    "format_bytes",
    "limit_blas_threads",
    "memory_shortfall",
    "one_blas_thread",
    "share_memory",
    "state_bytes",
]

F = TypeVar("F", bound=Callable[..., Any])

CHUNK_BYTES = 256 << 20  # the most one engine pass over a chunk of samples should hold
PREDICT_STATES = 5  # arrays of a chunk's states alive at once: encode, forward, read-out (4.1)
TRAIN_STATES = 9  # ... in a forward and adjoint pass without a tape (measured peak: 7.5)
PROCESS_OVERHEAD = 256 << 20  # Python, numpy, scikit-learn, Qiskit, the data: not states


class OutOfMemoryError(QorchError):
    """The machine ran out of memory for the QCNN's states."""


# --- BLAS threads ------------------------------------------------------------------------

_lock = threading.Lock()
_depth = 0
_active: Any = None
_controller: tuple[int, Any] | None = None


def _threadpools() -> Any:
    """This process's ThreadpoolController (found once: scanning the libraries takes ms)."""
    global _controller
    if _controller is None or _controller[0] != os.getpid():
        from threadpoolctl import ThreadpoolController

        _controller = (os.getpid(), ThreadpoolController())
    return _controller[1]


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Limit every loaded BLAS to one thread inside the block (re-entrant, thread-safe)."""
    global _depth, _active
    with _lock:
        if _depth == 0:
            _active = _threadpools().limit(limits=1, user_api="blas")
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _active.restore_original_limits()
                _active = None


def blas_single_threaded(function: F) -> F:
    """Decorator: run ``function`` under :func:`one_blas_thread`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with one_blas_thread():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def limit_blas_threads(threads: int) -> None:
    """Limit BLAS and OpenMP pools to ``threads`` for the rest of this process (workers)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)


# --- memory ------------------------------------------------------------------------------

_share = 1


def share_memory(processes: int) -> None:
    """This process is one of ``processes`` computing at once (a sweep worker): it sizes its
    chunks from that share of the available memory."""
    global _share
    _share = max(1, processes)


def state_bytes(num_qubits: int) -> int:
    """Bytes of one ``num_qubits``-qubit state (complex128 amplitudes)."""
    return 16 << num_qubits


def available_memory() -> int | None:
    """Bytes the machine can still give this process without swapping: ``MemAvailable``
    bounded by the cgroup's limit minus its usage (None where neither is known)."""
    found = [v for v in (_meminfo_available(), _cgroup_headroom()) if v is not None]
    return min(found) if found else None


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_headroom() -> int | None:
    for directory, limit_name, usage_name in (
        ("/sys/fs/cgroup", "memory.max", "memory.current"),  # cgroup v2
        ("/sys/fs/cgroup/memory", "memory.limit_in_bytes", "memory.usage_in_bytes"),  # v1
    ):
        try:
            limit = (Path(directory) / limit_name).read_text().strip()
            usage = int((Path(directory) / usage_name).read_text().strip())
        except (OSError, ValueError):
            continue
        if limit.isdigit() and int(limit) < 1 << 60:
            return max(0, int(limit) - usage)
    return None


_available_cache: tuple[float, int | None] = (-1e9, None)
AVAILABLE_TTL_S = 1.0  # reading /proc/meminfo can take 0.3 ms: once a second per process


def pass_budget() -> int:
    """Bytes one engine pass may hold: :data:`CHUNK_BYTES`, or less when memory is short
    (the available memory is looked up at most once a second)."""
    global _available_cache
    now = time.monotonic()
    if now - _available_cache[0] > AVAILABLE_TTL_S:
        _available_cache = (now, available_memory())
    available = _available_cache[1]
    if available is None:
        return CHUNK_BYTES
    return max(1, min(CHUNK_BYTES, available // (2 * _share)))


def chunk_rows(num_qubits: int, states_per_row: int, budget: int | None = None) -> int:
    """Samples per engine pass so that ``states_per_row`` states of each fit the budget
    (:func:`pass_budget` by default); at least one."""
    budget = pass_budget() if budget is None else budget
    return max(1, budget // (states_per_row * state_bytes(num_qubits)))


def memory_shortfall(num_qubits: int) -> str | None:
    """Why training on ``num_qubits`` qubits cannot fit in the available memory even one
    sample at a time; None if it fits or the available memory is unknown."""
    available = available_memory()
    if available is None:
        return None
    one = state_bytes(num_qubits)
    need = TRAIN_STATES * one + PROCESS_OVERHEAD
    if need <= available:
        return None
    return (
        f"a {num_qubits}-qubit state takes {format_bytes(one)} and training holds "
        f"{TRAIN_STATES} of them per sample (with the process itself about "
        f"{format_bytes(need)}), more than the {format_bytes(available)} of memory available "
        "here (MemAvailable, cgroup limit); use fewer qubits"
    )


def format_bytes(size: float) -> str:
    """``size`` in B, KiB, MiB, GiB or TiB, three significant figures."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(size) < 1024:
            return f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:.3g} TiB"
