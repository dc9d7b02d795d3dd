"""``qorch link`` end to end (in this process): JSON contract, tables, sweeps with a PNG,
one-line errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Result = Any  # the in-process CLI's result: returncode, stdout, stderr
Runner = Callable[..., Result]
CONTRACT = ("transmissivity", "latency_s", "p_success", "rate_hz", "fidelity", "plob_ebits_per_use")


def assert_one_line_error(result: Result, code: int, words: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert words in lines[0], lines[0]
    assert result.stdout == ""


def test_json_has_contract_keys_and_acceptance_figures(cli: Runner) -> None:
    result = cli("link", "--length-km", "10", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(CONTRACT) <= set(data)
    assert data["transmissivity"] == pytest.approx(0.631, abs=5e-4)
    assert data["latency_s"] == pytest.approx(50e-6)
    assert data["plob_ebits_per_use"] == pytest.approx(1.44, abs=5e-3)
    assert data["params"]["length_km"] == 10


def test_preset_table_and_overrides(cli: Runner) -> None:
    result = cli("link", "--preset", "nv-centre", "--pairs", "10")
    assert result.returncode == 0, result.stderr
    assert "delivered pair rate" in result.stdout and "39" in result.stdout
    settings = ("--set", "source_fidelity=0.9", "--set", "coherence_time_s=none")
    purified = cli(
        "link", "--preset", "telecom-fibre", "--purification", "bbpssw", *settings, "--json"
    )
    data = json.loads(purified.stdout)
    assert data["fidelity"] == pytest.approx(0.926, abs=5e-4)
    assert data["purification_yield"] == pytest.approx(0.438, abs=1e-3)


def test_negative_length_is_one_line(cli: Runner) -> None:
    assert_one_line_error(cli("link", "--length-km", "-5"), 1, "length_km: must be ≥ 0")


def test_efficiency_above_one_is_one_line(cli: Runner) -> None:
    result = cli("link", "--preset", "telecom-fibre", "--set", "detection_efficiency=1.5")
    assert_one_line_error(result, 1, "detection_efficiency: must be ≤ 1")


def test_unknown_preset_lists_known_ones(cli: Runner) -> None:
    result = cli("link", "--preset", "fusion")
    assert_one_line_error(result, 1, "unknown link preset 'fusion' (known: trapped-ion")


@pytest.mark.parametrize(
    "args",
    [("--length-km", "1", "--bogus"), ("--length-km", "1", "--sweep", "length_km=1:5"),
     ("--length-km", "1", "--plot", "x.png"), ("--scheme", "direct"), ("--link", "0"),
     ("--plan", "plans/distributed-qft.yaml", "--link", "0", "--preset", "nv-centre")],
)  # fmt: skip
def test_usage_errors_exit_2(cli: Runner, args: tuple[str, ...]) -> None:
    result = cli("link", *args)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr


def test_sweep_writes_rows_and_a_png(cli: Runner, tmp_path: Path) -> None:
    plot = tmp_path / "plots" / "rate.png"
    result = cli("link", "--preset", "telecom-fibre", "--sweep", "length_km=1:100:25",
                   "--plot", str(plot), "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)["rows"]
    assert [row["length_km"] for row in rows][::24] == [1.0, 100.0]
    assert len(rows) == 25
    rates = [row["rate_hz"] for row in rows]
    assert rates == sorted(rates, reverse=True)
    assert all(set(CONTRACT) <= set(row) for row in rows)
    data = plot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    import matplotlib.image

    assert matplotlib.image.imread(plot).shape[0] > 100
    assert sorted(p.name for p in plot.parent.iterdir()) == ["rate.png"]
    table = cli("link", "--preset", "telecom-fibre", "--sweep", "multiplexed_modes=1:10:4")
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0].split()[:2] == ["multiplexed_modes", "transmissivity"]


def test_plan_link_with_overrides_and_sweep(cli: Runner) -> None:
    plan = ("--plan", "plans/distributed-qft.yaml", "--link", "0")
    data = json.loads(cli("link", *plan, "--json").stdout)
    assert data["transmissivity"] == pytest.approx(0.631, abs=5e-4)
    assert data["params"]["length_km"] == 10
    longer = json.loads(cli("link", *plan, "--length-km", "20", "--json").stdout)
    assert longer["transmissivity"] == pytest.approx(0.398, abs=5e-4)
    preset = cli("link", "--preset", "telecom-fibre", "--length-km", "20", "--json")
    assert longer == json.loads(preset.stdout)  # the plan's link is that preset
    swept = cli("link", *plan, "--sweep", "length_km=10:20:2", "--json")
    assert swept.returncode == 0, swept.stderr
    rows = json.loads(swept.stdout)["rows"]
    assert [row["transmissivity"] for row in rows] == pytest.approx([0.631, 0.398], abs=5e-4)
    ions = cli("link", "--plan", "plans/distributed-ions.yaml", "--link", "1", "--json")
    assert json.loads(ions.stdout)["params"]["length_km"] == pytest.approx(0.002)


def test_plan_link_out_of_range_is_one_line(cli: Runner) -> None:
    result = cli("link", "--plan", "plans/distributed-ions.yaml", "--link", "2")
    assert_one_line_error(result, 1, "the plan has 2 links")
    assert result.stderr.startswith("qorch: error: plans/distributed-ions.yaml:")


def test_plan_classical_link_is_one_line(cli: Runner) -> None:
    result = cli("link", "--plan", "plans/distributed-cut.yaml", "--link", "0")
    assert_one_line_error(result, 1, "carries no entanglement")


def test_the_sweep_plot_names_its_link_and_draws_only_what_exists(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 13 item 4: a title naming preset and scheme, axes in words with units, no
    legend entry for a line that cannot be drawn (NV's key rate is zero), sensible limits."""
    import matplotlib.pyplot as plt

    from qorch.workloads.distributed.link import evaluate
    from qorch.workloads.distributed.linktool import link_params, preset_link, sweep_figure

    plot = tmp_path / "nv.png"
    result = cli(
        "link", "--preset", "nv-centre", "--sweep", "length_km=1:50:6", "--plot", str(plot)
    )
    assert result.returncode == 0, result.stderr
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = []
    for km in (1.0, 25.0, 50.0):
        params = link_params(preset_link("nv-centre"), {"length_km": km})
        rows.append({"length_km": km, **evaluate(params).as_dict()})
    figure = sweep_figure("length_km", rows, "nv-centre link (single-click scheme)")
    rate, fidelity = figure.axes
    assert (
        "nv-centre" in figure._suptitle.get_text() and "single-click" in figure._suptitle.get_text()
    )
    assert fidelity.get_xlabel() == "length (km)"
    legend = rate.get_legend()
    assert [text.get_text() for text in legend.get_texts()] == [
        "Bell-pair rate",
        "PLOB bound (repeaterless)",
    ]
    assert "BBM92 key rate" in legend.get_title().get_text()  # said, not drawn
    highest = max(row["plob_rate_hz"] for row in rows)
    assert rate.get_ylim()[0] >= highest / 10**12 * 0.999  # twelve decades, not to 1e-21 Hz
    assert fidelity.get_ylim()[0] <= 0.5 and fidelity.get_ylim()[1] >= 1.0  # 0.63 seen as such
    plt.close(figure)
