"""``qorch gc``: lists, then prunes, finished runs' job directories and bundle payloads;
results only when asked; never an unfinished run; never while another qorch uses the store.

A template state directory (two finished runs sharing one bundle, and a bundle no run
uses) is made once for the module; each test prunes its own copy of it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import InProcessCli, cli_in

PLAN = """
version: 1
kind: circuits
name: gcplan
shots: 100
seed: 4
circuits:
  - {name: bell, generator: ghz, qubits: 2}
targets:
  - local:statevector
  - local:aer
"""
SLOW_PLAN = PLAN.replace("name: gcplan", "name: slow").replace(
    "  - local:aer\n", "  - target: local:aer\n    options: {queue_delay_s: 120}\n"
)


@dataclass(frozen=True)
class Template:
    base: Path
    first: str
    second: str


@dataclass(frozen=True)
class Copy:
    cli: InProcessCli
    state: Path
    first: str
    second: str
    plan: Path

    def gc(self, *args: str) -> dict:
        got = self.cli("gc", *args, "--json")
        assert got.returncode == 0, got.stderr
        return json.loads(got.stdout)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    base = tmp_path_factory.mktemp("gc")
    (base / "plan.yaml").write_text(PLAN)
    (base / "unused.yaml").write_text(PLAN.replace("gcplan", "unused"))
    cli = cli_in(base / "state")
    ids = []
    for extra in ((), ("--new",)):
        done = cli("run", str(base / "plan.yaml"), "--json", "--poll", "0.1", *extra)
        assert done.returncode == 0, done.stderr
        ids.append(json.loads(done.stdout)["run_id"])
    compiled = cli("compile", str(base / "unused.yaml"), "--json")
    assert compiled.returncode == 0, compiled.stderr
    two_days_ago = time.time() - 2 * 86400  # a fresh unused bundle is kept a day
    for manifest in (base / "state").glob("bundles/unused-*/manifest.json"):
        os.utime(manifest, (two_days_ago, two_days_ago))
    return Template(base, ids[0], ids[1])


@pytest.fixture
def copy(template: Template, tmp_path: Path, cli: InProcessCli) -> Copy:
    shutil.copytree(template.base, tmp_path / "t", symlinks=True)
    state = tmp_path / "t" / "state"
    return Copy(lambda *a: cli(*a, env={"QORCH_STATE_DIR": str(state)}), state,
                template.first, template.second, tmp_path / "t" / "plan.yaml")  # fmt: skip


def files(directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file()}


def items(report: dict) -> list[tuple[str | None, str, str]]:
    root = Path(report["state_dirs"][0]["state_dir"])
    return [(i["run_id"], i["what"], str(Path(i["path"]).relative_to(root)))
            for i in report["state_dirs"][0]["items"]]  # fmt: skip


def test_by_default_it_only_lists_what_would_go_and_its_size(copy: Copy) -> None:
    before = files(copy.state)
    report = copy.gc()
    assert report["applied"] is False and files(copy.state) == before
    found = items(report)
    for run_id in (copy.first, copy.second):
        for idx in (0, 1):
            assert (run_id, "job directories", f"jobs/qorch-{run_id}-{idx:04d}") in found
    payloads = [i for i in found if i[1] == "bundle payloads"]
    assert len(payloads) == 1 and payloads[0][2].startswith("bundles/plan-")  # shared: once
    assert next(i[2] for i in found if i[1] == "unused bundle").startswith("bundles/unused-")
    assert not any("results" in i[2] or "journal" in i[2] for i in found)
    sizes = sum(sum(p.stat().st_blocks * 512 for p in Path(copy.state, i[2]).rglob("*")
                    if p.is_file()) for i in found)  # fmt: skip
    assert report["freed_bytes"] == sizes > 0  # disk space, as du counts it
    text = copy.cli("gc")
    assert "pass --yes to remove them" in text.stderr and "would remove" in text.stdout


def test_yes_removes_them_and_the_runs_still_read(copy: Copy) -> None:
    counts = json.loads(copy.cli("results", copy.first, "--json").stdout)["jobs"]
    report = copy.gc("--yes")
    assert report["applied"] is True and report["freed_bytes"] > 0
    left = files(copy.state)
    assert not any(name.startswith(("jobs/qorch-", "bundles/unused-")) for name in left)
    assert not any("/payloads/" in name for name in left)
    bundle = next(copy.state.glob("bundles/plan-*"))
    assert (bundle / "manifest.json").is_file()  # the checks and qorch show need only it
    again = copy.cli("results", copy.first, "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["jobs"] == counts
    shown = json.loads(copy.cli("show", copy.first, "1", "--json").stdout)
    assert shown["payload_exists"] is False and shown["depth"] is not None
    assert shown["timings"]["ran_s"] is not None  # kept with the counts, not in the job dir
    assert shown["removed_by_gc"] == ["bundle payloads", "job directories"]
    assert copy.gc()["state_dirs"][0]["items"] == []  # nothing left to remove
    resumed = copy.cli("run", str(copy.plan), "--json")  # the same plan resumes its run
    assert resumed.returncode == 0, resumed.stderr
    assert any(bundle.glob("payloads/*"))  # compiled again: the bundle is whole


def test_a_run_selector_leaves_a_bundle_another_run_uses(copy: Copy) -> None:
    report = copy.gc("--run", copy.first, "--yes")
    found = items(report)
    assert {i[1] for i in found} == {"job directories"}
    assert {i[0] for i in found} == {copy.first}
    kept = report["state_dirs"][0]["kept"]
    assert kept == [{"run_id": copy.first, "reason": kept[0]["reason"]}]
    assert f"shared with run {copy.second}" in kept[0]["reason"]
    assert any(copy.state.glob(f"jobs/qorch-{copy.second}-*"))


def test_results_go_only_when_asked_and_readers_say_gc_removed_them(copy: Copy) -> None:
    copy.gc("--run", copy.first, "--include-results", "--yes")
    assert not (copy.state / "runs" / copy.first / "results").exists()
    assert (copy.state / "runs" / copy.first / "journal" / "run.json").is_file()  # kept
    got = copy.cli("results", copy.first)
    assert got.returncode == 1
    (line,) = got.stderr.strip().splitlines()
    assert f"run {copy.first}: its results were removed by 'qorch gc --include-results'" in line
    both = copy.gc("--include-results", "--yes")
    assert "bundle" in {i[1] for i in items(both)}
    assert not any(copy.state.glob("bundles/plan-*"))
    got = copy.cli("results", copy.second, "--json")
    assert got.returncode == 1
    message = json.loads(got.stdout)["error"]["message"]
    assert message.startswith(f"run {copy.second}: its bundle and results were removed by")
    listed = json.loads(copy.cli("status", "--json").stdout)
    assert {run["run_id"] for run in listed} == {copy.first, copy.second}
    shown = copy.cli("show", copy.second, "0")
    assert shown.returncode == 0 and "unknown (bundle removed by qorch gc)" in shown.stdout


def test_older_than_selects_by_when_the_run_finished(copy: Copy) -> None:
    assert copy.gc("--older-than", "3")["state_dirs"][0]["items"] == []
    old = items(copy.gc("--older-than", "1"))  # the unused bundle was written 2 days ago
    assert [what for _, what, _ in old] == ["unused bundle"]
    assert len(items(copy.gc("--older-than", "0"))) == 6
    refused = copy.cli("gc", "--older-than", "-1")
    assert refused.returncode == 2


def test_a_job_whose_result_file_is_missing_keeps_its_directory(copy: Copy) -> None:
    (copy.state / "runs" / copy.first / "results" / "0000.json").unlink()
    report = copy.gc("--run", copy.first, "--yes")
    assert (copy.state / "jobs" / f"qorch-{copy.first}-0000").is_dir()
    reasons = [k["reason"] for k in report["state_dirs"][0]["kept"]]
    assert any(r.startswith("job 0: its result file is missing") for r in reasons)
    assert copy.cli("results", copy.first).returncode == 0  # fetched again from the job


@pytest.mark.detached_workers  # a job still queued or running
def test_unfinished_runs_are_never_touched(copy: Copy, tmp_path: Path) -> None:
    slow = tmp_path / "slow.yaml"
    slow.write_text(SLOW_PLAN)
    submitted = copy.cli("submit", str(slow), "--json")
    assert submitted.returncode == 0, submitted.stderr
    run_id = json.loads(submitted.stdout)["run_id"]
    try:
        report = copy.gc("--yes")
        assert run_id not in {i["run_id"] for i in report["state_dirs"][0]["items"]}
        kept = report["state_dirs"][0]["kept"]
        assert any(k["run_id"] == run_id and k["reason"].startswith("not finished") for k in kept)
        assert (copy.state / "jobs" / f"qorch-{run_id}-0001").is_dir()
        assert any(copy.state.glob("bundles/slow-*/payloads/*"))
        assert copy.gc("--run", run_id)["state_dirs"][0]["items"] == []
    finally:
        copy.cli("cancel", run_id)


def test_yes_refuses_while_another_qorch_process_uses_the_store(copy: Copy) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\nfrom pathlib import Path\nfrom qorch.store.state import StateStore\n"
         "store = StateStore(Path(sys.argv[1]), create=False)\nprint('ready', flush=True)\n"
         "time.sleep(60)\n", str(copy.state)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        before = files(copy.state)
        got = copy.cli("gc", "--yes")
        assert got.returncode == 1
        assert got.stderr.strip().splitlines() == [
            f"qorch: error: {copy.state} is in use by another qorch process (a run, or a "
            "command reading it); nothing was removed; run 'qorch gc' again when it finishes"
        ]
        assert files(copy.state) - {"locks/store.lock"} == before - {"locks/store.lock"}
        assert copy.cli("gc").returncode == 0  # listing needs no lock
    finally:
        holder.kill()
        holder.wait()
    assert copy.cli("gc", "--yes").returncode == 0


def test_what_gc_removed_survives_a_rebuilt_store(copy: Copy) -> None:
    copy.gc("--run", copy.first, "--include-results", "--yes")
    copy.gc("--yes")
    rebuilt = copy.cli("recover", "--rebuild", "--force")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert copy.cli("results", copy.second).returncode == 0  # payloads gone, still read
    got = copy.cli("results", copy.first)
    assert got.returncode == 1 and "removed by 'qorch gc --include-results'" in got.stderr


def test_a_bundle_just_compiled_for_a_later_submit_is_kept(copy: Copy, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.yaml"
    fresh.write_text(PLAN.replace("gcplan", "fresh"))
    bundle = tmp_path / "t" / "state" / "bundles" / "fresh-by-hand"
    compiled = copy.cli("compile", str(fresh), "-o", str(bundle))
    assert compiled.returncode == 0, compiled.stderr
    report = copy.gc("--yes")
    assert not any(i[2] == "bundles/fresh-by-hand" for i in items(report))
    assert (bundle / "manifest.json").is_file()
    submitted = copy.cli("submit", str(bundle))  # what the user compiled it for
    assert submitted.returncode == 0, submitted.stderr
