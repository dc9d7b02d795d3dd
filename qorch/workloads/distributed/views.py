"""What ``qorch compile`` and ``qorch run`` show for a distributed plan, as table specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qorch.engine.views import Table, View, job_table
from qorch.engine.wording import counted, usd


def partition_rows(info: dict[str, Any]) -> list[tuple[str, Any]]:
    """The rows of a distributed plan's partition summary, for a two-column table."""
    per_node = ", ".join(f"{name}: {n}" for name, n in info["qubits_per_node"].items())
    per_link = ", ".join(f"{k}: {v}" for k, v in info["epr_pairs_per_link"].items()) or "-"
    rows: list[tuple[str, Any]] = [("qubits per node", per_node), ("EPR pairs", info["epr_pairs"])]
    if info.get("epr_pairs_unlimited_comm") is not None:
        baseline = info.get("epr_pairs_baseline")
        rows.append((
            "EPR pairs: naive baseline / with unlimited comm qubits",
            f"{'-' if baseline is None else baseline} / {info['epr_pairs_unlimited_comm']}",
        ))  # fmt: skip
    per_pair = info.get("epr_pairs_per_pair") or {}
    if per_pair and per_pair != info["epr_pairs_per_link"]:  # some pairs were swapped
        rows.append(
            ("EPR pairs per node pair", ", ".join(f"{k}: {v}" for k, v in per_pair.items()))
        )
        rows.append(("pairs generated per link (a swapped pair uses each link on its path)",
                     per_link))  # fmt: skip
    else:
        rows.append(("EPR pairs per link", per_link))
    if info.get("sampling_overhead") is not None:
        rows += [("cuts", info["cuts"]), ("sampling overhead", f"{info['sampling_overhead']:g}")]
    else:
        rows += [
            ("cat-entanglements / teleports", f"{info['cat_groups']} / {info['teleports']}"),
            ("gates on a third QPU", info["third_node_gates"]),
            (
                "comm qubits held at once (most)",
                ", ".join(f"{k}: {v}" for k, v in info["comm_qubits_used"].items()),
            ),
            ("makespan", f"{info['makespan_s'] * 1e3:.3f} ms"),
            ("waiting for entanglement (sum over pairs)", f"{info['epr_wait_s'] * 1e3:.3f} ms"),
            *estimate_rows(info),
        ]
    return rows


def estimate_rows(info: dict[str, Any]) -> list[tuple[str, str]]:
    """The estimate: expected fidelity to the ideal distribution, success probability, and
    the no-error lower bound (a report written before the per-channel estimate: one row)."""
    if "fidelity_lower_bound" not in info:
        return [("estimated fidelity", _figure(info.get("estimated_fidelity")))]
    method = info.get("estimate_method") or "-"
    return [
        ("estimated fidelity to the ideal distribution", _figure(
            info.get("estimated_classical_fidelity"))),
        ("estimated success probability (an ideal outcome)", _figure(
            info.get("estimated_success_probability"))),
        ("fidelity lower bound (no error anywhere)", _figure(info.get("fidelity_lower_bound"))),
        ("estimate method", method),
    ]  # fmt: skip


def _figure(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def compile_view(name: str, blocks: dict[str, Any], totals: Any, directory: Path) -> View:
    """The partition report, its warnings, the totals and where the diagram is."""
    info = blocks["partition"]
    table = Table(("partition", "value"), partition_rows(info), title=f"{name} (distributed)")
    lines = [f"warning: {warning}" for warning in info.get("warnings", [])]
    lines.append(f"{counted(totals.jobs, 'job')}, {counted(totals.shots, 'shot')}, "
                 f"estimated {usd(totals.cost_usd)}; "
                 f"diagram: {directory / 'partition.png'}")  # fmt: skip
    return View([table], lines)


def results_view(run: dict[str, Any], info: dict[str, Any] | None) -> View:
    """The jobs (the distributed job's counts over the logical qubits), the partition,
    and the simulation's or the cut reconstruction's figures."""
    simulation = (info or {}).get("simulation") or {}
    shown = {}
    if simulation.get("counts"):
        shown = {job["index"]: simulation["counts"] for job in run["jobs"]
                 if job["circuit"] == "distributed"}  # fmt: skip
    tables = [job_table(run, counts=True, shown_counts=shown)]
    if info is None:
        return View(tables)
    tables.append(Table(("partition", "value"), partition_rows(info["partition"])))
    if simulation:
        tables.append(Table(
            ("TVD to monolithic", "measured fidelity", "estimated fidelity",
             "estimated success probability", "links"),
            [(_tvd_cell(simulation), f"{simulation['measured_fidelity']:.4f}",
              _figure(simulation.get("estimated_fidelity")),
              _figure(simulation.get("estimated_success_probability")),
              "perfect" if simulation["perfect_links"] else "modelled")],
            title="distributed simulation",
        ))  # fmt: skip
    observables = info.get("observables")
    if observables:
        tables.append(Table(("observable", "value", "std error", "exact", "|Δ|/σ"),
                            [_observable_row(o) for o in observables],
                            title="cut reconstruction"))  # fmt: skip
    return View(tables)


def _tvd_cell(simulation: dict[str, Any]) -> str:
    """The TVD beside what shot noise alone would show (results written before the floor
    was reported show the TVD alone)."""
    floor = simulation.get("tvd_noise_floor")
    tvd = f"{simulation['tvd_to_monolithic']:.4f}"
    return tvd if floor is None else f"{tvd} (shot noise ≈ {floor:.4f})"


def _observable_row(observable: dict[str, Any]) -> tuple[str, ...]:
    """One reconstructed observable; its exact value is unknown (``-``) for wide circuits."""
    value, error, exact = observable["value"], observable["std_error"], observable["exact"]
    if exact is None:
        return (observable["observable"], f"{value:.4f}", f"{error:.4f}", "-", "-")
    sigmas = abs(value - exact) / max(error, 1e-12)
    return (observable["observable"], f"{value:.4f}", f"{error:.4f}", f"{exact:.4f}",
            f"{sigmas:.2f}")  # fmt: skip
