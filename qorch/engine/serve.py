"""A warm local worker: ``python -m qorch.engine.worker --serve JOBS_DIR LOG``.

``qorch run`` starts it before compiling a plan (:mod:`qorch.engine.warmpool`),
so the vendor SDKs load while the plan is read; the compile then sends it
the plan's translations for the providers it serves, and the runner hands it
the run's local jobs, which it executes exactly as a worker started for them
(:func:`qorch.engine.worker.run_all`): claimed, detached, resumable. A run
pays for one interpreter and one SDK import per group of providers, and
those imports overlap the compile instead of following it.

The protocol is pickled tuples, each framed by its length, on the worker's
stdin (requests) and on a copy of its stdout (replies); its own stdout and
stderr go to ``LOG`` until it takes jobs, then to the first job's
``worker.log``. Only the ``qorch`` process that started it writes to it, so
unpickling is safe. End of input before any jobs (that ``qorch`` finished, failed
or was killed) ends the worker.

Requests: ``("warm", [(provider, device, options), ...])``; ``("translate",
provider, method, circuit, device, options, seed)`` answered by ``("payload",
Payload)``, ``("error", QorchError)`` or ``("failed", text)`` (the caller then
translates in-process); ``("run", [(job_dir, attempt), ...])`` answered by
``("running",)``, after which the worker executes the jobs and exits.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from qorch.engine.workerproc import SERVE_FLAG

__all__ = ["SERVE_FLAG", "read_frame", "serve", "write_frame"]
_HEADER = struct.Struct("!Q")

Jobs = list[tuple[Path, int]]


@dataclass(frozen=True)
class Worker:
    """What serving needs of :mod:`qorch.engine.worker` (passed in: it imports this)."""

    run_all: Callable[[Jobs], int]
    log_to: Callable[[Path], None]
    note: Callable[[str], None]


def write_frame(stream: IO[bytes], message: tuple[Any, ...]) -> None:
    """Send one message (raises OSError if the other end is gone, PicklingError)."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def read_frame(stream: IO[bytes]) -> tuple[Any, ...] | None:
    """The next message, or None at the end of input (or a truncated message)."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    data = _read_exactly(stream, _HEADER.unpack(header)[0])
    if data is None:
        return None
    message = pickle.loads(data)  # written only by the qorch that started this worker
    return message if isinstance(message, tuple) and message else None


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def serve(log: Path, worker: Worker) -> int:
    """Answer the ``qorch`` that started this worker until it hands over jobs or goes."""
    inbox = os.fdopen(0, "rb", buffering=0)
    outbox = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's print goes to the log, never into the replies
    try:
        while (message := read_frame(inbox)) is not None:
            kind = message[0]
            if kind == "warm":
                _warm(message[1], worker.note)
            elif kind == "translate":
                _reply(outbox, _translate(*message[1:]))
            elif kind == "run":
                jobs = [(Path(directory), int(attempt)) for directory, attempt in message[1]]
                _move_log(log, jobs[0][0], worker.log_to)
                with contextlib.suppress(OSError):  # its spawn records name this worker:
                    _reply(outbox, ("running",))  # the jobs are ours even if qorch is gone
                for pipe in (inbox, outbox):
                    with contextlib.suppress(OSError):
                        pipe.close()
                return worker.run_all(jobs)
    except OSError:  # a broken pipe: the qorch that started this worker is gone
        pass
    with contextlib.suppress(OSError):
        log.unlink()
    return 0


def _warm(targets: list[tuple[str, str, Any]], note: Callable[[str], None]) -> None:
    from qorch.engine import registry

    for provider, device, options in targets:
        try:
            registry.load(provider).warm_up(device, options)
        except Exception as error:  # translate meets it again and reports it properly
            note(f"warming {provider}:{device} failed: {type(error).__name__}: {error}")


def _translate(provider: str, method: str, *args: Any) -> tuple[Any, ...]:
    from qorch.contract.errors import QorchError
    from qorch.engine import registry

    try:
        return ("payload", getattr(registry.load(provider), method)(*args))
    except QorchError as error:
        return ("error", error)
    except Exception as error:  # the caller translates in-process and meets it there
        return ("failed", f"{type(error).__name__}: {error}")


def _reply(outbox: IO[bytes], message: tuple[Any, ...]) -> None:
    try:
        write_frame(outbox, message)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        write_frame(outbox, ("failed", f"reply not sendable: {error}"))


def _move_log(log: Path, directory: Path, log_to: Callable[[Path], None]) -> None:
    """Append what was logged before the jobs came to the first job's ``worker.log`` and
    point stdout and stderr there (as a worker started for the jobs logs)."""
    with contextlib.suppress(OSError):
        earlier = log.read_bytes()
        if earlier:
            with open(directory / "worker.log", "ab") as handle:
                handle.write(earlier)
        log.unlink()
    log_to(directory)
