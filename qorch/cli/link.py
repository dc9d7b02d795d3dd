"""``qorch link``: evaluate an optical link model, or sweep one of its parameters."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from qorch.cli.output import emit_json, emit_table, guarded, message
from qorch.contract.errors import PlanError, UsageError

if TYPE_CHECKING:
    from qorch.workloads.distributed.link import LinkParams

SWEEP_COLUMNS = (
    "transmissivity",
    "p_success",
    "rate_hz",
    "fidelity",
    "plob_ebits_per_use",
    "rate_to_plob",
    "bb84_key_rate_hz",
)
SUMMARY = (
    ("transmissivity", "transmissivity η", ""),
    ("latency_s", "one-way latency", "s"),
    ("herald_wait_s", "herald wait", "s"),
    ("p_success", "success probability per attempt", ""),
    ("raw_rate_hz", "heralded pair rate", "Hz"),
    ("rate_hz", "delivered pair rate", "Hz"),
    ("fidelity_raw", "fidelity after the herald wait", ""),
    ("fidelity", "delivered fidelity", ""),
    ("purification_yield", "purification yield", ""),
    ("generation_time_mean_s", "time for the pairs, mean", "s"),
    ("generation_time_p95_s", "time for the pairs, 95th percentile", "s"),
    ("plob_ebits_per_use", "PLOB bound per channel use", "ebits"),
    ("plob_rate_hz", "PLOB bound as a rate", "ebits/s"),
    ("rate_to_plob", "delivered rate / PLOB rate", ""),
    ("qber", "QBER", ""),
    ("bb84_key_rate_hz", "BB84 secret-key rate", "bits/s"),
    ("bb84_bits_per_use", "BB84 secret key per channel use", "bits"),
)

EPILOG = """\b
Examples:
  qorch link --preset telecom-fibre                 the generic 10 km C-band link
  qorch link --length-km 50 --scheme single-click --set bright_state_population=0.05
  qorch link --preset nv-centre --pairs 100 --json  time for 100 pairs, as JSON
  qorch link --preset telecom-fibre --purification dejmps --rounds 2
  qorch link --preset telecom-fibre --sweep length_km=1:100:25 --plot rate.png
  qorch link --plan plans/distributed-qft.yaml --link 0 --length-km 20
                                                     link 0 of a distributed plan, at 20 km
  qorch link --list-presets                          platforms and their sources

\b
Any LinkParams field can be set with --set KEY=VALUE (e.g. t2_s=0.5, cutoff_s=0.01,
multiplexed_modes=100, attempt_rate_hz=2e6, purification=none).
"""


def register(app: typer.Typer) -> None:
    """Add ``qorch link`` to ``app``."""
    app.command("link", epilog=EPILOG)(link)


@guarded
def link(
    preset: Annotated[
        str | None, typer.Option("--preset", help="Start from a platform preset.")
    ] = None,
    length_km: Annotated[float | None, typer.Option("--length-km", help="Fibre length.")] = None,
    scheme: Annotated[
        str | None, typer.Option("--scheme", help="direct, single-click or two-photon.")
    ] = None,
    attenuation_db_per_km: Annotated[
        float | None,
        typer.Option("--attenuation-db-per-km", help="Fibre loss (default 0.2, C-band)."),
    ] = None,
    attempt_rate_hz: Annotated[
        float | None, typer.Option("--attempt-rate-hz", help="Attempt clock rate.")
    ] = None,
    modes: Annotated[int | None, typer.Option("--modes", help="Multiplexed modes.")] = None,
    purification: Annotated[
        str | None, typer.Option("--purification", help="bbpssw or dejmps.")
    ] = None,
    rounds: Annotated[int | None, typer.Option("--rounds", help="Purification rounds.")] = None,
    settings: Annotated[
        list[str] | None,
        typer.Option("--set", metavar="KEY=VALUE", help="Any other link field (repeatable)."),
    ] = None,
    pairs: Annotated[
        int, typer.Option("--pairs", min=1, help="Pairs for the generation-time figures.")
    ] = 1,
    sweep: Annotated[
        str | None,
        typer.Option("--sweep", metavar="FIELD=START:STOP:POINTS", help="Sweep one field."),
    ] = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="With --sweep: write a PNG plot here.")
    ] = None,
    plan: Annotated[
        Path | None,
        typer.Option("--plan", metavar="FILE", help="Take the link from a distributed plan."),
    ] = None,
    link_index: Annotated[
        int | None,
        typer.Option("--link", metavar="N", help="With --plan: the link's index (from 0)."),
    ] = None,
    list_presets: Annotated[
        bool, typer.Option("--list-presets", help="List platform presets and exit.")
    ] = False,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False,
) -> None:
    """Evaluate a heralded-entanglement link: loss, rate, fidelity, PLOB and BB84 bounds.

    Prints transmissivity, latency, success probability per attempt, Bell-pair rate,
    the time to make --pairs pairs (mean and 95th percentile), fidelity after the
    herald wait and after purification, the repeaterless (PLOB) bound and the
    asymptotic BB84 key rate on the same fibre. With --plan and --link, start from
    that link of the plan; the other flags override its values.
    """
    from qorch.workloads.distributed.presets import PRESETS

    if list_presets:
        _list_presets(PRESETS, json_out)
        return
    if plot is not None and sweep is None:
        raise UsageError("--plot needs --sweep")
    if (plan is None) != (link_index is None):
        raise UsageError("--plan and --link go together: --plan FILE --link N")
    if plan is not None and preset is not None:
        raise UsageError("--preset cannot be combined with --plan (the plan's link names its own)")
    flags = {
        "length_km": length_km,
        "scheme": scheme,
        "attenuation_db_per_km": attenuation_db_per_km,
        "attempt_rate_hz": attempt_rate_hz,
        "multiplexed_modes": modes,
        "purification": purification,
        "purification_rounds": rounds,
    }
    overrides = {key: value for key, value in flags.items() if value is not None}
    overrides.update(_parse_settings(settings or []))
    if plan is not None and link_index is not None:
        base, name = _plan_link(plan, link_index)
    elif preset is not None:
        base, name = _preset_link(preset), preset
    elif "length_km" in overrides:
        base, name = None, "custom"
    else:
        raise UsageError("give --length-km, --preset or --plan (see qorch link --help)")
    if sweep is None:
        _show_one(base, name, overrides, pairs, json_out)
    else:
        _show_sweep(base, overrides, pairs, sweep, plot, json_out)


def _preset_link(name: str) -> LinkParams:
    """The parameters of preset ``name``; PlanError listing the known ones."""
    from qorch.workloads.distributed.presets import get_preset

    return get_preset(name).params


def _plan_link(path: Path, index: int) -> tuple[LinkParams, str]:
    """Parameters and a display name of link ``index`` of a distributed plan file.

    Raises PlanError located in the file (``FILE:LINE: field: message``) for a bad
    plan, an index out of range, or a classical-only link.
    """
    from qorch.engine.planfile import load_plan
    from qorch.workloads.distributed.network import TopologyError, resolve
    from qorch.workloads.distributed.pipeline import distributed_plan

    loaded = load_plan(path, str(path))
    links = distributed_plan(loaded).links
    if not 0 <= index < len(links):
        count = f"{len(links)} link{'s' * (len(links) != 1)}"
        valid = f"0–{len(links) - 1}" if links else "none"
        raise loaded.error(("links",), f"no link {index}: the plan has {count} (--link {valid})")
    spec = links[index]
    a, b = spec.between
    if spec.classical:
        raise loaded.error(
            ("links", index, "classical"),
            f"link {index} ({a}–{b}) is classical-only: it carries no entanglement to evaluate",
        )
    try:
        params = resolve(spec, field=f"links.{index}")
    except TopologyError as error:
        key = tuple(int(p) if p.isdigit() else p for p in (error.field or "links").split("."))
        raise loaded.error(key, error.message) from None
    return params, f"{loaded.display} link {index} ({a}–{b})"


def _params(base: LinkParams | None, overrides: dict[str, Any]) -> LinkParams:
    """``base`` (None: the defaults) with ``overrides``; one-line PlanError if invalid."""
    from pydantic import ValidationError

    from qorch.workloads.distributed.link import LinkParams, describe_validation_error
    from qorch.workloads.distributed.presets import merged_fields

    try:
        return LinkParams(**merged_fields(base, overrides))
    except ValidationError as error:
        where, text = describe_validation_error(error)
        raise PlanError(f"{where}: {text}" if where else text) from None


def _show_one(
    base: LinkParams | None, name: str, overrides: dict[str, Any], pairs: int, json_out: bool
) -> None:
    """Evaluate one link and print it (a quantity/value/unit table, or JSON)."""
    from qorch.workloads.distributed.link import evaluate

    params = _params(base, overrides)
    report = evaluate(params, pairs=pairs).as_dict()
    if json_out:
        emit_json({**report, "params": params.model_dump(mode="json")})
        return
    title = f"link: {name}, {params.length_km:g} km, {params.scheme}"
    rows = [(label, report[key], unit) for key, label, unit in SUMMARY]
    emit_table(("quantity", "value", "unit"), rows, title=title)


def _show_sweep(
    base: LinkParams | None,
    overrides: dict[str, Any],
    pairs: int,
    sweep: str,
    plot: Path | None,
    json_out: bool,
) -> None:
    """Evaluate the link at each sweep point; print rows, optionally write a PNG."""
    from qorch.workloads.distributed.link import evaluate

    field, values = _parse_sweep(sweep)
    rows: list[dict[str, Any]] = []
    for value in values:
        params = _params(base, {**overrides, field: value})
        rows.append({field: value, **evaluate(params, pairs=pairs).as_dict()})
    if plot is not None:
        _write_plot(plot, field, rows)
    if json_out:
        emit_json({"rows": rows})
    else:
        columns = (field, *SWEEP_COLUMNS)
        emit_table(columns, [[row[c] for c in columns] for row in rows])
    if plot is not None:
        message(f"wrote {plot}")


def _parse_settings(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; ``none``/``null`` mean None, other values are validated later."""
    settings: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        text = value.strip()
        settings[key.strip()] = None if text.lower() in ("none", "null") else text
    return settings


def _parse_sweep(text: str) -> tuple[str, list[float]]:
    """``FIELD=START:STOP:POINTS`` → (field, evenly spaced values; integers for int fields)."""
    from qorch.workloads.distributed.link import LinkParams

    field, sep, spec = text.partition("=")
    parts = spec.split(":")
    usage = f"--sweep expects FIELD=START:STOP:POINTS (e.g. length_km=1:100:25), got {text!r}"
    if not sep or len(parts) != 3:
        raise UsageError(usage)
    if field not in LinkParams.model_fields:
        raise UsageError(f"--sweep: unknown link field {field!r}")
    try:
        start, stop, points = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise UsageError(usage) from None
    if points < 2:
        raise UsageError("--sweep needs at least 2 points")
    values = [start + (stop - start) * i / (points - 1) for i in range(points)]
    if LinkParams.model_fields[field].annotation is int:
        return field, sorted({round(value) for value in values})
    return field, values


def _write_plot(path: Path, field: str, rows: list[dict[str, Any]]) -> None:
    """Rate vs the PLOB bound (log scale) and fidelity against ``field``, as PNG, atomically."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from qorch.store.fsutil import write_bytes_atomic

    x = [row[field] for row in rows]
    fig, (ax_rate, ax_fid) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    for key, label in (("rate_hz", "Bell-pair rate"), ("plob_rate_hz", "PLOB bound"),
                       ("bb84_key_rate_hz", "BB84 key rate")):  # fmt: skip
        ys = [row[key] if row[key] else float("nan") for row in rows]
        ax_rate.plot(x, ys, marker="o", markersize=3, label=label)
    ax_rate.set_yscale("log")
    ax_rate.set_ylabel("rate (Hz)")
    ax_rate.legend()
    ax_fid.plot(x, [row["fidelity"] for row in rows], marker="o", markersize=3)
    ax_fid.set_ylabel("delivered fidelity")
    ax_fid.set_xlabel(field)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    write_bytes_atomic(path, buffer.getvalue())


def _list_presets(presets: dict[str, Any], json_out: bool) -> None:
    if json_out:
        emit_json(
            [
                {"name": p.name, "source": p.source, "description": p.description,
                 "reproduces": p.reproduces, "params": p.params.model_dump(mode="json")}
                for p in presets.values()
            ]
        )  # fmt: skip
        return
    emit_table(("preset", "source"), [(p.name, p.source) for p in presets.values()])
