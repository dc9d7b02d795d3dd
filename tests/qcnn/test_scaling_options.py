"""Tabular data may be standardised before PCA, and angle scaling is per feature or the
reference's single global range (issue 13, item 3); plans without them keep their hash."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

PLAN = """
version: 1
kind: qcnn
seed: 2
data: {source: sklearn:breast_cancer, classes: [0, 1]EXTRA}
model: {ansatz: so4, encoding: angle}
train: {steps: 3}
baselines: []
"""


def features(cli, make_plan: Callable[..., Path], extra: str, name: str) -> dict:
    result = cli("run", str(make_plan(PLAN.replace("EXTRA", extra), name=name)), "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["features"]


def test_standardize_spreads_the_variance_over_components(cli, make_plan) -> None:
    raw = features(cli, make_plan, "", "raw.yaml")
    standardised = features(cli, make_plan, ", standardize: true", "std.yaml")
    assert raw["explained_variance_ratio"][0] > 0.9  # one feature's units dominate PC1
    assert standardised["explained_variance_ratio"][0] < 0.6
    assert (raw["standardized"], standardised["standardized"]) == (False, True)
    assert raw["scaling"] == standardised["scaling"] == "angle"


def test_global_angle_scaling_is_the_reference_codes(cli, make_plan) -> None:
    shown = features(cli, make_plan, ", angle_scaling: global", "global.yaml")
    assert shown["scaling"] == "angle-global" and shown["range"] == [0.0, 3.141592653589793]


def test_plans_without_the_new_fields_keep_their_hash(make_plan) -> None:
    from qorch import api

    plain = api.load(make_plan(PLAN.replace("EXTRA", ""), name="a.yaml"))
    spelled = api.load(make_plan(PLAN.replace(
        "EXTRA", ", standardize: false, angle_scaling: per-feature"), name="b.yaml"))  # fmt: skip
    assert plain.canonical_hash() == spelled.canonical_hash()
    assert "standardize" not in json.dumps(plain.plan.model_dump(mode="json"))
