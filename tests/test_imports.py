"""Every qorch module imports on its own, in a fresh interpreter (issue 10, item 2).

A circular import hides when the modules that complete a cycle happen to be
imported first (``import qorch.distributed.plan`` failed alone, and worked after
``qorch.plan``). Here a parent process that has imported nothing from qorch
forks one child per module; each child imports that one module and reports any
error. Heavy third-party packages are imported once in the parent to keep the
children fast: they do not take part in qorch's import order.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Runs in a fresh ``python``: prints a JSON list of [module, error] for each failure.
PROBE = r"""
import importlib, json, os, sys, traceback

modules = json.loads(sys.argv[1])
for heavy in ("numpy", "scipy", "pydantic", "yaml", "qiskit", "qiskit_aer", "matplotlib",
              "sklearn", "networkx", "typer", "rich", "annotated_types", "zoneinfo", "sqlite3",
              "statistics", "email.utils", "http.client", "urllib.request"):
    try:
        importlib.import_module(heavy)
    except Exception:
        pass
try:  # pydantic loads its model machinery on first use: once here, not in every child
    class _Warm(__import__("pydantic").BaseModel):
        number: int = 0
except Exception:
    pass
assert not [name for name in sys.modules if name == "qorch" or name.startswith("qorch.")]
failures = []
for module in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            message = b""
        except BaseException:
            message = traceback.format_exc().encode()
        os.write(write, message[-4000:])
        os._exit(0)
    os.close(write)
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode(errors="replace")
    if text or status != 0:
        failures.append([module, text or f"exit status {status}"])
print(json.dumps(failures))
"""


def qorch_modules() -> list[str]:
    """Every module of the ``qorch`` package, from its files (nothing is imported)."""
    found = []
    for path in sorted((REPO / "qorch").rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found.append(".".join(parts))
    return found


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    modules = qorch_modules()
    assert "qorch.workloads.distributed.plan" in modules and len(modules) > 100
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(modules)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert probe.returncode == 0, probe.stderr
    failures = json.loads(probe.stdout.strip().splitlines()[-1])
    assert failures == [], "\n\n".join(f"{module}:\n{error}" for module, error in failures)
