"""The QCNN beside the best classical baseline, in one line, and the reason a baseline
was skipped wherever it is shown (issue 13, item 3)."""

from __future__ import annotations

from qorch.workloads.qcnn.comparison import comparison
from qorch.workloads.qcnn.views import results_view

RUN = {
    "run_id": "r", "status": "completed", "plan": "p.yaml",
    "metrics": {"test_accuracy": 0.892, "train_accuracy": 0.9, "n_params": 51,
                "train_seconds": 1.0},
    "baselines": {
        "logistic": {"test_accuracy": 0.936, "train_accuracy": 0.95, "n_params": 9},
        "mlp": {"test_accuracy": 0.91, "train_accuracy": 0.97, "n_params": 51},
        "cnn1d": {"test_accuracy": None, "train_accuracy": None, "n_params": None,
                  "skipped": True, "reason": "PyTorch not installed; pip install 'qorch[cnn]'"},
    },
}  # fmt: skip


def test_the_best_classical_baseline_is_named_beside_the_qcnn() -> None:
    found = comparison(RUN)
    assert found is not None
    assert found["line"] == "QCNN 0.892 (51 params) · best classical: logistic 0.936 (9 params)"
    assert found["best_classical"]["name"] == "logistic"


def test_a_sweep_compares_its_best_configuration_with_its_best_baseline() -> None:
    sweep = dict(RUN, sweep=[
        {"ansatz": "so4", "encoding": "angle", "loss": "mse", "optimizer": "adam",
         "n_params": 51, "test_accuracy_mean": 0.892, "test_accuracy_std": 0.043, "seeds": 5},
        {"ansatz": "su4", "encoding": "angle", "loss": "mse", "optimizer": "adam",
         "n_params": 123, "test_accuracy_mean": 0.85, "test_accuracy_std": 0.01, "seeds": 5},
    ], sweep_baselines={"mlp [angle]": {"n_params": 51, "seeds": 5, "test_accuracy_mean": 0.936,
                                        "test_accuracy_std": 0.01}})  # fmt: skip
    found = comparison(sweep)
    assert found is not None
    assert found["line"] == ("QCNN so4/angle/mse 0.892 ± 0.043 (51 params) · "
                             "best classical: mlp [angle] 0.936 ± 0.010 (51 params)")  # fmt: skip


def test_no_baseline_run_says_so_and_no_training_says_nothing() -> None:
    alone = comparison(dict(RUN, baselines={}))
    assert alone is not None and alone["line"].endswith("best classical: none run")
    assert comparison(dict(RUN, metrics=None)) is None


def test_the_table_shows_why_a_baseline_was_skipped() -> None:
    data = dict(RUN, comparison=comparison(RUN))
    view = results_view(data)
    (row,) = [row for row in view.tables[0].rows if row[0] == "cnn1d"]
    assert row[2] == "skipped: PyTorch not installed; pip install 'qorch[cnn]'"
    assert "None" not in map(str, row)
    assert view.messages == [data["comparison"]["line"]]


def test_the_loss_axis_says_whether_it_sums_or_averages_the_batch() -> None:
    from qorch.workloads.qcnn.artifacts import loss_label

    assert loss_label("cross-entropy", "reference").endswith("sum over the batch")
    assert loss_label("mse", "reference").endswith("mean over the batch")
    assert loss_label("mse", "sum") == "training loss: mse, sum over the batch"


def test_a_parameter_matched_baseline_says_how_close_it_is() -> None:
    from qorch.workloads.qcnn.views import params_cell

    assert params_cell(51, 51) == "51 (= QCNN)"
    assert params_cell(53, 51) == "53 (+2 vs QCNN 51)"
    assert params_cell(259, 51) == "259 (not matched: QCNN 51; no width fits these inputs)"
    assert params_cell(9, None) == 9  # logistic regression is not sized to the QCNN
    data = dict(RUN, baselines={"mlp": dict(RUN["baselines"]["mlp"], n_params=259,
                                            target_params=51)})  # fmt: skip
    (row,) = [r for r in results_view(data).tables[0].rows if r[0] == "mlp"]
    assert row[1].startswith("259 (not matched")


def test_the_training_curves_loss_axis_fits_the_figure() -> None:
    """The loss axis's label, in one line, ran into the title of the 3.8-inch figure (seen
    in a run's training_curve.png: '… sum over the batch' under the title's text)."""
    from qorch.engine.figures import pyplot
    from qorch.workloads.qcnn.artifacts import loss_label, training_curve_figure

    label = loss_label("cross-entropy", "reference")
    figure = training_curve_figure([3.0, 2.0, 1.5], "csv:data/x.csv, a vs b: so4", label)
    try:
        renderer = figure.canvas.get_renderer()
        drawn = figure.axes[0].yaxis.label
        extent = drawn.get_window_extent(renderer)
        title = figure.axes[0].title.get_window_extent(renderer)
        assert extent.y1 <= title.y0, (extent, title)  # below the title, not into it
        assert drawn.get_text().replace("\n", " ") == label
    finally:
        pyplot().close(figure)
