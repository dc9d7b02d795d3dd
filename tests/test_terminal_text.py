"""What a person reads on a terminal (issue 13, item 3): user text is never eaten as
rich markup, counts are plural when they should be, costs keep their digits."""

from __future__ import annotations

import pytest

from qorch.cli import output


class Screen:
    """What a terminal showed on stdout and stderr."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def getvalue(self) -> str:
        captured = self.capsys.readouterr()
        return captured.out + captured.err


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Screen:
    """stdout and stderr as a wide terminal: rich renders tables and bars."""
    monkeypatch.setattr(output, "is_tty", lambda stream: True)
    monkeypatch.setenv("COLUMNS", "120")
    return Screen(capsys)


def test_user_text_in_a_table_is_not_read_as_markup(terminal: Screen) -> None:
    output.emit_table(["model [kind]", "accuracy"], [["logistic [amplitude]", 0.9], ["[b]x", 1]],
                      title="baselines [sweep]")  # fmt: skip
    shown = terminal.getvalue()
    for text in ("logistic [amplitude]", "[b]x", "model [kind]", "baselines [sweep]"):
        assert text in shown, shown


def test_a_long_value_on_a_narrow_terminal_wraps_and_is_never_cut(
    terminal: Screen, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`qorch show` on 100 columns cut a payload path to 'payloads/002-ghz5-lo…': a path
    a person copies must be whole (folded over lines, not ellipsised)."""
    monkeypatch.setenv("COLUMNS", "60")
    path = "project/.qorch/bundles/my-plan-a342d4bd54dd/payloads/002-ghz5-local-aer.qpy"
    output.emit_table(["field", "value"], [["payload", path], ["job id", "qorch-2026-0002"]])
    shown = terminal.getvalue()
    assert "…" not in shown, shown
    lines = [line.strip("│ ") for line in shown.splitlines()]
    assert path in "".join(line.split("│")[-1].strip() for line in lines if line), shown


def test_a_note_under_a_progress_bar_is_not_read_as_markup(terminal: Screen) -> None:
    progress = output.Progress(2, "run [nightly]")
    with progress.running():
        progress.note("job ghz [ibm] on ibm:fake_kyiv: done")
    assert "job ghz [ibm] on ibm:fake_kyiv: done" in terminal.getvalue()


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (0.0, "$0.00"),
        (0.00375, "$0.00375"),
        (0.5, "$0.50"),
        (0.375, "$0.375"),
        (1.6, "$1.60"),
        (1234.5, "$1,234.50"),
        (0.00001234, "$0.0000123"),
    ],
)
def test_costs_keep_the_digits_that_matter(amount: float, shown: str) -> None:
    from qorch.engine.wording import usd

    assert usd(amount) == shown


def test_counts_take_the_plural_only_when_they_should() -> None:
    from qorch.engine.wording import counted

    assert [counted(n, "job") for n in (0, 1, 2)] == ["0 jobs", "1 job", "2 jobs"]
    assert counted(1, "target") + ", " + counted(3, "sample") == "1 target, 3 samples"


SLOW = """\
version: 1
kind: circuits
name: slow
shots: 100
circuits: [{name: ghz, generator: ghz, qubits: 3}]
targets: [{target: local:aer, options: {queue_delay_s: 60}}]
"""


@pytest.mark.detached_workers  # a job still queued or running
def test_cancel_says_cancelled_once_and_nothing_to_cancel_after(cli, make_plan) -> None:
    plan = make_plan(SLOW)
    assert cli("submit", str(plan)).returncode == 0
    first = cli("cancel", "latest")
    assert first.returncode == 0, first.stderr
    assert "ghz on local:aer: cancelled\n" in first.stderr, first.stderr
    assert "cancelled cancelled" not in first.stderr
    again = cli("cancel", "latest")
    assert again.returncode == 0, again.stderr
    assert "nothing to cancel (it is cancelled)" in again.stderr, again.stderr
    assert "finished" not in again.stderr


SEEDED = """\
version: 1
kind: circuits
name: seeded
shots: 50
SEED
circuits: [{name: bell, generator: ghz, qubits: 2}]
targets: [braket:local, local:aer]
"""


def test_a_seed_braket_cannot_honour_is_warned_once(cli, make_plan) -> None:
    warning = "warning: braket:local cannot be seeded: counts there differ from run to run"
    plan = make_plan(SEEDED.replace("SEED", "seed: 7"))
    first = cli("run", str(plan))
    assert first.returncode == 0, first.stderr
    assert first.stderr.count(warning) == 1, first.stderr
    (line,) = [line for line in first.stderr.splitlines() if warning in line]
    assert "local:aer" not in line and "seed: 7" in line  # Aer takes the seed
    assert warning not in cli("run", str(plan)).stderr  # the same run, resumed: said already
    unseeded = make_plan(SEEDED.replace("SEED\n", ""), name="unseeded.yaml")
    assert warning not in cli("run", str(unseeded)).stderr


def test_training_and_sweeps_show_a_bar_on_a_terminal(
    terminal: Screen, monkeypatch: pytest.MonkeyPatch
) -> None:
    from qorch.cli import observe

    drawn: list[tuple[str, str, int]] = []

    class Recorded(output.Progress):
        def update(self, done: int, failed: int = 0) -> None:
            drawn.append((self.label, self.unit, done))
            super().update(done, failed)

    monkeypatch.setattr(observe, "Progress", Recorded)
    observer = observe.TerminalObserver()
    for done in range(4):
        observer.step("train", done, 3)
        if done == 1:
            observer.notify("a note [while] training")
    observer.step("sweep", 0, 2)
    observer.step("sweep", 2, 2)
    trained = [("train", "steps", done) for done in range(4)]
    assert drawn == [*trained, ("sweep", "tasks", 0), ("sweep", "tasks", 2)]
    assert "a note [while] training" in terminal.getvalue()  # through the bar, not eaten
    assert not observer._bars  # every bar closed at its last report
