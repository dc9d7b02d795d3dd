"""Suite-wide defaults for every test directory (qorch's and the plugins').

Local jobs run inline (``QORCH_LOCAL_JOBS=inline``): in the test's own process,
through the same claim → execute → publish path a detached worker takes, without
a fresh interpreter and vendor SDK imports per run (the suite's largest cost).
Tests of the detached workers themselves — kills, restarts, cancel, timeouts,
concurrent ``qorch`` processes — are marked ``detached_workers`` and get the
product default.

One OpenMP/BLAS thread per process (``OMP_NUM_THREADS=1`` unless set): the suite
already runs one test per core (pytest-xdist), and Aer's, OpenBLAS's and torch's
threads on small circuits and matrices mostly spin waiting for each other and for
the other worker's core. Seeded counts are the same; tests/test_examples.py and the
reference QCNN plan took 78 CPU-s with the default threads, 44 with one.
"""

from __future__ import annotations

import os

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "detached_workers: local jobs run in detached workers (the product default)"
    )
    os.environ.setdefault("QORCH_LOCAL_JOBS", "inline")
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # before xdist starts its workers


@pytest.fixture(autouse=True)
def _detached_workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    if request.node.get_closest_marker("detached_workers") is not None:
        monkeypatch.setenv("QORCH_LOCAL_JOBS", "detached")
