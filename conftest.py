"""Suite-wide defaults for every test directory (qorch's and the plugins').

Local jobs run inline (``QORCH_LOCAL_JOBS=inline``): in the test's own process,
through the same claim → execute → publish path a detached worker takes, without
a fresh interpreter and vendor SDK imports per run (the suite's largest cost).
Tests of the detached workers themselves — kills, restarts, cancel, timeouts,
concurrent ``qorch`` processes — are marked ``detached_workers`` and get the
product default.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "detached_workers: local jobs run in detached workers (the product default)"
    )
    os.environ.setdefault("QORCH_LOCAL_JOBS", "inline")


@pytest.fixture(autouse=True)
def _detached_workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("detached_workers") is not None:
        monkeypatch.setenv("QORCH_LOCAL_JOBS", "detached")
