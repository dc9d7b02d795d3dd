"""Crashes, kills and overlapping invocations: runs resume and no job is submitted twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qorch.contract.errors import CredentialsError
from qorch.contract.provider import Handle, JobRequest
from qorch.engine import execution, interrupt, localjob, registry, runner
from qorch.engine.planfile import load_plan
from qorch.engine.session import prepare_run
from qorch.local import LocalProvider
from qorch.store.lock import file_lock
from qorch.store.state import StateStore

pytestmark = pytest.mark.detached_workers  # kills, restarts and concurrent qorch processes

linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")

SLOW_PLAN = """
version: 1
kind: circuits
name: slow
shots: 200
circuits:
  - {name: ghz3, generator: ghz, qubits: 3}
  - {name: ghz4, generator: ghz, qubits: 4}
  - {name: qft3, generator: qft, qubits: 3, value: 5}
targets:
  - target: local:aer
    options: {queue_delay_s: DELAY}
"""


def job_statuses(state_dir: Path) -> list[str]:
    """Job statuses straight from the state database (read-only)."""
    if not (state_dir / "state.db").exists():
        return []
    with sqlite3.connect(f"file:{state_dir / 'state.db'}?mode=ro", uri=True) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT status FROM jobs ORDER BY idx")]
        except sqlite3.OperationalError:
            return []


def assert_each_job_ran_once(state_dir: Path, expected_jobs: int) -> None:
    """One job directory per job, each claimed by exactly one worker, each with a result."""
    job_dirs = sorted(
        path for path in (state_dir / "jobs").iterdir() if path.name.startswith("qorch-")
    )
    assert len(job_dirs) == expected_jobs, [p.name for p in job_dirs]
    for directory in job_dirs:
        assert claim_pid(directory) is not None, "the claim names the worker that ran the job"
        assert (directory / "result.json").exists()
        assert not (directory / "error.json").exists()
        deaths = read_attempts(directory)
        moved = sorted(death["claim"] for death in deaths if death["claim"])
        assert moved == sorted(p.name for p in directory.glob("claim.*")), "dead claims recorded"
        log = (directory / "worker.log").read_text()
        assert log.count("result written") == 1, log
        assert "discarded" not in log, log


def claim_pid(directory: Path, name: str = "claim") -> int | None:
    """The pid in a claim file, in either format (a bare pid, or JSON with ``pid``)."""
    try:
        text = (directory / name).read_text().strip()
    except FileNotFoundError:
        return None
    if not text:
        return None
    if text.isdigit():
        return int(text)
    return int(json.loads(text)["pid"])


def read_attempts(directory: Path) -> list[dict[str, Any]]:
    """The dead attempts recorded in a job directory (none if no worker died)."""
    path = directory / "attempts.json"
    return list(json.loads(path.read_text())["deaths"]) if path.exists() else []


def test_sigkill_mid_run_then_rerun_completes_without_resubmitting(
    cli, make_plan: Callable[..., Path], state_dir: Path
) -> None:
    plan = make_plan(SLOW_PLAN.replace("DELAY", "1.5"))  # in flight when the kill lands
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "QORCH_LOCAL_WORKERS": "3"}
    first = subprocess.Popen(
        [sys.executable, "-m", "qorch", "run", str(plan), "--json", "--poll", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    in_flight_states = {"submitted", "queued", "running"}
    while not (
        len(job_statuses(state_dir)) == 3 and set(job_statuses(state_dir)) <= in_flight_states
    ):
        assert time.monotonic() < deadline, job_statuses(state_dir)
        assert first.poll() is None, first.communicate()
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    in_flight = [
        path for path in (state_dir / "jobs").glob("qorch-*") if not (path / "result.json").exists()
    ]
    assert in_flight, "the kill must land while jobs are still running"

    second = cli("run", str(plan), "--json")  # the same command, in this process
    assert second.returncode == 0, second.stderr
    assert "resuming" in second.stderr
    data = json.loads(second.stdout)
    assert data["status"] == "completed"
    assert [job["status"] for job in data["jobs"]] == ["done"] * 3
    assert data["jobs"][2]["counts"] == {"101": 200}
    runs = json.loads(cli("status", "--json").stdout)
    assert len(runs) == 1
    assert_each_job_ran_once(state_dir, 3)


def test_simultaneous_submits_create_one_run(
    make_plan: Callable[..., Path], state_dir: Path, cli
) -> None:
    """Three real ``qorch submit`` processes at once; then status and results here."""
    plan = make_plan(SLOW_PLAN.replace("DELAY", "0"))
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir)}
    command = [sys.executable, "-m", "qorch", "submit", str(plan)]
    procs = [
        subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outputs = [proc.communicate(timeout=120) for proc in procs]
    assert all(proc.returncode == 0 for proc in procs), outputs
    run_ids = {out.strip() for out, _ in outputs}
    assert len(run_ids) == 1, outputs
    runs = json.loads(cli("status", "--json").stdout)
    assert [run["run_id"] for run in runs] == list(run_ids)
    done = cli("results", run_ids.pop(), "--json")
    deadline = time.monotonic() + 120
    while done.returncode == 3 and time.monotonic() < deadline:
        time.sleep(0.3)
        done = cli("results", "latest", "--json")
    assert done.returncode == 0, done.stderr
    assert_each_job_ran_once(state_dir, 3)


def test_crash_between_provider_call_and_handle_is_recovered(
    make_plan: Callable[..., Path], state_dir: Path, monkeypatch
) -> None:
    """A job whose provider call succeeded but whose handle was never recorded."""
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = make_plan(SLOW_PLAN.replace("DELAY", "0"))
    ctx, created = prepare_run(plan, idem_key=None, new=False, notify=lambda _: None)
    assert created
    job = ctx.store.jobs(ctx.run.run_id)[0]
    assert ctx.store.mark_submitting(job.run_id, job.idx)
    request = runner._request(ctx, job)
    execution.submit(registry.load("local"), request)  # the call that "crashed" after
    ctx.store.close()

    ctx, created = prepare_run(plan, idem_key=None, new=False, notify=lambda _: None)
    assert not created
    runner.submit_pending(ctx)
    assert runner.wait(ctx, timeout_s=120, poll_s=0.2)
    assert [j.status for j in ctx.store.jobs(ctx.run.run_id)] == ["done"] * 3
    assert_each_job_ran_once(state_dir, 3)


def test_same_key_resumes_new_starts_fresh(
    make_plan: Callable[..., Path], state_dir: Path, cli
) -> None:
    plan = make_plan(SLOW_PLAN.replace("DELAY", "0"))
    first = cli("submit", str(plan), "--idempotency-key", "2026-11-20")
    again = cli("submit", str(plan), "--idempotency-key", "2026-11-20")
    fresh = cli("submit", str(plan), "--idempotency-key", "2026-11-20", "--new")
    other = cli("submit", str(plan), "--idempotency-key", "2026-11-21")
    ids = [result.stdout.strip() for result in (first, again, fresh, other)]
    assert ids[0] == ids[1]
    assert len(set(ids)) == 3
    after = cli("submit", str(plan), "--idempotency-key", "2026-11-20")
    assert after.stdout.strip() == ids[2], "a plain submit returns the latest run of the key"


def test_changed_plan_under_same_key_is_refused(make_plan: Callable[..., Path], cli) -> None:
    plan = make_plan(SLOW_PLAN.replace("DELAY", "0"))
    assert cli("submit", str(plan), "-k", "nightly").returncode == 0
    plan.write_text(plan.read_text().replace("shots: 200", "shots: 300"))
    result = cli("submit", str(plan), "-k", "nightly")
    assert result.returncode == 1
    assert "different version of the plan" in result.stderr and "--new" in result.stderr


def test_loaded_plan_hash_ignores_formatting(make_plan: Callable[..., Path]) -> None:
    a = make_plan(SLOW_PLAN.replace("DELAY", "0"), name="a.yaml")
    b = make_plan("# a comment\n" + SLOW_PLAN.replace("DELAY", "0"), name="b.yaml")
    assert load_plan(a).canonical_hash() == load_plan(b).canonical_hash()


# issue 9: workers that die, jobs left half-submitted, moved projects ------------

ONE_JOB = """
version: 1
kind: circuits
name: one
shots: 100
seed: 3
circuits:
  - {name: ghz2, generator: ghz, qubits: 2}
  - {name: ghz3, generator: ghz, qubits: 3}
targets:
  - target: TARGET
    options: {queue_delay_s: DELAY}
"""


def one_job_plan(make_plan: Callable[..., Path], delay: float, circuits: int = 1) -> Path:
    """A plan of ``circuits`` (1 or 2) GHZ jobs on local:statevector, each waiting ``delay`` s."""
    text = ONE_JOB.replace("TARGET", "local:statevector").replace("DELAY", str(delay))
    if circuits == 1:
        text = text.replace("  - {name: ghz3, generator: ghz, qubits: 3}\n", "")
    return make_plan(text)


@pytest.fixture(autouse=True)
def stop_workers(tmp_path: Path) -> Iterator[None]:
    """Ask every worker started under the test's directory to stop when the test ends."""
    yield
    for directory in tmp_path.glob("**/qorch-*"):
        if directory.is_dir() and (directory / "request.json").exists():
            (directory / "cancel").touch()


def job_dirs(state_dir: Path) -> list[Path]:
    return sorted(path for path in (state_dir / "jobs").glob("qorch-*") if path.is_dir())


def wait_for(predicate: Callable[[], Any], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    pytest.fail(f"timed out after {timeout_s} s waiting for {what}")


def running(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return fields[0] != "Z"


def live_worker(directory: Path, timeout_s: float = 20.0, besides: tuple[int, ...] = ()) -> int:
    """The pid of the worker that claimed the job in ``directory`` (not one of ``besides``)."""

    def found() -> int | None:
        pid = claim_pid(directory)
        return pid if pid is not None and pid not in besides and running(pid) else None

    return int(wait_for(found, timeout_s, f"a worker to claim {directory.name}"))


def kill_worker(pid: int) -> None:
    """SIGKILL a worker (as the OOM killer would) and wait until it is gone."""
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not running(pid), 10, f"worker {pid} to die")


def set_job(state_dir: Path, idx: int, **columns: Any) -> None:
    """Overwrite columns of a job row (to recreate what older qorch versions left)."""
    assignments = ", ".join(f"{name} = ?" for name in columns)
    with sqlite3.connect(state_dir / "state.db") as conn:
        conn.execute(f"UPDATE jobs SET {assignments} WHERE idx = ?", (*columns.values(), idx))


def one_json(result: Any) -> dict[str, Any]:
    return dict(json.loads(result.stdout))


@linux_only
def test_sigkilled_worker_is_retried_on_resume(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    """Item 5: a worker killed by the OOM killer is not a failed job: the next run retries it."""
    plan = one_job_plan(make_plan, delay=2)
    run_id = cli("submit", str(plan)).stdout.strip()
    directory = job_dirs(state_dir)[0]
    kill_worker(live_worker(directory))

    seen = cli("status", run_id, "--json")
    job = one_json(seen)["jobs"][0]
    assert seen.returncode == 3, (seen.returncode, job)  # not finished: the next run retries it
    assert "died" in job["message"] and "attempt 1 of 3" in job["message"], job

    again = cli("run", str(plan), "--json", "--poll", "0.2")
    assert again.returncode == 0, again.stderr
    assert sum(one_json(again)["jobs"][0]["counts"].values()) == 100
    deaths = read_attempts(directory)
    assert len(deaths) == 1 and "killed" in deaths[0]["reason"], deaths
    assert deaths[0]["reason"] in (directory / "worker.log").read_text()
    assert_each_job_ran_once(state_dir, 1)


@linux_only
def test_worker_that_dies_three_times_fails_with_its_reasons(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    """Item 5: retries are bounded; the last message says how often and where to look."""
    plan = one_job_plan(make_plan, delay=5)
    run_id = cli("submit", str(plan)).stdout.strip()
    directory = job_dirs(state_dir)[0]
    killed: tuple[int, ...] = ()
    for attempt in (1, 2, 3):
        pid = live_worker(directory, besides=killed)
        kill_worker(pid)
        killed += (pid,)
        if attempt < 3:
            assert cli("submit", str(plan)).returncode == 0  # resume: restarts the worker
    final = cli("status", run_id, "--json")
    job = one_json(final)["jobs"][0]
    assert final.returncode == 4, job
    assert job["status"] == "failed"
    assert "worker died 3 times" in job["message"] and "worker.log" in job["message"], job
    assert cli("run", str(plan), "--json").returncode == 4
    assert claim_pid(directory) is None, "no fourth worker was started"
    assert len(read_attempts(directory)) == 3
    assert (directory / "worker.log").read_text().count("died") >= 3


@linux_only
def test_job_failed_for_a_dead_worker_by_older_qorch_is_retried(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    """Item 5: runs left 'failed' by a dead worker under older qorch complete on re-run."""
    plan = one_job_plan(make_plan, delay=2)
    cli("submit", str(plan))
    directory = job_dirs(state_dir)[0]
    pid = live_worker(directory)
    kill_worker(pid)
    (directory / "claim").write_text(str(pid))  # the old claim format: a bare pid
    set_job(state_dir, 0, status="failed", message=f"worker {pid} died; see {directory}/worker.log")
    again = cli("run", str(plan), "--json", "--poll", "0.2")
    assert again.returncode == 0, again.stderr
    assert one_json(again)["status"] == "completed"
    assert len(read_attempts(directory)) == 1


def test_job_whose_circuit_fails_is_not_retried(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    """Item 5: a real failure (error.json) is final: no retry, the error is shown."""
    plan = one_job_plan(make_plan, delay=0)
    first = cli("run", str(plan), "--json", "--poll", "0.2")
    assert first.returncode == 0
    directory = job_dirs(state_dir)[0]
    (directory / "result.json").unlink()
    (directory / "error.json").write_text(json.dumps({"message": "QiskitError: bad circuit"}))
    set_job(state_dir, 0, status="running", result_file=None)
    again = cli("run", str(plan), "--json", "--poll", "0.2")
    assert again.returncode == 4
    job = one_json(again)["jobs"][0]
    assert job["status"] == "failed" and "bad circuit" in job["message"]
    assert not read_attempts(directory) and not (directory / "result.json").exists()


def test_cancel_of_a_job_left_submitting_cancels_it_at_the_provider(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, monkeypatch
) -> None:
    """Item 3: the provider accepted the job but the process died before recording its
    handle. Cancel must find the job by its token and cancel it there."""
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = one_job_plan(make_plan, delay=30)
    ctx, _ = prepare_run(plan, idem_key=None, new=False, notify=lambda _: None)
    job = ctx.store.jobs(ctx.run.run_id)[0]
    assert ctx.store.mark_submitting(job.run_id, job.idx)
    execution.submit(registry.load("local"), runner._request(ctx, job))  # accepted; then the crash
    run_id = ctx.run.run_id
    ctx.store.close()

    cancelled = cli("cancel", run_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    record = one_json(cancelled)["jobs"][0]
    assert record["status"] == "cancelled" and record["job_id"] == job.token, record
    directory = job_dirs(state_dir)[0]
    assert (directory / "cancel").exists(), "the provider's job was asked to cancel"
    wait_for(lambda: not any(running(p) for p in [claim_pid(directory) or 0] if p), 10,
             "the worker to stop")  # fmt: skip
    assert not (directory / "result.json").exists()


def test_cancel_of_a_pending_job_needs_no_provider(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, monkeypatch
) -> None:
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = one_job_plan(make_plan, delay=30)
    ctx, _ = prepare_run(plan, idem_key=None, new=False, notify=lambda _: None)
    run_id = ctx.run.run_id
    ctx.store.close()
    cancelled = cli("cancel", run_id, "--json")
    assert cancelled.returncode == 0, cancelled.stderr
    assert [job["status"] for job in one_json(cancelled)["jobs"]] == ["cancelled"]
    assert not job_dirs(state_dir)


def test_cancel_waits_for_the_submission_lock(
    make_plan: Callable[..., Path], state_dir: Path, monkeypatch
) -> None:
    """Item 3: cancel recovers and cancels under the run's submission lock, like submit."""
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = one_job_plan(make_plan, delay=30)
    ctx, _ = prepare_run(plan, idem_key=None, new=False, notify=lambda _: None)
    run_id = ctx.run.run_id
    ctx.store.close()
    done: list[list[str]] = []

    def cancel_in_thread() -> None:
        store = StateStore(state_dir)
        done.append(runner.cancel(runner.attach(store, run_id)))
        store.close()

    with file_lock(state_dir / "locks" / f"{run_id}.lock"):
        thread = threading.Thread(target=cancel_in_thread)
        thread.start()
        thread.join(1.0)
        assert thread.is_alive(), "cancel did not wait for the submitter's lock"
    thread.join(30)
    assert done == [[]]


@linux_only
def test_cancel_from_a_script_with_an_empty_claim_spares_the_script(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, tmp_path: Path
) -> None:
    """Item 4: `qorch cancel` in a cron script must not SIGTERM its own process group."""
    plan = one_job_plan(make_plan, delay=30)
    run_id = cli("submit", str(plan)).stdout.strip()
    directory = job_dirs(state_dir)[0]
    kill_worker(live_worker(directory))
    (directory / "claim").write_text("")  # killed between creating the claim and writing it
    script = f'"{sys.executable}" -m qorch cancel {run_id} --json > out.json; echo "survived $?"'
    env = {**os.environ, "QORCH_STATE_DIR": str(state_dir), "CI": "true"}
    shell = subprocess.run(
        ["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
        start_new_session=True, timeout=120,
    )  # fmt: skip
    assert "survived 0" in shell.stdout, (shell.returncode, shell.stdout, shell.stderr)
    assert json.loads((tmp_path / "out.json").read_text())["jobs"][0]["status"] == "cancelled"


@linux_only
def test_empty_claim_left_by_a_dead_worker_is_restarted_by_the_next_run(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path
) -> None:
    """Items 4, 5: a worker that died with an empty claim no longer leaves the job queued."""
    plan = one_job_plan(make_plan, delay=2)
    cli("submit", str(plan))
    directory = job_dirs(state_dir)[0]
    kill_worker(live_worker(directory))
    claim = directory / "claim"
    claim.write_text("")
    old = time.time() - 3600
    os.utime(claim, (old, old))
    again = cli("run", str(plan), "--json", "--poll", "0.2", "--timeout", "40")
    assert again.returncode == 0, again.stderr
    assert "empty" in read_attempts(directory)[0]["reason"]


def test_moved_project_keeps_its_local_jobs(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, tmp_path: Path
) -> None:
    """Item 6: handles name job directories relative to the state directory; handles of
    older qorch (absolute paths) are still read after the project moved."""
    plan = one_job_plan(make_plan, delay=0, circuits=2)
    bundle = tmp_path / "bundle"
    assert cli("compile", str(plan), "-o", str(bundle)).returncode == 0
    run_id = cli("submit", str(bundle)).stdout.strip()
    with sqlite3.connect(state_dir / "state.db") as conn:
        handles = [json.loads(row[0]) for row in conn.execute("SELECT handle FROM jobs")]
    assert all(not Path(handle["dir"]).is_absolute() for handle in handles), handles
    directories = job_dirs(state_dir)
    wait_for(lambda: all((d / "result.json").exists() for d in directories), 60, "results")
    old_style = {**handles[0], "dir": str(directories[0].resolve())}
    set_job(state_dir, 0, handle=json.dumps(old_style))

    moved = tmp_path / "moved"
    state_dir.rename(moved)
    done = cli("results", run_id, "--json", env={"QORCH_STATE_DIR": str(moved)})
    assert done.returncode == 0, done.stderr
    assert [sum(job["counts"].values()) for job in one_json(done)["jobs"]] == [100, 100]


class FlakyProvider(LocalProvider):
    """A cloud provider behind a login (its "cloud" runs jobs in local workers): submission
    raises CredentialsError while broken."""

    name = "flaky"

    def __init__(self) -> None:
        self.broken = True
        self.calls: list[tuple[str, str]] = []

    def device_is_local(self, name: str) -> bool:
        return False

    def submit(self, request: JobRequest) -> Handle:
        self.calls.append(("submit", request.token))
        if self.broken:
            raise CredentialsError("no credentials for flaky; set FLAKY_TOKEN")
        return localjob.submit(request, "local")

    def recover(self, request: JobRequest) -> Handle | None:
        self.calls.append(("recover", request.token))
        return localjob.recover(request, "local")


def test_failed_first_submission_fails_the_run_and_the_next_run_retries(
    cli: Callable[..., Any], make_plan: Callable[..., Path], state_dir: Path, monkeypatch
) -> None:
    """Item 7: nothing submitted → the run is 'failed' with the reason, exit 1, not exit 3
    for ever; the next run asks the provider for the job first, then submits it."""
    flaky = FlakyProvider()
    real_load = registry.load
    monkeypatch.setattr(
        registry, "load", lambda name: flaky if name == "flaky" else real_load(name)
    )
    plan = make_plan(ONE_JOB.replace("TARGET", "flaky:statevector").replace("DELAY", "0"))
    first = cli("run", str(plan))
    assert first.returncode == 1, first.stderr
    assert "FLAKY_TOKEN" in first.stderr and "again" in first.stderr, first.stderr
    assert "Traceback" not in first.stderr
    listed = json.loads(cli("status", "--json").stdout)
    assert [run["status"] for run in listed] == ["failed"]
    run_id = listed[0]["run_id"]
    shown = cli("status", run_id, "--json")
    assert shown.returncode not in (0, 3), shown.returncode
    data = one_json(shown)
    assert data["status"] == "failed"
    assert all(job["status"] == "failed" and job["message"] for job in data["jobs"]), data
    assert "FLAKY_TOKEN" in data["jobs"][0]["message"]
    results = cli("results", run_id)
    assert results.returncode not in (0, 3), results.returncode
    assert "run the same command again, or" not in results.stderr

    flaky.broken = False
    flaky.calls.clear()
    second = cli("run", str(plan), "--json", "--poll", "0.2")
    assert second.returncode == 0, second.stderr
    assert one_json(second)["status"] == "completed"
    first_job = [call for call in flaky.calls if call[1].endswith("-0000")]
    assert first_job[:2] == [("recover", first_job[0][1]), ("submit", first_job[0][1])]
    assert sum(1 for call in flaky.calls if call[0] == "submit") == 2
    assert len(job_dirs(state_dir)) == 2


def test_braket_cloud_device_without_credentials_fails_the_run(
    cli: Callable[..., Any], make_plan: Callable[..., Path], tmp_path: Path
) -> None:
    """Item 7 on the real plugin: braket:sv1 with no AWS credentials anywhere."""
    pytest.importorskip("qorch_braket")
    nowhere = str(tmp_path / "no-aws")
    env: dict[str, str | None] = {name: None for name in os.environ if name.startswith("AWS_")}
    env.update(
        AWS_SHARED_CREDENTIALS_FILE=nowhere, AWS_CONFIG_FILE=nowhere,
        AWS_EC2_METADATA_DISABLED="true", HOME=str(tmp_path),
    )  # fmt: skip
    plan = make_plan(ONE_JOB.replace("TARGET", "braket:sv1").replace(
        "    options: {queue_delay_s: DELAY}\n", ""))  # fmt: skip
    first = cli("run", str(plan), env=env)
    assert first.returncode == 1, first.stderr
    assert "credentials" in first.stderr.lower()
    listed = json.loads(cli("status", "--json", env=env).stdout)
    assert [run["status"] for run in listed] == ["failed"]
    assert cli("results", listed[0]["run_id"], env=env).returncode not in (0, 3)
    again = cli("run", str(plan), env=env)
    assert again.returncode == 1 and "credentials" in again.stderr.lower()


def test_swallowed_ctrl_c_stops_before_any_submission_and_any_wait(
    make_plan: Callable[..., Path], state_dir: Path, monkeypatch
) -> None:
    """A Ctrl-C whose KeyboardInterrupt was swallowed (only the flag remains) still stops
    the run before it submits a job, and at the next poll."""
    monkeypatch.setenv("QORCH_STATE_DIR", str(state_dir))
    plan = one_job_plan(make_plan, delay=0, circuits=2)
    ctx, _ = prepare_run(plan, idem_key=None, new=False, notify=lambda _: None)
    interrupt._interrupted.set()
    try:
        with pytest.raises(KeyboardInterrupt):
            runner.submit_pending(ctx)
        assert [job.status for job in ctx.store.jobs(ctx.run.run_id)] == ["pending"] * 2
        assert not job_dirs(state_dir)
        interrupt.reset()
        runner.submit_pending(ctx)
        interrupt._interrupted.set()
        with pytest.raises(KeyboardInterrupt):
            runner.wait(ctx, timeout_s=60, poll_s=0.1)
    finally:
        interrupt.reset()
    assert runner.wait(ctx, timeout_s=60, poll_s=0.1)
