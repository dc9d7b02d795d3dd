"""``qorch results --csv FILE --plot FILE.png``: counts as a table and as histograms.

One small run is made once for the module (its tests only read it); the plot's
pieces (panels, ideal distributions) are also checked on their own."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from qorch.engine import countsplot, ideals
from qorch.engine.manifest import ManifestJob
from tests.conftest import InProcessCli, cli_in

PLAN = """
version: 1
kind: circuits
name: export
shots: 300
seed: 9
circuits:
  - {name: bell, generator: ghz, qubits: 2}
  - {name: qft3, generator: qft, qubits: 3, value: 6}
targets:
  - local:statevector
  - local:aer
"""


@dataclass(frozen=True)
class ExportRun:
    cli: InProcessCli
    run_id: str
    data: dict
    out: Path


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> ExportRun:
    base = tmp_path_factory.mktemp("export")
    (base / "plan.yaml").write_text(PLAN)
    (base / "out").mkdir()
    cli = cli_in(base / "state")
    done = cli("run", str(base / "plan.yaml"), "--json", "--poll", "0.1")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    return ExportRun(cli, data["run_id"], data, base / "out")


def test_csv_has_a_header_every_count_and_a_stable_order(run: ExportRun) -> None:
    target = run.out / "counts.csv"
    got = run.cli("results", run.run_id, "--csv", str(target))
    assert got.returncode == 0, got.stderr
    assert f"counts (CSV): {target}" in got.stderr
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert rows[0] == ["run", "job", "circuit", "target", "outcome", "count", "probability",
                       "parameter_set"]  # fmt: skip
    body = rows[1:]
    keys = [(int(r[1]), r[4]) for r in body]
    assert keys == sorted(keys)  # jobs by #, outcomes by bit string
    for job in run.data["jobs"]:
        mine = [r for r in body if int(r[1]) == job["index"]]
        assert {r[4]: int(r[5]) for r in mine} == job["counts"]
        assert {(r[0], r[2], r[3]) for r in mine} == {(run.run_id, job["circuit"], job["target"])}
        assert sum(float(r[6]) for r in mine) == pytest.approx(1.0, abs=1e-5)
    again = run.out / "again.csv"
    run.cli("results", run.run_id, "--csv", str(again))
    assert again.read_bytes() == target.read_bytes()
    assert sorted(p.name for p in run.out.iterdir() if p.name.startswith(".")) == []  # no temp


def test_plot_writes_a_png_and_names_it(run: ExportRun) -> None:
    target = run.out / "counts.png"
    got = run.cli("results", run.run_id, "--plot", str(target), "--top", "4")
    assert got.returncode == 0, got.stderr
    assert f"counts plot: {target}" in got.stderr
    from matplotlib import image

    pixels = image.imread(str(target))
    height, width = pixels.shape[:2]
    assert width >= 800 and height >= 2 * 300  # two circuits: two panels stacked


def test_a_missing_output_directory_is_refused_before_any_work(run: ExportRun) -> None:
    for flag in ("--plot", "--csv"):
        missing = run.out / "nowhere" / "x.out"
        got = run.cli("results", run.run_id, flag, str(missing))
        assert got.returncode == 2
        assert got.stderr.strip().splitlines() == [
            f"qorch: error: cannot write {missing}: directory {missing.parent} does not exist"
        ]
        assert got.stdout == ""
    got = run.cli("results", run.run_id, "--plot", str(run.out), "--json")
    assert got.returncode == 2 and "is a directory" in json.loads(got.stdout)["error"]["message"]


def test_ideal_comes_from_the_smallest_payload_without_its_idle_qubits(tmp_path: Path) -> None:
    from qiskit import QuantumCircuit, qpy, transpile
    from qiskit.transpiler import CouplingMap

    circuit = QuantumCircuit(3, 3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.x(2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    wide = transpile(circuit, coupling_map=CouplingMap.from_line(30), initial_layout=[4, 5, 17],
                     basis_gates=["rz", "sx", "ecr", "x"], seed_transpiler=1)  # fmt: skip
    assert wide.num_qubits == 30  # too wide to simulate as it is
    buffer = io.BytesIO()
    qpy.dump(wide, buffer)
    (tmp_path / "payloads").mkdir()
    (tmp_path / "payloads" / "wide.qpy").write_bytes(buffer.getvalue())
    spec = ManifestJob(index=0, circuit="c", target="ibm:x", target_index=0, provider="ibm",
                       device="x", options={}, shots=10, seed=1, payload="payloads/wide.qpy",
                       payload_sha256="-", format="qpy", num_qubits=30, num_clbits=3,
                       measured_clbits=[0, 1, 2], depth=1, two_qubit_gates=1, gate_counts={},
                       cost_usd=0.0, cost_basis="")  # fmt: skip
    found = ideals.ideal_distributions({}, {0: (spec, tmp_path)}, ["c", "unknown"])
    assert found["c"] == pytest.approx({"100": 0.5, "111": 0.5})
    assert found["unknown"] is None
    reference = {"000": 1.0}
    assert ideals.ideal_distributions({"c": reference}, {}, ["c"])["c"] == reference


def test_panels_keep_the_top_outcomes_and_put_the_rest_in_other() -> None:
    run = {"run_id": "r", "jobs": [
        {"index": 0, "circuit": "c", "target": "a", "counts": {"00": 50, "01": 30, "10": 15,
                                                                 "11": 5}},
        {"index": 1, "circuit": "c", "target": "a", "counts": {"00": 100}},
        {"index": 2, "circuit": "d", "target": "a", "counts": [{"0": 1}, {"1": 1}]},
        {"index": 3, "circuit": "e", "target": "a", "counts": None},
    ]}  # fmt: skip
    panels, notes = countsplot.panels(run, {"c": {"00": 0.5, "11": 0.5}}, top_k=2)
    assert [p.circuit for p in panels] == ["c"]
    (panel,) = panels
    assert panel.outcomes == ["00", "11", countsplot.OTHER]  # an ideal outcome is shown
    assert list(panel.bars) == ["#0 a", "#1 a"]  # the same target twice: told apart
    assert panel.bars["#0 a"] == pytest.approx([0.5, 0.05, 0.45])
    assert panel.bars["#1 a"] == pytest.approx([1.0, 0.0, 0.0])
    assert panel.ideal == pytest.approx([0.5, 0.5, 0.0])
    assert notes == ["job 2 (d on a) ran 2 parameter sets: not plotted (see --csv)"]
    with pytest.raises(Exception, match="no counts to plot"):
        countsplot.plot_png("run r", [])


def test_a_payload_with_classical_control_has_no_ideal_and_does_not_crash(tmp_path: Path) -> None:
    """A distributed plan's program (mid-circuit measurements, classically controlled
    corrections) once crashed qiskit inside the idle-qubit removal (a Rust panic)."""
    from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, qpy

    data, extra = QuantumRegister(30, "data"), ClassicalRegister(1, "m")
    out = ClassicalRegister(2, "out")
    circuit = QuantumCircuit(data, extra, out)
    circuit.h(0)
    circuit.measure(0, extra[0])
    with circuit.if_test((extra, 1)):
        circuit.x(7)
    circuit.measure([7, 9], out)
    buffer = io.BytesIO()
    qpy.dump(circuit, buffer)
    (tmp_path / "p.qpy").write_bytes(buffer.getvalue())
    spec = ManifestJob(index=0, circuit="c", target="local:aer", target_index=0,
                       provider="local", device="aer", options={}, shots=10, seed=1,
                       payload="p.qpy", payload_sha256="-", format="qpy", num_qubits=30,
                       num_clbits=3, measured_clbits=[0, 1, 2], depth=1, two_qubit_gates=0,
                       gate_counts={}, cost_usd=0.0, cost_basis="")  # fmt: skip
    assert ideals.ideal_distributions({}, {0: (spec, tmp_path)}, ["c"]) == {"c": None}


@pytest.mark.parametrize("circuits", [1, 3, 12])
def test_the_plots_title_sits_above_its_first_panel(circuits: int) -> None:
    """On a tall figure (12 circuits: a distributed cut run) the title was drawn over the
    first panel: tight_layout left it no room."""
    run = {"run_id": "r", "jobs": [
        {"index": i, "circuit": f"c{i}", "target": "a", "counts": {"00": 60, "11": 40}}
        for i in range(circuits)
    ]}  # fmt: skip
    panels, _ = countsplot.panels(run, {}, top_k=4)
    figure = countsplot.plot_figure("run r — plan.yaml (completed)", panels)
    try:
        renderer = figure.canvas.get_renderer()
        title = figure._suptitle.get_window_extent(renderer)
        first = figure.axes[0].get_tightbbox(renderer)  # its title, legend and ticks
        assert title.y0 >= first.y1, (title, first)
        assert title.y1 <= figure.bbox.y1  # and inside the figure
    finally:
        from qorch.engine.figures import pyplot

        pyplot().close(figure)
