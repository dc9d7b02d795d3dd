"""Commands about plans and backends: init, validate, schema, compile, backends."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from qorch.cli.output import emit_json, emit_table, fail, guarded, message
from qorch.contract.errors import ExitCode

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]
KINDS_AVAILABLE = ("circuits", "qcnn", "distributed")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("init")(init)
    app.command("validate")(validate)
    app.command("schema")(schema)
    app.command("compile")(compile_)
    app.command("backends")(backends)


@guarded
def init(
    kind: Annotated[str, typer.Argument(help="Plan kind: circuits, qcnn or distributed.")],
    path: Annotated[
        Path | None, typer.Argument(help="Where to write it (default: KIND.yaml).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Write a commented starter plan of KIND."""
    if kind not in KINDS_AVAILABLE:
        fail(f"unknown plan kind '{kind}' (available: {', '.join(KINDS_AVAILABLE)})", 2)
    target = path or Path(f"{kind}.yaml")
    if target.exists() and not force:
        fail(f"{target} exists; pass --force to overwrite it")
    from qorch.store.fsutil import write_text_atomic

    text = resources.files("qorch.templates").joinpath(f"{kind}.yaml").read_text("utf-8")
    write_text_atomic(target, text)
    if json_out:
        emit_json({"path": str(target), "kind": kind})
    else:
        message(f"wrote {target}; next: qorch validate {target}")


@guarded
def validate(
    plans: Annotated[list[Path], typer.Argument(help="Plan files to check.")],
    json_out: JsonFlag = False,
) -> None:
    """Check plans: schema, QASM files, providers, devices and options.

    Fast (no vendor SDK is imported), so it suits CI and pre-commit hooks.
    Capability and budget checks that need provider data happen in compile.
    """
    from qorch.contract.errors import QorchError
    from qorch.engine.planfile import PlanErrors, load_plan
    from qorch.engine.targets import check_targets
    from qorch.workloads.circuits.build import build_circuits

    reports: list[dict[str, Any]] = []
    for path in plans:
        try:
            loaded = load_plan(path, str(path))
            check_targets(loaded)
            if loaded.plan.kind == "qcnn":
                from qorch.workloads.qcnn.pipeline import compile_qcnn

                qcnn_info = compile_qcnn(loaded)[0].manifest["qcnn"]
                reports.append({"plan": str(path), "valid": True, "errors": [],
                                "jobs": 0, "tasks": 1 + qcnn_info["sweep_tasks"]})  # fmt: skip
                continue
            if loaded.plan.kind == "distributed":
                from qorch.workloads.distributed.pipeline import check_plan

                reports.append({"plan": str(path), "valid": True, "errors": [],
                                **check_plan(loaded)})  # fmt: skip
                continue
            circuits = build_circuits(loaded)
        except PlanErrors as error:
            reports.append({"plan": str(path), "valid": False, "errors": error.lines()})
            continue
        except QorchError as error:
            reports.append({"plan": str(path), "valid": False, "errors": [str(error)]})
            continue
        jobs = len(circuits) * len(loaded.circuits_plan.targets)
        reports.append({"plan": str(path), "valid": True, "errors": [], "jobs": jobs})
    if json_out:
        emit_json(reports)
    for report in reports:
        if report["valid"] and not json_out:
            message(f"{report['plan']}: ok ({_what(report)})")
        for line in report["errors"]:
            message(line)
    if not all(report["valid"] for report in reports):
        raise typer.Exit(int(ExitCode.ERROR))


def _what(report: dict[str, Any]) -> str:
    if "tasks" in report:
        return f"{report['tasks']} training tasks"
    if "qubits" in report:
        return f"{report['qubits']} qubits on {report['nodes']} nodes"
    return f"{report['jobs']} jobs"


@guarded
def schema(json_out: JsonFlag = False) -> None:
    """Print the JSON Schema of the plan format (for editors and linters)."""
    from qorch.engine.plan import plan_json_schema

    emit_json(plan_json_schema())


@guarded
def compile_(
    plan: Annotated[Path, typer.Argument(help="The plan file.")],
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Bundle directory (default: .qorch/bundles/...)."),
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """Build the bundle and show what would run: jobs, shots, depth, cost.

    Checks qubit counts, gate sets and the budget before anything is
    submitted. The same plan always gives a byte-identical bundle.
    """
    from qorch.engine.session import compile_to_dir

    bundle, directory, written = compile_to_dir(plan, output)
    manifest = bundle.manifest
    if json_out:
        emit_json({"bundle": str(directory), **manifest})
    elif manifest["plan"]["kind"] == "distributed":
        _partition_table(manifest, directory)
    elif manifest["plan"]["kind"] == "qcnn":
        info = manifest["qcnn"]
        emit_table(
            ("QCNN parameters", "train samples", "test samples", "classes", "sweep tasks"),
            [(info["n_params"], info["data"]["train"], info["data"]["test"],
              ", ".join(map(str, info["classes"])), info["sweep_tasks"])],
        )  # fmt: skip
    else:
        rows = [
            (
                j["index"],
                j["circuit"],
                j["target"],
                j["shots"],
                j["num_qubits"],
                j["depth"],
                j["two_qubit_gates"],
                f"${j['cost_usd']:.2f}",
            )
            for j in manifest["jobs"]
        ]
        columns = ("#", "circuit", "target", "shots", "qubits", "depth", "2q gates", "cost")
        emit_table(columns, rows)
        totals = manifest["totals"]
        message(
            f"{totals['jobs']} jobs, {totals['shots']} shots, estimated ${totals['cost_usd']:.2f}"
        )
    message(f"bundle {'written to' if written else 'unchanged at'} {directory}")


def _partition_table(manifest: dict[str, Any], directory: Path) -> None:
    info = manifest["partition"]
    emit_table(("partition", "value"), partition_rows(info),
               title=f"{manifest['plan']['name']} (distributed)")  # fmt: skip
    for warning in info.get("warnings", []):
        message(f"warning: {warning}")
    totals = manifest["totals"]
    message(f"{totals['jobs']} jobs, {totals['shots']} shots, estimated ${totals['cost_usd']:.2f}; "
            f"diagram: {directory / 'partition.png'}")  # fmt: skip


def partition_rows(info: dict[str, Any]) -> list[tuple[str, Any]]:
    """The rows of a distributed plan's partition summary, for a two-column table."""
    per_node = ", ".join(f"{name}: {n}" for name, n in info["qubits_per_node"].items())
    per_link = ", ".join(f"{k}: {v}" for k, v in info["epr_pairs_per_link"].items()) or "-"
    rows: list[tuple[str, Any]] = [("qubits per node", per_node), ("EPR pairs", info["epr_pairs"]),
                                   ("EPR pairs per link", per_link)]  # fmt: skip
    if info.get("sampling_overhead") is not None:
        rows += [("cuts", info["cuts"]), ("sampling overhead", f"{info['sampling_overhead']:g}")]
    else:
        rows += [
            ("cat-entanglements / teleports", f"{info['cat_groups']} / {info['teleports']}"),
            ("gates on a third QPU", info["third_node_gates"]),
            (
                "comm qubits used",
                ", ".join(f"{k}: {v}" for k, v in info["comm_qubits_used"].items()),
            ),
            ("makespan", f"{info['makespan_s'] * 1e3:.3f} ms"),
            ("waiting for entanglement", f"{info['epr_wait_s'] * 1e3:.3f} ms"),
            ("estimated fidelity", f"{info['estimated_fidelity']:.4f}"),
        ]
    return rows


@guarded
def backends(
    provider: Annotated[
        str | None, typer.Option("--provider", "-p", help="Only this provider.")
    ] = None,
    json_out: JsonFlag = False,
) -> None:
    """List providers and devices available here, and whether credentials were found."""
    from qorch.engine import registry

    names = [provider] if provider else registry.provider_names()
    report: list[dict[str, Any]] = []
    for name in names:
        plugin = registry.load(name)
        found = plugin.credentials()
        devices = [device.to_dict() for device in plugin.devices()]
        report.append(
            {
                "provider": name,
                "credentials": {
                    "found": found.found,
                    "source": found.source,
                    "detail": found.detail,
                },
                "devices": devices,
            }
        )
    if json_out:
        emit_json({"providers": report})
        return
    rows = []
    for entry in report:
        creds: dict[str, Any] = entry["credentials"]
        state = f"found ({creds['source']})" if creds["found"] else "not found"
        detail = f" — {creds['detail']}" if creds["detail"] else ""
        message(f"{entry['provider']}: credentials {state}{detail}")
        for device in entry["devices"]:
            kind = "simulator" if device["simulator"] else "QPU"
            where = "local" if device["local"] else "cloud"
            rows.append(
                (device["target"], device["num_qubits"], kind, where, device["description"])
            )
    emit_table(("target", "qubits", "kind", "runs", "description"), rows)
