"""Warm local workers (issue 13, the cold run): started before ``qorch run`` compiles,
they translate the plan for their providers and then run its local jobs.

Each test runs ``qorch run`` in this process with real detached workers in the
test's own directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from qorch.engine import warmpool, workerproc
from qorch.engine.plan_base import TargetSpec
from tests.conftest import InProcessCli, bundle_files

pytestmark = pytest.mark.detached_workers

PLAN = """
    version: 1
    kind: circuits
    name: warm
    shots: 200
    seed: 5
    circuits:
      - {name: ghz3, generator: ghz, qubits: 3}
    targets:
      - local:statevector
      - {target: local:aer, noise: ibm:fake_manila}
      - ibm:fake_manila
      - braket:local
"""


def _serving(jobs_dir: Path) -> list[int]:
    """Pids of warm workers serving ``jobs_dir`` (running or not yet reaped)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            args = (Path("/proc") / name / "cmdline").read_bytes().split(b"\0")
            state = (Path("/proc") / name / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if b"--serve" in args and str(jobs_dir.resolve()).encode() in args and state != "Z":
            found.append(int(name))
    return found


def _spawns(state_dir: Path) -> list[dict[str, object]]:
    jobs = sorted((state_dir / "jobs").glob("qorch-*"))
    return [json.loads((directory / "spawn").read_text()) for directory in jobs]


@pytest.fixture
def plan(make_plan: Callable[..., Path]) -> Path:
    return make_plan(PLAN)


@pytest.fixture(autouse=True)
def no_worker_left(state_dir: Path) -> Iterator[None]:
    yield
    deadline = time.monotonic() + 10
    while _serving(state_dir / "jobs") and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in _serving(state_dir / "jobs"):
        os.kill(pid, signal.SIGKILL)


def test_run_gives_local_jobs_to_workers_started_before_the_compile(
    cli: InProcessCli, plan: Path, state_dir: Path
) -> None:
    result = cli("run", str(plan), "--json")
    assert result.returncode == 0, result.stderr
    jobs = json.loads(result.stdout)["jobs"]
    assert [job["status"] for job in jobs] == ["done"] * 4
    spawns = _spawns(state_dir)
    assert all(record.get("warm") for record in spawns), spawns
    pids = [record["pid"] for record in spawns]
    # local:aer takes its noise from ibm: local and ibm share a worker; braket has its own
    assert pids[0] == pids[1] == pids[2] != pids[3]
    for directory in sorted((state_dir / "jobs").glob("qorch-*")):
        log = (directory / "worker.log").read_text()
        assert "takes the job" in log and "result written" in log


def test_warm_translation_gives_the_bundle_qorch_compile_writes(
    cli: InProcessCli, plan: Path, state_dir: Path, tmp_path: Path
) -> None:
    assert cli("run", str(plan)).returncode == 0
    [ran] = list((state_dir / "bundles").iterdir())
    assert cli("compile", str(plan), "-o", str(tmp_path / "compiled")).returncode == 0
    compiled = tmp_path / "compiled"
    assert bundle_files(ran) == bundle_files(compiled)
    for name in bundle_files(ran):
        assert (ran / name).read_bytes() == (compiled / name).read_bytes(), name


def test_a_warm_worker_that_dies_changes_nothing_but_speed(
    cli: InProcessCli, plan: Path, state_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    launch = warmpool._launch

    def launch_and_kill(providers: frozenset[str], jobs_dir: Path) -> warmpool.WarmWorker | None:
        worker = launch(providers, jobs_dir)
        assert worker is not None
        os.killpg(worker.process.pid, signal.SIGKILL)
        worker.process.wait()
        return worker

    monkeypatch.setattr(warmpool, "_launch", launch_and_kill)
    result = cli("run", str(plan), "--json")
    assert result.returncode == 0, result.stderr
    assert [job["status"] for job in json.loads(result.stdout)["jobs"]] == ["done"] * 4
    assert not any(record.get("warm") for record in _spawns(state_dir))


def test_a_translation_error_in_a_warm_worker_is_the_error_compile_gives(
    cli: InProcessCli, make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    (tmp_path / "mid.qasm").write_text(
        'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\n'
        "h q[0];\nmeasure q[0] -> c[0];\ncx q[0],q[1];\nmeasure q[1] -> c[1];\n"
    )
    plan = make_plan(
        """
        version: 1
        kind: circuits
        name: mid
        shots: 10
        circuits:
          - {name: mid, qasm: mid.qasm}
        targets:
          - local:statevector
        """
    )
    compiled = cli("compile", str(plan))
    ran = cli("run", str(plan))
    assert compiled.returncode == ran.returncode != 0
    line = [text for text in compiled.stderr.splitlines() if "statevector" in text]
    assert line and line[0] in ran.stderr, (compiled.stderr, ran.stderr)


def test_workers_that_took_no_jobs_are_stopped(
    cli: InProcessCli, make_plan: Callable[..., Path], state_dir: Path
) -> None:
    budget = "    seed: 5\n    budget: {max_total_shots: 10}\n"
    plan = make_plan(PLAN.replace("    seed: 5\n", budget))
    result = cli("run", str(plan))
    assert result.returncode != 0 and "budget" in result.stderr.lower()
    assert _serving(state_dir / "jobs") == []
    assert not (state_dir / "jobs").exists() or not list((state_dir / "jobs").glob("qorch-*"))


def test_a_warm_workers_queued_job_is_alive_to_status_and_cancelled_by_cancel(
    cli: InProcessCli, make_plan: Callable[..., Path], state_dir: Path
) -> None:
    plan = make_plan(
        """
        version: 1
        kind: circuits
        name: slow
        shots: 10
        circuits:
          - {name: ghz2, generator: ghz, qubits: 2}
        targets:
          - {target: local:statevector, options: {queue_delay_s: 60}}
        """
    )
    submitted = cli("submit", str(plan), "--json")
    assert submitted.returncode == 0, submitted.stderr
    run_id = json.loads(submitted.stdout)["run_id"]
    [record] = _spawns(state_dir)
    assert record.get("warm") and _serving(state_dir / "jobs") == [record["pid"]]
    status = cli("status", run_id, "--json")
    [job] = json.loads(status.stdout)["jobs"]
    assert job["status"] in ("queued", "running") and "died" not in json.dumps(job)
    assert cli("cancel", run_id).returncode == 0
    assert _serving(state_dir / "jobs") == []


def test_a_serving_worker_is_the_worker_of_the_jobs_in_its_directory_only(
    tmp_path: Path,
) -> None:
    (tmp_path / "jobs" / "qorch-a").mkdir(parents=True)
    line = f"python\0-m\0qorch.engine.worker\0--serve\0{tmp_path / 'jobs'}\0/tmp/log\0".encode()
    assert workerproc.serves_job(line, "qorch-a")
    assert not workerproc.serves_job(line, "qorch-b")
    assert not workerproc.names_job(line, "qorch-a")  # find_workers never matches it


def test_providers_linked_by_a_noise_model_share_a_worker() -> None:
    pairs = [("local:aer", "ibm:fake_manila"), ("ibm:fake_manila", None),
             ("braket:local", None), ("local:statevector", None)]  # fmt: skip
    specs = [TargetSpec(target=target, noise=noise) for target, noise in pairs]
    assert warmpool.provider_groups(specs) == [frozenset({"braket"}), frozenset({"ibm", "local"})]
    alone = [TargetSpec(target="local:aer", noise="ibm:fake_manila")]
    assert warmpool.provider_groups(alone) == [frozenset({"local"})]


def test_a_cold_run_leaves_the_vendor_sdks_to_the_workers(plan: Path, state_dir: Path) -> None:
    """The ``qorch`` process reads the plan, builds the circuits and writes the bundle; the
    warm workers import the SDKs, in parallel with it (before: all of them, twice)."""
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "CI": "true"}
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "qorch", "run", str(plan), "--json"],
        capture_output=True, text=True, env=env, check=True,
    )  # fmt: skip
    assert json.loads(result.stdout)["status"] == "completed"
    modules = {line.split("|")[-1].strip().split(".")[0] for line in result.stderr.splitlines()}
    assert "qiskit" in modules  # the circuits are built here
    assert not modules & {"qiskit_ibm_runtime", "qiskit_aer", "braket", "qiskit_braket_provider"}


def test_a_warm_worker_whose_qorch_died_mid_request_exits_quietly(tmp_path: Path) -> None:
    """``qorch`` killed while a translation was under way: the reply meets a broken pipe.
    The worker ends (status 0) and removes its log, with no traceback left behind."""
    from qorch.contract.provider import TargetOptions
    from qorch.engine import serve
    from qorch.testing import ghz_circuit

    worker = warmpool._launch(frozenset({"local"}), tmp_path / "jobs")
    assert worker is not None and worker.process.stdin and worker.process.stdout
    request = ("translate", "local", "translate", ghz_circuit(3), "statevector",
               TargetOptions(), 5)  # fmt: skip
    serve.write_frame(worker.process.stdin, request)
    worker.process.stdout.close()  # qorch gone: nobody reads the reply
    worker.process.stdin.close()
    assert worker.process.wait(timeout=60) == 0
    assert not worker.log.exists()
