"""Commands about plans and backends: init, validate, schema, compile, backends."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from qorch.cli.output import emit_json, emit_table, fail, guarded, message, render
from qorch.contract.errors import ExitCode

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON on stdout (for scripts).")]


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("init")(init)
    app.command("validate")(validate)
    app.command("schema")(schema)
    app.command("compile")(compile_)
    app.command("backends")(backends)


@guarded
def init(
    kind: Annotated[
        str, typer.Argument(help="Plan kind: circuits, qcnn, distributed (or another installed).")
    ],
    path: Annotated[
        Path | None, typer.Argument(help="Where to write it (default: KIND.yaml).")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    json_out: JsonFlag = False,
) -> None:
    """Write a commented starter plan of KIND."""
    from qorch import api

    available = api.plan_kinds()
    if kind not in available:
        fail(f"unknown plan kind '{kind}' (available: {', '.join(available)})", 2)
    target = path or Path(f"{kind}.yaml")
    if target.exists() and not force:
        fail(f"{target} exists; pass --force to overwrite it")
    from qorch.store.fsutil import write_text_atomic

    write_text_atomic(target, api.template(kind))
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
    from qorch import api

    reports = api.validate(list(plans))
    if json_out:
        emit_json([report.to_json() for report in reports])
    for report in reports:
        if report.valid and not json_out:
            message(f"{report.plan}: ok ({report.summary})")
        for line in report.errors:
            message(line)
    if not all(report.valid for report in reports):
        raise typer.Exit(int(ExitCode.ERROR))


@guarded
def schema(
    json_out: Annotated[
        bool, typer.Option("--json", hidden=True, help="Accepted: the schema is JSON anyway.")
    ] = False,
) -> None:
    """Print the JSON Schema of the plan format (for editors and linters).

    Always JSON on stdout, e.g. qorch schema > qorch-plan.schema.json for an editor's
    YAML language server.
    """
    from qorch import api

    emit_json(api.schema())


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
    from qorch import api

    compiled = api.compile(plan, output)
    if json_out:
        emit_json({"bundle": str(compiled.directory), **compiled.bundle.manifest.to_json()})
        message(compiled.where)
    else:
        render(compiled.view())


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
