"""Bundle directories on disk: ``manifest.json`` plus ``payloads/``, written atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from qorch.compile import BUNDLE_FORMAT, CompiledBundle, manifest_bytes
from qorch.errors import StateError

MANIFEST = "manifest.json"


def write_bundle(bundle: CompiledBundle, directory: Path) -> bool:
    """Write ``bundle`` to ``directory`` atomically; False if an identical one is there.

    The new bundle is assembled in a temporary sibling directory and renamed
    into place, so a reader never sees a half-written bundle.
    """
    if _same_bundle(bundle, directory):
        return False
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for name, data in bundle.payloads.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        (staging / MANIFEST).write_bytes(manifest_bytes(bundle.manifest))
        _swap_into_place(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return True


def read_bundle(directory: Path) -> CompiledBundle:
    """Load a bundle and verify every payload against its recorded hash. Raises StateError."""
    manifest_path = directory / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"{directory}: not a qorch bundle (no {MANIFEST})") from None
    except (OSError, ValueError) as error:
        raise StateError(f"{manifest_path}: unreadable manifest: {error}") from None
    if manifest.get("format") != BUNDLE_FORMAT:
        raise StateError(f"{manifest_path}: unsupported bundle format {manifest.get('format')!r}")
    payloads: dict[str, bytes] = {}
    for job in manifest["jobs"]:
        path = directory / job["payload"]
        try:
            data = path.read_bytes()
        except OSError as error:
            raise StateError(f"{path}: missing payload: {error}") from None
        if hashlib.sha256(data).hexdigest() != job["payload_sha256"]:
            raise StateError(f"{path}: payload does not match the manifest's hash")
        payloads[job["payload"]] = data
    return CompiledBundle(manifest=manifest, payloads=payloads)


def _same_bundle(bundle: CompiledBundle, directory: Path) -> bool:
    try:
        if (directory / MANIFEST).read_bytes() != manifest_bytes(bundle.manifest):
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
