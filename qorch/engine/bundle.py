"""Bundle directories on disk: ``manifest.json`` plus ``payloads/``, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from qorch.contract.errors import QorchError, StateError
from qorch.engine.compile import CompiledBundle
from qorch.engine.manifest import PlanInfo, parse_manifest
from qorch.store.fsutil import current_umask, describe_os_error

MANIFEST = "manifest.json"
# Artefacts beside the payloads are listed in the manifest's ``files``; qorch 0.1 wrote a
# distributed plan's diagram without listing it.
UNLISTED_FILES = frozenset({"partition.png"})
BUNDLE_DIRS = frozenset({"payloads"})


def write_bundle(bundle: CompiledBundle, directory: Path) -> bool:
    """Write ``bundle`` to ``directory`` atomically; False if an identical one is there.

    The new bundle is assembled in a temporary sibling directory and renamed
    into place, so a reader never sees a half-written bundle.
    """
    if _same_bundle(bundle, directory):
        return False
    check_replaceable(directory)
    try:
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    except (FileExistsError, NotADirectoryError):  # a file where a directory must be
        blocking = next(p for p in [directory.parent, *directory.parent.parents] if p.exists())
        raise StateError(f"cannot write the bundle {directory}: {blocking} is a file, not a "
                         "directory; choose another place (-o DIR)") from None  # fmt: skip
    except OSError as error:  # /proc, a missing mount, no permission …
        raise StateError(describe_os_error(directory, error, "write the bundle")) from None
    staging.chmod(0o777 & ~current_umask())  # mkdtemp makes 0700; a bundle follows the umask
    try:
        for name, data in bundle.payloads.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (staging / MANIFEST).write_bytes(bundle.manifest.to_bytes())
        _swap_into_place(staging, directory)
    except OSError as error:
        shutil.rmtree(staging, ignore_errors=True)
        raise StateError(describe_os_error(directory, error, "write the bundle")) from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True


def check_replaceable(directory: Path) -> None:
    """Raise QorchError unless ``directory`` is absent, empty, or provably a qorch bundle.

    A bundle is proved by its manifest: every file under the directory must be
    the manifest, a payload it lists, or a known bundle artefact. Anything
    else (a user's files, a regular file, a symlink) is never replaced.
    """
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise QorchError(
            f"{directory} exists and is not a directory; choose a new or empty directory "
            "for the bundle"
        )
    if not directory.exists():
        return
    files = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*"))
    if not files:
        return
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        payloads = [str(job["payload"]) for job in manifest["jobs"]]
        listed = {MANIFEST, *UNLISTED_FILES, *payloads, *map(str, manifest.get("files", []))}
        is_bundle = str(manifest["format"]).startswith("qorch-bundle/")
    except (OSError, ValueError, KeyError, TypeError):
        is_bundle, listed = False, set()
    foreign = [name for name in files if name not in listed and name not in BUNDLE_DIRS]
    if not is_bundle or foreign:
        shown = ", ".join(foreign[:3]) + (", …" if len(foreign) > 3 else "")
        raise QorchError(
            f"{directory} is not an empty directory or a qorch bundle (it holds {shown}); "
            "qorch will not replace it — choose a new or empty directory"
        )


def read_bundle(
    directory: Path, plan: PlanInfo | None = None, *, pruned: bool = False
) -> CompiledBundle:
    """Load a bundle and verify every payload against its recorded hash. Raises StateError.

    ``plan``: the run's plan, for a bundle of jobs added to a run after compile by
    an older qorch (written without its plan; see :func:`~qorch.engine.manifest.parse_manifest`).
    ``pruned``: ``qorch gc`` removed the payloads: a missing one is left out, not an error.
    """
    manifest_path = directory / MANIFEST
    try:
        data = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{directory}: not a qorch bundle (no {MANIFEST})") from None
    except (OSError, ValueError) as error:
        raise StateError(f"{manifest_path}: unreadable manifest: {error}") from None
    manifest = parse_manifest(data, str(manifest_path), plan)
    payloads: dict[str, bytes] = {}
    for job in manifest.jobs:
        path = directory / job.payload
        try:
            payload = path.read_bytes()
        except FileNotFoundError:
            if pruned:
                continue
            raise StateError(f"{path}: missing payload") from None
        except OSError as error:
            raise StateError(f"{path}: missing payload: {error}") from None
        if hashlib.sha256(payload).hexdigest() != job.payload_sha256:
            raise StateError(f"{path}: payload does not match the manifest's hash")
        payloads[job.payload] = payload
    return CompiledBundle(manifest=manifest, payloads=payloads)


def _same_bundle(bundle: CompiledBundle, directory: Path) -> bool:
    try:
        if (directory / MANIFEST).read_bytes() != bundle.manifest.to_bytes():
            return False
        return all(
            (directory / name).read_bytes() == data for name, data in bundle.payloads.items()
        )
    except OSError:
        return False


def _swap_into_place(staging: Path, directory: Path) -> None:
    if not directory.exists():
        os.replace(staging, directory)
        return
    retired = Path(tempfile.mkdtemp(prefix=f".{directory.name}.old.", dir=directory.parent))
    os.replace(directory, retired / "bundle")
    os.replace(staging, directory)
    shutil.rmtree(retired, ignore_errors=True)
