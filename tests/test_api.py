"""The library API: ``import qorch`` is cheap, and its functions do what the commands do."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import qorch
from qorch.contract.errors import PlanError
from qorch.store.state import StateStore

REPO = Path(__file__).resolve().parent.parent
PLAN = """
version: 1
kind: circuits
shots: 64
circuits: [{name: bell, generator: ghz, qubits: 2}]
targets: [local:statevector]
"""


def test_import_qorch_loads_the_api_on_first_use() -> None:
    probe = (
        "import sys, qorch\n"
        "assert 'qorch.api' not in sys.modules and 'pydantic' not in sys.modules\n"
        "assert {'run', 'validate', 'RunOptions'} <= set(dir(qorch))\n"
        "qorch.run\n"
        "assert 'qorch.api' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_listing_runs_loads_no_plan_model_and_validate_no_result_code(tmp_path: Path) -> None:
    """``qorch status`` answers from the store: no pydantic, no plan registry. ``validate``
    loads plan models but none of the result or manifest code (both cost startup time)."""
    plan = tmp_path / "plan.yaml"
    plan.write_text(PLAN)
    StateStore(tmp_path / "state", create=True).close()  # an empty store
    probe = (
        "import sys, qorch\n"
        f"assert qorch.runs({str(tmp_path / 'state')!r}) == []\n"
        "light = ('pydantic', 'qorch.engine.kinds', 'yaml')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(light))\n"
        "assert not loaded, loaded\n"
        f"[report] = qorch.validate([{str(plan)!r}])\n"
        "assert report.valid, report.errors\n"
        "heavy = ('qorch.engine.manifest', 'qorch.workloads.circuits.obsresults', 'qiskit')\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(heavy))\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr


def test_every_name_in_all_is_there() -> None:
    for name in qorch.__all__:
        assert getattr(qorch, name) is not None, name
    with pytest.raises(AttributeError):
        _ = qorch.no_such_thing  # type: ignore[attr-defined]


def test_validate_compile_run_results_status_cancel(cli, make_plan, tmp_path: Path) -> None:
    plan = make_plan(PLAN)
    cli("status")  # the test's state and working directories, for the library too
    [report] = qorch.validate([plan])
    assert report.valid and report.summary == "1 job" and report.fields == {"jobs": 1}
    [bad] = qorch.validate([tmp_path / "missing.yaml"])
    assert not bad.valid and "plan file not found" in bad.errors[0]

    compiled = qorch.compile(plan, tmp_path / "bundle")
    assert compiled.written and compiled.bundle.manifest.totals.jobs == 1
    assert compiled.view().messages[-1] == f"bundle written to {tmp_path / 'bundle'}"

    submitted = qorch.submit(plan, qorch.RunOptions(idempotency_key="k"))
    assert submitted.results_file is None
    done = qorch.run(plan, qorch.RunOptions(idempotency_key="k", poll_s=0.1))
    assert done.run_id == submitted.run_id and done.exit_code == 0 and done.finished
    assert done.results_file is not None and done.results_file.exists()
    assert [m.name for m in done.result.metrics] == ["shots"]

    assert qorch.results("latest").data["jobs"] == done.data["jobs"]
    assert qorch.status(done.run_id).data["status"] == "completed"
    assert [row["run_id"] for row in qorch.runs()] == [done.run_id]
    assert qorch.cancel(done.run_id).problems == []
    assert qorch.load(plan).plan.kind == "circuits"


def test_template_and_schema() -> None:
    assert set(qorch.plan_kinds()) >= {"circuits", "qcnn", "distributed"}
    assert "kind: qcnn" in qorch.template("qcnn")
    with pytest.raises(PlanError, match="unknown plan kind 'nope'"):
        qorch.template("nope")
    assert qorch.schema()["title"] == "qorch plan, version 1"
