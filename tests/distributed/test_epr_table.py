"""benchmarks/epr_table.py: MQT Bench rows sit between their lower bound and the naive
baseline, subsets are selectable, and a missing ``bench`` extra is one line, not a traceback."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "epr_table.py"


def _table() -> ModuleType:
    spec = importlib.util.spec_from_file_location("epr_table", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mqt_draper_row_is_between_lower_bound_and_baseline() -> None:
    pytest.importorskip("mqt.bench")
    table = _table()
    qc = table.mqt_circuit("draper", 16)
    assert set(qc.count_ops()) <= {*table.BASIS, "measure", "barrier"}
    r = table.row(qc, "draper", 2, comm=2, source="mqt.bench")
    assert (r["qubits"], r["qpus"], r["comm_qubits"]) == (16, 2, 2)
    assert r["two_qubit_gates"] > 0
    assert 0 < r["lower_bound"] <= r["epr_pairs"] <= r["baseline"]
    assert r["comm_peak"] <= 2
    assert r["disqco"] is None and r["beats_or_matches_best"] is None


def test_missing_bench_extra_is_one_line_and_exit_2(monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setitem(sys.modules, "mqt.bench", None)  # import fails as if not installed
    table = _table()
    code = table.main(["--mqt-only", "--families", "ghz", "--qubits", "16", "--qpus", "2"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.strip().splitlines() == [table.MISSING_EXTRA]
    assert "qorch[bench]" in err


def test_flags_select_a_subset_of_rows() -> None:
    table = _table()
    parse = table._parser().parse_args
    sub = table._jobs(parse(["--mqt-only", "--families", "qaoa,ghz", "--qubits", "32",
                             "--qpus", "2,8", "--comm", "2,ample"]))  # fmt: skip
    assert len(sub) == 2 * 1 * 2 * 2
    assert {(j[1], j[3], j[5]) for j in sub} == {
        (f, k, c) for f in ("qaoa", "ghz") for k in (2, 8) for c in (2, None)
    }
    published = table._jobs(parse(["--published-only"]))
    assert published and all(j[0] == "published" for j in published)
    everything = table._jobs(parse([]))
    mqt = [j for j in everything if j[0] == "mqt.bench"]
    assert len(mqt) == len(table.MQT_FAMILIES) * len(table.MQT_QUBITS) * len(table.MQT_QPUS) * 2


def test_generator_rows_cover_two_and_eight_qpus_and_beat_the_baseline() -> None:
    """qorch's own random generator (two-qubit gates, depth 2n) reaches the layered planner."""
    table = _table()
    parse = table._parser().parse_args
    rows = table._jobs(parse(["--generator-only"]))
    assert {(j[2], j[3]) for j in rows} == {(n, k) for n in (32, 64, 128) for k in (2, 8)}
    assert all(j[:2] == ("qorch", "random-2q") and j[5] == 2 for j in rows)
    scaled = table._jobs(parse(["--generator-only", "--scale"]))
    assert {(256, 2), (256, 8)} <= {(j[2], j[3]) for j in scaled}
    assert rows == [j for j in table._jobs(parse([])) if j[0] == "qorch"]
    qc = table.generator_circuit(16)
    assert qc.num_qubits == 16 and qc.depth() >= 32
    r = table.row(qc, "random-2q", 2, spare=table.GENERATOR_SPARE, comm=2, source="qorch")
    assert 0 < r["lower_bound"] <= r["epr_pairs"] < r["baseline"]


def test_unknown_family_is_an_argument_error(capsys) -> None:  # type: ignore[no-untyped-def]
    table = _table()
    with pytest.raises(SystemExit) as exc:
        table._parser().parse_args(["--families", "qaoa,shor"])
    assert exc.value.code == 2
    assert "unknown family 'shor'" in capsys.readouterr().err


def test_every_reference_figure_is_one_with_a_source() -> None:
    """Issue 14, item 7: pytket-dqc's QV-32 figure of 600 had no source that could be
    found, so it is not printed; the QFT rows keep DisQCO's and pytket-dqc's published ones."""
    table = _table()
    assert table.REFERENCES[("quantum_volume", 32, 2)] == (210, None)
    assert 600 not in {figure for pair in table.REFERENCES.values() for figure in pair}
    assert table.REFERENCES[("qft", 32, 2)] == (15, 19)
