"""``qorch link``: one optical link evaluated, or a sweep of one of its parameters (with a plot).

:func:`link_report` does what the command does, minus the terminal: the CLI
parses its flags into a :class:`LinkQuery`, calls it and prints the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qorch.contract.errors import PlanError, UsageError
from qorch.engine.views import Table, View

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
    ("bb84_key_rate_hz", "BBM92 secret-key rate (entanglement-based, heralded pairs)", "bits/s"),
    ("bb84_bits_per_use", "BBM92 secret key per channel use", "bits"),
)


@dataclass(frozen=True)
class LinkQuery:
    """What ``qorch link`` was asked: where the link comes from, what overrides it, and
    whether to sweep one field (``FIELD=START:STOP:POINTS``) and plot the sweep."""

    preset: str | None = None
    plan: Path | None = None
    link_index: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)  # field -> value (flags)
    settings: list[str] = field(default_factory=list)  # KEY=VALUE (--set)
    pairs: int = 1
    sweep: str | None = None
    plot: Path | None = None
    list_presets: bool = False


@dataclass(frozen=True)
class LinkReport:
    """The report: ``data`` for ``--json``, ``view`` for the terminal, and the plot
    written (if any)."""

    data: Any
    view: View
    plot: Path | None = None


def link_report(query: LinkQuery) -> LinkReport:
    """Evaluate the link (or each sweep point), or list the presets.

    Raises UsageError for contradictory or malformed requests, PlanError (located
    in the plan file, or naming the field) for invalid link parameters.
    """
    if query.list_presets:
        return presets_report()
    if query.plot is not None and query.sweep is None:
        raise UsageError("--plot needs --sweep")
    if query.plan is None and query.link_index is not None:
        raise UsageError("--link N picks a link of a plan: --plan FILE --link N")
    if query.plan is not None and query.preset is not None:
        raise UsageError("--preset cannot be combined with --plan (the plan's link names its own)")
    overrides = {key: value for key, value in query.overrides.items() if value is not None}
    overrides.update(parse_settings(query.settings))
    base: LinkParams | None
    if query.plan is not None:
        base, name = plan_link(query.plan, query.link_index)
    elif query.preset is not None:
        base, name = preset_link(query.preset), query.preset
    elif "length_km" in overrides:
        base, name = None, "custom"
    else:
        raise UsageError("give --length-km, --preset or --plan (see qorch link --help)")
    if query.sweep is None:
        return one_link(base, name, overrides, query.pairs)
    return sweep_link(base, name, overrides, query.pairs, query.sweep, query.plot)


def one_link(
    base: LinkParams | None, name: str, overrides: dict[str, Any], pairs: int
) -> LinkReport:
    """One link's figures: a quantity/value/unit table, or the figures and parameters."""
    from qorch.workloads.distributed.link import evaluate

    params = link_params(base, overrides)
    report = evaluate(params, pairs=pairs).as_dict()
    title = f"link: {name}, {params.length_km:g} km, {params.scheme}"
    rows = [(_label(key, label, report), report[key], unit) for key, label, unit in SUMMARY]
    data = {**report, "params": params.model_dump(mode="json")}
    return LinkReport(data, View([Table(("quantity", "value", "unit"), rows, title=title)]))


def _label(key: str, label: str, report: dict[str, Any]) -> str:
    """A row's label; the PLOB ratio says when the scheme is not bounded by PLOB."""
    if key == "rate_to_plob" and not report["plob_bounded"]:
        return f"{label} (single-click scales as √η: not bounded by PLOB)"
    return label


def sweep_link(
    base: LinkParams | None,
    link_name: str,
    overrides: dict[str, Any],
    pairs: int,
    sweep: str,
    plot: Path | None,
) -> LinkReport:
    """The link at each sweep point; the plot written to ``plot`` if given."""
    from qorch.workloads.distributed.link import evaluate

    name, values = parse_sweep(sweep)
    rows: list[dict[str, Any]] = []
    for value in values:
        params = link_params(base, {**overrides, name: value})
        rows.append({name: value, **evaluate(params, pairs=pairs).as_dict()})
    lines = []
    if plot is not None:
        from qorch.store.fsutil import write_bytes_atomic

        scheme = link_params(base, {**overrides, name: values[0]}).scheme
        title = f"{link_name} link ({scheme} scheme): {axis_label(name)} swept"
        write_bytes_atomic(plot, sweep_png(name, rows, title))
        lines.append(f"wrote {plot}")
    columns = (name, *SWEEP_COLUMNS)
    table = Table(columns, [tuple(row[c] for c in columns) for row in rows])
    return LinkReport({"rows": rows}, View([table], lines), plot)


def presets_report() -> LinkReport:
    """The platform presets and their sources."""
    from qorch.workloads.distributed.presets import PRESETS

    data = [
        {"name": p.name, "source": p.source, "description": p.description,
         "reproduces": p.reproduces, "params": p.params.model_dump(mode="json")}
        for p in PRESETS.values()
    ]  # fmt: skip
    table = Table(("preset", "source"), [(p.name, p.source) for p in PRESETS.values()])
    return LinkReport(data, View([table]))


def preset_link(name: str) -> LinkParams:
    """The parameters of preset ``name``; PlanError listing the known ones."""
    from qorch.workloads.distributed.presets import get_preset

    return get_preset(name).params


def plan_link(path: Path, index: int | None) -> tuple[LinkParams, str]:
    """Parameters and a display name of link ``index`` of a distributed plan file
    (None: its only link).

    Raises PlanError located in the file (``FILE:LINE: field: message``) for a bad
    plan, an index out of range or missing among several, or a classical-only link.
    """
    from qorch.engine.planfile import load_plan
    from qorch.engine.wording import counted
    from qorch.workloads.distributed.analysis import distributed_plan
    from qorch.workloads.distributed.network import TopologyError, resolve

    loaded = load_plan(path, str(path))
    links = distributed_plan(loaded).links
    count = counted(len(links), "link")
    if index is None and len(links) != 1:
        valid = f"choose one with --link 0–{len(links) - 1}" if links else "nothing to evaluate"
        raise loaded.error(("links",), f"the plan has {count}: {valid}")
    index = 0 if index is None else index
    if not 0 <= index < len(links):
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


def link_params(base: LinkParams | None, overrides: dict[str, Any]) -> LinkParams:
    """``base`` (None: the defaults) with ``overrides``; one-line PlanError if invalid."""
    from pydantic import ValidationError

    from qorch.workloads.distributed.link import LinkParams, describe_validation_error
    from qorch.workloads.distributed.presets import merged_fields

    try:
        return LinkParams(**merged_fields(base, overrides))
    except ValidationError as error:
        where, text = describe_validation_error(error)
        raise PlanError(f"{where}: {text}" if where else text) from None


def parse_settings(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; ``none``/``null`` mean None, other values are validated later."""
    settings: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        text = value.strip()
        settings[key.strip()] = None if text.lower() in ("none", "null") else text
    return settings


def parse_sweep(text: str) -> tuple[str, list[float]]:
    """``FIELD=START:STOP:POINTS`` → (field, evenly spaced values; integers for int fields)."""
    from qorch.workloads.distributed.link import LinkParams

    name, sep, spec = text.partition("=")
    parts = spec.split(":")
    usage = f"--sweep expects FIELD=START:STOP:POINTS (e.g. length_km=1:100:25), got {text!r}"
    if not sep or len(parts) != 3:
        raise UsageError(usage)
    if name not in LinkParams.model_fields:
        raise UsageError(f"--sweep: unknown link field {name!r}")
    try:
        start, stop, points = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise UsageError(usage) from None
    if points < 2:
        raise UsageError("--sweep needs at least 2 points")
    values = [start + (stop - start) * i / (points - 1) for i in range(points)]
    if LinkParams.model_fields[name].annotation is int:
        return name, sorted({round(value) for value in values})
    return name, values


_UNITS = {"km": "km", "s": "s", "hz": "Hz", "db_per_km": "dB/km", "km_per_s": "km/s"}


def axis_label(field: str) -> str:
    """A link field in words with its unit: ``length_km`` → ``length (km)``."""
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if field.endswith(f"_{suffix}"):
            words = field[: -len(suffix) - 1].replace("_", " ")
            return f"{words} ({_UNITS[suffix]})"
    return field.replace("_", " ")


RATE_FLOOR_DECADES = 12  # the rate axis shows this many decades below the highest rate


def sweep_png(name: str, rows: list[dict[str, Any]], title: str) -> bytes:
    """:func:`sweep_figure` as PNG bytes."""
    from qorch.engine.figures import png_bytes

    return png_bytes(sweep_figure(name, rows, title), dpi=100)


def sweep_figure(name: str, rows: list[dict[str, Any]], title: str) -> Any:
    """Rate vs the PLOB bound (log scale) and fidelity against ``name``: a Figure.

    A line with no positive value (no key at this fidelity) is left out of the
    plot and its legend, and said so in the legend's title; the rate axis spans
    at most :data:`RATE_FLOOR_DECADES` decades, the fidelity axis 0.5 to 1 (a pair
    below 0.5 is not entangled) unless values fall outside.
    """
    import math

    from qorch.engine.figures import pyplot, titled_layout

    plt = pyplot()
    x = [row[name] for row in rows]
    fig, (ax_rate, ax_fid) = plt.subplots(2, 1, figsize=(7.5, 6.5), sharex=True)
    missing = []
    highest = 0.0
    for key, label in (("rate_hz", "Bell-pair rate"),
                       ("plob_rate_hz", "PLOB bound (repeaterless)"),
                       ("bb84_key_rate_hz", "BBM92 key rate")):  # fmt: skip
        ys = [row[key] if row[key] and row[key] > 0 else math.nan for row in rows]
        if all(math.isnan(y) for y in ys):
            missing.append(label)
            continue
        highest = max(highest, max(y for y in ys if not math.isnan(y)))
        ax_rate.plot(x, ys, marker="o", markersize=3, label=label)
    ax_rate.set_yscale("log")
    label = "rate (Hz, log scale)"
    floor = highest / 10**RATE_FLOOR_DECADES
    if highest > 0 and ax_rate.get_ylim()[0] < floor:
        ax_rate.set_ylim(bottom=floor)
        label = f"rate (Hz, log scale; below {floor:.0e} not shown)"
    ax_rate.set_ylabel(label)
    ax_rate.legend(title=f"not drawn (zero): {', '.join(missing)}" if missing else None,
                   title_fontsize="small")  # fmt: skip
    ax_rate.grid(True, which="major", alpha=0.3)
    fidelities = [row["fidelity"] for row in rows]
    ax_fid.plot(x, fidelities, marker="o", markersize=3, color="tab:purple")
    ax_fid.set_ylim(min(0.5, min(fidelities) - 0.02), max(1.0, max(fidelities)) + 0.01)
    ax_fid.axhline(0.5, color="grey", linewidth=0.8, linestyle=":")
    ax_fid.set_ylabel("delivered fidelity")
    ax_fid.set_xlabel(axis_label(name))
    ax_fid.grid(True, alpha=0.3)
    titled_layout(fig, title, fontsize=12)
    return fig
