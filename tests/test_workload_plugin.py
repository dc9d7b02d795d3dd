"""A plan kind registered only in this test (``kind: echo``) runs like the built-in kinds.

The kind is one class registered in the ``qorch.workloads`` entry-point group (here by
patching the registry's view of the entry points, as installing a distribution would);
nothing in qorch's core knows it. It goes through ``init``, ``validate``, ``schema``,
``compile``, ``run`` and ``results`` (JSON and tables), and through the library API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from pydantic import Field

from qorch.engine import kinds, registry
from qorch.engine.compile import CompiledBundle, check_budget, derive_seed
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.manifest import PlanInfo, build_manifest, job_record, payload_name
from qorch.engine.plan_base import PlanModel, Shots, Targets, TargetSpec
from qorch.engine.runner import RunContext
from qorch.engine.targets import check_targets, target_options
from qorch.engine.views import Table, View
from qorch.engine.workload import FieldKey, Metric, PlanCheck, Workload, WorkloadResult

TEMPLATE = """\
# An echo plan: prepares |1...1> on every target and reads it back.
version: 1
kind: echo
qubits: 3
shots: 50
targets: [local:statevector]
"""


class EchoPlan(PlanModel):
    """Prepare all ones on ``qubits`` qubits on each target."""

    kind: Literal["echo"]
    qubits: int = Field(default=2, ge=1, le=5)
    shots: Shots = 100
    targets: Targets


class EchoResult(WorkloadResult):
    """How often each target echoed the all-ones string."""

    echoes: dict[str, float] = Field(default_factory=dict)

    def json_fields(self) -> dict[str, Any]:
        return {"echo": self.echoes}


class EchoWorkload(Workload):
    """The toy kind: one job per target, the default execute (submit and wait)."""

    kind = "echo"
    plan_model = EchoPlan

    def template(self) -> str:
        return TEMPLATE

    def targets(self, plan: Any) -> list[tuple[FieldKey, TargetSpec]]:
        return [(("targets", i), target) for i, target in enumerate(plan.targets)]

    def check(self, loaded: LoadedPlan) -> PlanCheck:
        count = len(loaded.plan.targets)
        return PlanCheck({"jobs": count}, f"{count} echoes")

    def compile(self, loaded: LoadedPlan) -> CompiledBundle:
        from qiskit import QuantumCircuit

        plan = loaded.plan
        providers = check_targets(loaded, self.targets(plan))
        circuit = QuantumCircuit(plan.qubits, name="ones")
        circuit.x(range(plan.qubits))
        circuit.measure_all()
        jobs, payloads = [], {}
        for index, (target, provider) in enumerate(zip(plan.targets, providers, strict=True)):
            seed = derive_seed(plan.seed, "echo", target.target)
            options = target_options(target)
            payload = provider.translate(circuit, target.device, options, seed)
            cost = provider.estimate_cost(target.device, payload, plan.shots)
            file = payload_name(index, "ones", target.target, payload.extension)
            payloads[file] = payload.data
            record = job_record(
                index=index, circuit="ones", target=target.target, target_index=index,
                options=options, shots=plan.shots, seed=seed, payload_file=file,
                payload=payload, cost=cost,
            )  # fmt: skip
            jobs.append(record)
        info = PlanInfo(file=loaded.path.name, name=plan.name or loaded.path.stem, kind="echo",
                        hash=loaded.canonical_hash(), seed=plan.seed)  # fmt: skip
        versions = registry.versions(sorted({job.provider for job in jobs}))
        manifest = build_manifest(info, jobs, versions, {"echo": {"qubits": plan.qubits}})
        check_budget(loaded, manifest)
        return CompiledBundle(manifest=manifest, payloads=payloads)

    def compile_view(self, bundle: CompiledBundle, directory: Path) -> View:
        rows = [(job.target, job.num_qubits) for job in bundle.jobs]
        qubits = bundle.manifest.extension["echo"]["qubits"]
        return View([Table(("echo target", "qubits"), rows)], [f"echoing {qubits} ones"])

    def results(self, ctx: RunContext, run: dict[str, Any]) -> EchoResult:
        qubits = ctx.bundle.manifest.extension["echo"]["qubits"]
        echoes = {}
        for job in run["jobs"]:
            if job["counts"] is not None:
                echoes[job["target"]] = job["counts"].get("1" * qubits, 0) / job["shots"]
        metrics = [Metric(name="echo_fraction", value=value, circuit="ones", target=target)
                   for target, value in echoes.items()]  # fmt: skip
        return EchoResult(echoes=echoes, metrics=metrics)

    def results_view(self, run: dict[str, Any], result: WorkloadResult) -> View:
        rows = sorted(result.json_fields()["echo"].items())
        return View([Table(("target", "echo fraction"), rows, title="echo")])


@pytest.fixture
def echo_kind(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """``echo`` registered beside the installed kinds (what an installed plugin does)."""
    installed = kinds._entry_points()
    entry = SimpleNamespace(name="echo", load=lambda: EchoWorkload)
    monkeypatch.setattr(kinds, "_entry_points", lambda: {**installed, "echo": entry})
    kinds.forget()
    yield
    monkeypatch.undo()
    kinds.forget()


def test_a_kind_registered_outside_the_core_runs_end_to_end(
    echo_kind: None, cli, tmp_path: Path
) -> None:
    plan = tmp_path / "echo.yaml"
    made = cli("init", "echo", str(plan))
    assert made.returncode == 0, made.stderr
    assert plan.read_text() == TEMPLATE

    checked = cli("validate", str(plan))
    assert checked.returncode == 0 and f"{plan}: ok (1 echoes)" in checked.stderr
    report = json.loads(cli("validate", str(plan), "--json").stdout)
    assert report == [{"plan": str(plan), "valid": True, "errors": [], "jobs": 1}]

    schema = json.loads(cli("schema").stdout)
    assert "EchoPlan" in json.dumps(schema)

    compiled = cli("compile", str(plan), "-o", str(tmp_path / "bundle"))
    assert compiled.returncode == 0, compiled.stderr
    assert "echo target" in compiled.stdout and "echoing 3 ones" in compiled.stderr
    manifest = json.loads((tmp_path / "bundle" / "manifest.json").read_text())
    assert manifest["plan"]["kind"] == "echo" and manifest["echo"] == {"qubits": 3}

    ran = cli("run", str(plan), "--json", "--poll", "0.1")
    assert ran.returncode == 0, ran.stderr
    data = json.loads(ran.stdout)
    assert data["kind"] == "echo" and data["status"] == "completed"
    assert data["echo"] == {"local:statevector": 1.0}
    metric = {"name": "echo_fraction", "value": 1.0, "circuit": "ones",
              "target": "local:statevector"}  # fmt: skip
    assert data["metric_values"] == [metric]

    shown = cli("results", data["run_id"])
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == "echo"
    assert "local:statevector  1" in shown.stdout


def test_the_library_api_runs_a_registered_kind(echo_kind: None, cli, tmp_path: Path) -> None:
    import qorch

    plan = tmp_path / "echo.yaml"
    plan.write_text(TEMPLATE.replace("qubits: 3", "qubits: 2"))
    cli("status")  # the test's state directory and working directory, for the library too
    assert [report.valid for report in qorch.validate([plan])] == [True]
    got = qorch.run(plan, qorch.RunOptions(poll_s=0.1))
    assert got.exit_code == 0 and got.result.json_fields() == {"echo": {"local:statevector": 1.0}}
    assert [(m.name, m.value) for m in got.result.metrics] == [("echo_fraction", 1.0)]
    again = qorch.results(got.run_id)
    assert again.data["echo"] == got.data["echo"] and again.results_file is not None


def test_an_unknown_kind_names_the_installed_ones(cli, make_plan) -> None:
    plan = make_plan("version: 1\nkind: echo\n")
    result = cli("validate", str(plan))
    assert result.returncode == 1
    assert "kind: unknown plan kind 'echo' (known: circuits, distributed, qcnn)" in result.stderr
    assert cli("init", "echo").returncode == 2


def test_an_entry_point_that_is_not_a_workload_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from qorch.contract.errors import PlanError

    entry = SimpleNamespace(name="bogus", load=lambda: dict)
    monkeypatch.setattr(kinds, "_entry_points", lambda: {"bogus": entry})
    kinds.forget()
    try:
        with pytest.raises(PlanError, match=r"entry point 'bogus' of qorch\.workloads is not"):
            kinds.load("bogus")
    finally:
        monkeypatch.undo()
        kinds.forget()
