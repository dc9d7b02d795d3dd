"""Warm local workers: started before ``qorch run`` compiles, so SDK imports overlap it.

A cold ``qorch run`` of a plan on local simulators used to import every vendor
SDK twice, one after the other: in ``qorch`` to compile, then in each local
worker to execute. Inside :func:`scope`, :func:`start` launches one worker
(:mod:`qorch.engine.serve`) per group of local providers before the compile
begins; each imports its SDKs at once (``Provider.warm_up``), translates the
plan's circuits for its providers when the compile asks (``registry.load``
returns a provider whose ``translate`` delegates to it), and then takes the
run's local jobs (:func:`take`, called by :mod:`qorch.engine.localjob`).
Providers linked by a noise model (``local:aer`` with ``noise: ibm:…``) share a
worker, since both need the same SDK. Anything a warm worker cannot do (it
died, a reply could not be sent) is done as before: translated in-process, or
executed by a worker started for the jobs. Workers given no jobs are stopped
when the scope ends.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from qorch.contract import settings
from qorch.contract.errors import QorchError
from qorch.engine import registry, serve, workerproc
from qorch.engine.targets import target_options

if TYPE_CHECKING:
    from qorch.contract.provider import Payload, Provider
    from qorch.engine.plan_base import TargetSpec

Jobs = list[tuple[Path, int]]


@dataclass
class WarmWorker:
    """One started worker, the providers it serves, and its pipes."""

    process: subprocess.Popen[bytes]
    providers: frozenset[str]
    log: Path
    answering: bool = True  # False once it failed to answer: nothing more is asked of it
    handed_jobs: bool = False  # True once jobs were sent: it may run them, never killed
    _inbox: IO[bytes] = field(init=False)
    _outbox: IO[bytes] = field(init=False)

    def __post_init__(self) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self._inbox, self._outbox = self.process.stdin, self.process.stdout

    def ask(self, message: tuple[Any, ...]) -> tuple[Any, ...] | None:
        """Send a request and wait for its reply; None (and never asked again) if the
        worker is gone or the request cannot be sent."""
        if not self.answering:
            return None
        try:
            serve.write_frame(self._inbox, message)
            reply = serve.read_frame(self._outbox)
        except (OSError, EOFError, pickle.PickleError, ValueError, TypeError, AttributeError,
                ImportError):  # fmt: skip
            reply = None  # gone, or an object pickle cannot carry: done here instead
        if reply is None:
            self.answering = False
        return reply

    def tell(self, message: tuple[Any, ...]) -> None:
        """Send a message that needs no reply (best effort)."""
        if self.answering:
            try:
                serve.write_frame(self._inbox, message)
            except (OSError, ValueError):
                self.answering = False

    def translate(self, provider: str, method: str, *args: Any) -> Payload | None:
        """The payload the worker translated; None: translate in-process instead.
        Raises the QorchError the translation raised there."""
        reply = self.ask(("translate", provider, method, *args))
        if reply is None or reply[0] == "failed":
            return None
        if reply[0] == "error" and isinstance(reply[1], QorchError):
            raise reply[1]
        return reply[1] if reply[0] == "payload" else None

    def run(self, jobs: Jobs) -> bool:
        """Hand the worker ``jobs`` to execute in turn; True once it said it took them."""
        self.handed_jobs = True
        reply = self.ask(("run", [(str(directory), attempt) for directory, attempt in jobs]))
        self.answering = False
        self._close_pipes()
        return reply == ("running",)

    def stop(self) -> None:
        """End a worker that was handed no jobs (it holds none: killing it loses nothing)."""
        self._close_pipes()
        if self.handed_jobs:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        with contextlib.suppress(OSError):
            self.log.unlink()

    def _close_pipes(self) -> None:
        for pipe in (self._inbox, self._outbox):
            with contextlib.suppress(OSError):
                pipe.close()


_workers: list[WarmWorker] | None = None  # None: outside a scope, no warm workers


@contextlib.contextmanager
def scope() -> Iterator[None]:
    """Warm workers may be started inside (``qorch run``); the ones that took no jobs
    are stopped at the end, and the providers' own translation is restored."""
    global _workers
    if _workers is not None:
        yield
        return
    _workers = []
    try:
        yield
    finally:
        workers, _workers = _workers, None
        registry.clear_overrides()
        for worker in workers:
            worker.stop()


def start(targets: Sequence[TargetSpec], jobs_dir: Path) -> None:
    """Start warm workers for the local ones of ``targets`` (inside :func:`scope` only;
    not with ``QORCH_LOCAL_JOBS=inline``) and route their providers' translations there."""
    if _workers is None or _workers or settings.local_jobs_inline():
        return
    local = [spec for spec in targets if _is_local(spec.provider, spec.device)]
    for group in provider_groups(local):
        wanted = [(s.provider, s.device, target_options(s)) for s in local if s.provider in group]
        worker = _launch(group, jobs_dir)
        if worker is None:
            continue
        worker.tell(("warm", wanted))
        _workers.append(worker)
        for name in group:
            registry.override(name, _delegating(registry.load(name), worker))


def provider_groups(local: Sequence[TargetSpec]) -> list[frozenset[str]]:
    """The local providers, grouped: a target whose noise model comes from another local
    provider joins that provider's group (its translation needs that SDK too)."""
    groups: list[set[str]] = []
    for spec in local:
        linked = {spec.provider}
        if spec.noise is not None:
            noise_provider = spec.noise.partition(":")[0]
            if any(noise_provider == other.provider for other in local):
                linked.add(noise_provider)
        joined = [group for group in groups if group & linked]
        merged = linked.union(*joined)
        groups = [group for group in groups if not group & linked] + [merged]
    return sorted((frozenset(group) for group in groups), key=sorted)


def take(batch: dict[str, Jobs]) -> list[tuple[WarmWorker, Jobs]]:
    """The warm workers that can take jobs of ``batch`` (provider → jobs), each with its
    jobs in batch order; the providers they serve are removed from ``batch``."""
    if not _workers:
        return []
    taken = []
    for worker in _workers:
        if not worker.answering:
            continue
        mine = [name for name in batch if name in worker.providers]
        jobs = [job for name in mine for job in batch.pop(name)]
        if jobs:
            taken.append((worker, jobs))
    return taken


def _is_local(provider: str, device: str) -> bool:
    try:
        return registry.load(provider).device_is_local(device)
    except QorchError:
        return False  # the compile reports it


def _launch(providers: frozenset[str], jobs_dir: Path) -> WarmWorker | None:
    try:  # its log until it takes jobs (then their worker.log): the state directory
        fd, name = tempfile.mkstemp(prefix="qorch-warm-", suffix=".log")  # may not exist yet
    except OSError:
        return None
    command = [sys.executable, "-m", workerproc.WORKER_MODULE, serve.SERVE_FLAG,
               str(jobs_dir.resolve()), name]  # fmt: skip
    try:
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=fd, start_new_session=True, close_fds=True)  # fmt: skip
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(name)
        return None
    finally:
        os.close(fd)
    return WarmWorker(process, providers, Path(name))


def _delegating(provider: Provider, worker: WarmWorker) -> Provider:
    """``provider`` with its translations done by ``worker`` (in-process if it cannot)."""
    base = type(provider)

    def translate(self: Provider, *args: Any) -> Payload:
        found = worker.translate(self.name, "translate", *args)
        return found if found is not None else base.translate(self, *args)

    def translate_for_estimation(self: Provider, *args: Any) -> Payload:
        found = worker.translate(self.name, "translate_for_estimation", *args)
        return found if found is not None else base.translate_for_estimation(self, *args)

    methods = {"translate": translate, "translate_for_estimation": translate_for_estimation}
    cls = type(f"Warm{base.__name__}", (base,), methods)
    delegating: Provider = object.__new__(cls)
    delegating.__dict__.update(provider.__dict__)  # the same state, caches included
    return delegating
