"""Where a job executes: the one place that routes a job to a local worker or its provider.

A device its provider calls local (:meth:`Provider.device_is_local`) runs in
qorch's detached local workers (:mod:`qorch.engine.localjob`), which call the
provider's synchronous :meth:`Provider.execute`; every other device goes to
the provider's own ``submit``, ``recover``, ``status``, ``result`` and
``cancel``. Providers never see a local job's handle, whatever their name.

A local job's handle has one form for every provider::

    {"job_id": TOKEN, "local": true, "dir": "jobs/TOKEN", "provider": NAME,
     "device": DEVICE, "parameter_sets": N}

``dir`` is absolute while in use and stored relative to the state directory
(:func:`portable_handle`, :func:`resolve_handle`), so a moved project keeps
its jobs. Handles written by older qorch versions are read as well: the
``local`` provider's ``{"job_id", "dir"}``, the ``ibm`` provider's fake-backend
handles (``"kind": "local"``, ``"backend"``) and the ``braket`` provider's
LocalSimulator handles (``"kind": "local"``), with relative or absolute
``dir``; cloud handles (IBM's ``"kind": "runtime"``, Braket's ``"kind": "aws"``)
never name a job directory.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from qorch.contract.errors import CancelUnsupportedError, ProviderError
from qorch.contract.provider import Handle, JobRequest, JobStatus, Provider, Result
from qorch.engine import localjob

log = logging.getLogger(__name__)
JOBS_DIR = localjob.JOBS_DIR
RESTART_PENDING = localjob.RESTART_PENDING


def runs_locally(provider: Provider, request: JobRequest) -> bool:
    """True if the request's device executes on this machine, in a local worker."""
    return provider.device_is_local(request.device)


def is_local(handle: Handle) -> bool:
    """True for the handle of a job run by a local worker (this version's or an older one's)."""
    if "local" in handle:
        return handle["local"] is True
    return "dir" in handle and handle.get("kind", "local") == "local"


def batched_workers() -> contextlib.AbstractContextManager[None]:
    """Local jobs submitted or restarted inside start at its end, one worker per provider
    running them in turn (one interpreter and SDK import per provider, not per job)."""
    return localjob.batched_workers()


def submit(provider: Provider, request: JobRequest) -> Handle:
    """Submit one job: a local worker for a local device, else the provider's ``submit``.

    A local job is checked first (:meth:`Provider.check_request`): a job that
    cannot run is refused before anything is created. Submitting a token whose
    local job exists re-attaches to it.
    """
    if not runs_locally(provider, request):
        log.info("submitting %s to %s:%s", request.token, provider.name, request.device)
        handle = provider.submit(request)
        log.info("%s accepted by %s as %s", request.token, provider.name, handle.get("job_id"))
        return handle
    provider.check_request(request)
    log.info("starting a local worker for %s on %s:%s", request.token, provider.name,
             request.device)  # fmt: skip
    return localjob.submit(request, provider.name)


def recover(provider: Provider, request: JobRequest) -> Handle | None:
    """The job a crashed earlier submit of ``request`` may have created; None if none was.

    A local job is found by its directory (and its worker started if none
    ever was); a cloud job by the provider's ``recover``.
    """
    log.info("looking for a job %s may have created at %s", request.token, provider.name)
    if not runs_locally(provider, request):
        return provider.recover(request)
    return localjob.recover(request, provider.name)


def status(provider: Provider, handle: Handle) -> JobStatus:
    """The job's state, from its worker or its provider."""
    got = localjob.status(handle) if is_local(handle) else provider.status(handle)
    log.debug("job %s: %s %s", handle.get("job_id"), got.state.value, got.message or "")
    return got


def result(provider: Provider, handle: Handle) -> Result:
    """Counts of a finished job (a list: one per parameter set), in Qiskit's bit order.

    Raises ProviderError if a local job's result does not match the number of
    parameter sets its handle recorded.
    """
    if not is_local(handle):
        return provider.result(handle)
    return _checked(localjob.result(handle), handle)


def timings(handle: Handle) -> dict[str, object] | None:
    """When a finished local job's execution started and ended, and ``ran_s``; None for a
    cloud job (providers report no timings) or a local job that recorded none."""
    return localjob.timings(handle) if is_local(handle) else None


def cancel(provider: Provider, handle: Handle) -> None:
    """Cancel the job. Raises CancelUnsupportedError if it cannot be (finished, or the
    provider cannot cancel)."""
    log.info("cancelling job %s", handle.get("job_id"))
    if not is_local(handle):
        provider.cancel(handle)
        return
    if not localjob.cancel(handle):
        raise CancelUnsupportedError(
            f"job {handle['job_id']} has already finished; there is nothing to cancel"
        )


def request_cancel(provider: Provider, request: JobRequest) -> None:
    """Before re-attaching to a job in order to cancel it: mark a local job cancelled, so
    a worker started by the recovery never runs it. Nothing for cloud devices."""
    if runs_locally(provider, request):
        localjob.request_cancel(request)


def restart(handle: Handle) -> str | None:
    """Start a fresh worker for a local job whose worker died (bounded); what was done, or
    None (nothing to do, or not a local job)."""
    if not is_local(handle):
        return None
    return localjob.restart(handle)


# handles in the state store ------------------------------------------------------


def portable_handle(handle: Handle, state_dir: Path) -> Handle:
    """The handle to store: a local job's directory relative to ``state_dir`` (a moved
    project keeps working). Cloud handles are returned unchanged."""
    if not is_local(handle):
        return handle
    out = {key: value for key, value in handle.items() if key != "spawn_pid"}
    with contextlib.suppress(ValueError, OSError):
        out["dir"] = Path(handle["dir"]).resolve().relative_to(state_dir.resolve()).as_posix()
    return out


def resolve_handle(handle: Handle, state_dir: Path) -> Handle:
    """A stored handle ready to use: a local job's directory located under ``state_dir``.

    Reads both forms: relative (this version) and absolute (older versions;
    if that path is gone, the job of the same token under ``state_dir``).
    """
    if not is_local(handle):
        return handle
    path = Path(handle["dir"])
    if not path.is_absolute():
        path = state_dir / path
    elif not path.exists() and (state_dir / JOBS_DIR / path.name).exists():
        path = state_dir / JOBS_DIR / path.name
    return {**handle, "dir": str(path)}


def _checked(result: Result, handle: Handle) -> Result:
    """``result``, if its form matches the parameter sets the handle recorded."""
    sets = handle.get("parameter_sets")
    if sets is None:  # a handle from before parameter sets: trust the job
        return result
    if (isinstance(result, list) and len(result) == sets) or (
        not sets and isinstance(result, dict)
    ):
        return result
    found = f"{len(result)} result(s)" if isinstance(result, list) else "one result"
    raise ProviderError(
        f"job {handle['job_id']} returned {found}; it ran {int(sets)} parameter set(s)"
    )
