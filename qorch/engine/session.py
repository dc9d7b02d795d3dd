"""Plan or bundle → compiled bundle on disk → an open run: the steps every kind shares.

The plan's kind picks its workload from the registry (:mod:`qorch.engine.kinds`);
nothing here depends on which kind it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qorch.contract.errors import QorchError
from qorch.engine import kinds, warmpool
from qorch.engine.bundle import MANIFEST, read_bundle, write_bundle
from qorch.engine.compile import CompiledBundle
from qorch.engine.execution import JOBS_DIR
from qorch.engine.loadedplan import LoadedPlan
from qorch.engine.planfile import load_plan
from qorch.engine.runner import Notify, RunContext, open_run
from qorch.engine.views import View
from qorch.engine.workload import RunObserver, RunOptions, RunStart, Workload
from qorch.store.state import StateStore, default_state_dir
from qorch.store.statedir import STATE_DIR_NAME, env_state_dir, search_upward


@dataclass(frozen=True)
class Compiled:
    """A plan compiled and written: the plan, its workload, the bundle and where it is."""

    loaded: LoadedPlan
    workload: Workload
    bundle: CompiledBundle
    directory: Path
    written: bool  # False: an identical bundle was already there

    @property
    def where(self) -> str:
        """The line saying where the bundle is (and whether it was written)."""
        return f"bundle {'written to' if self.written else 'unchanged at'} {self.directory}"

    def view(self) -> View:
        """What ``qorch compile`` shows, ending with :attr:`where`."""
        return self.workload.compile_view(self.bundle, self.directory) + View([], [self.where])


def bundle_dir_for(state_dir: Path, plan_path: Path, plan_hash: str) -> Path:
    """The default bundle directory of a plan version: ``STATE/bundles/STEM-HASH12``."""
    return state_dir / "bundles" / f"{plan_path.stem}-{plan_hash[:12]}"


def compile_to_dir(plan_path: Path, output: Path | None = None) -> Compiled:
    """Load and compile a plan with its kind's workload, and write its bundle."""
    loaded = load_plan(plan_path, str(plan_path))
    return _compile_loaded(loaded, kinds.load(loaded.kind), plan_path, output)


def _compile_loaded(
    loaded: LoadedPlan, workload: Workload, plan_path: Path, output: Path | None = None
) -> Compiled:
    workload.check_checks(loaded)
    bundle = workload.compile(loaded)
    directory = output or bundle_dir_for(default_state_dir(plan_path), plan_path, bundle.plan_hash)
    written = write_bundle(bundle, directory)
    return Compiled(loaded, workload, bundle, directory, written)


def bundle_state_dir(bundle_dir: Path) -> Path:
    """Where a bundle's runs are recorded: ``$QORCH_STATE_DIR``, the ``.qorch`` holding
    the bundle, else one found upward from the bundle or the current directory, else
    ``.qorch`` in the current directory (created private)."""
    override = env_state_dir()
    if override is not None:
        return override
    resolved = bundle_dir.resolve()
    for parent in resolved.parents:
        if parent.name == STATE_DIR_NAME:
            return parent
    found = search_upward(resolved)
    if found is not None:
        return found
    return default_state_dir(None)


def is_bundle_dir(source: Path) -> bool:
    """True if ``source`` is a compiled bundle directory (else it is a plan file)."""
    return source.is_dir() and (source / MANIFEST).exists()


def start(source: Path, options: RunOptions, observer: RunObserver) -> RunStart:
    """Compile a plan (or read a bundle directory) and open its run, new or resumed.

    The run is new unless the idempotency key (default: the plan's hash) already
    names one, which is then resumed (``options.new`` starts a fresh one).
    """
    loaded: LoadedPlan | None = None
    if is_bundle_dir(source):
        bundle = read_bundle(source)
        bundle_dir, state_dir = source, bundle_state_dir(source)
        workload = kinds.load(bundle.manifest.plan.kind)
        plan_path = bundle.manifest.plan.file
    else:
        loaded = load_plan(source, str(source))
        workload = kinds.load(loaded.kind)
        found = None if options.new else _reopen(loaded, workload, options, observer)
        if found is not None:
            return found
        if workload.warm_workers:  # their SDK imports overlap the compile
            jobs_dir = default_state_dir(source, create=False) / JOBS_DIR
            warmpool.start([spec for _, spec in workload.targets(loaded.plan)], jobs_dir)
        compiled = _compile_loaded(loaded, workload, source)
        bundle = compiled.bundle
        bundle_dir, state_dir = compiled.directory, default_state_dir(source)
        plan_path = str(source)
    ctx, created = open_run(
        StateStore(state_dir),
        bundle,
        bundle_dir,
        plan_path=plan_path,
        idem_key=options.idempotency_key,
        new=options.new,
        notify=observer.notify,
    )
    observer.started(ctx, created, workload.holds(bundle))
    if created and loaded is not None:
        _warn_unseedable(loaded, workload, observer)
    return RunStart(ctx, created, workload, loaded)


def _reopen(
    loaded: LoadedPlan, workload: Workload, options: RunOptions, observer: RunObserver
) -> RunStart | None:
    """The run of this plan version, re-opened from the store and its bundle without
    compiling (no vendor SDK is imported to re-print or resume a run); None if there is
    none, or its kind cannot tell its plan hash without compiling, or its bundle is gone."""
    from qorch.engine.runner import attach
    from qorch.store import gcrecord

    plan_hash = workload.plan_hash(loaded)
    state_dir = default_state_dir(loaded.path)
    if plan_hash is None or not (state_dir / "state.db").is_file():
        return None
    store = StateStore(state_dir)
    try:
        run = store.latest_run(options.idempotency_key or plan_hash)
        pruned = run is not None and gcrecord.read(store, run.run_id) is not None
        if run is None or run.plan_hash != plan_hash or pruned:
            store.close()  # none, another plan's key (open_run says why), or a bundle that
            return None  # qorch gc thinned: compile, which makes the bundle whole again
        ctx = attach(store, run.run_id, observer.notify)
    except QorchError:  # a damaged store or a removed bundle: as if compiling afresh
        store.close()
        return None
    observer.started(ctx, False, workload.holds(ctx.bundle))
    return RunStart(ctx, False, workload, loaded)


def _warn_unseedable(loaded: LoadedPlan, workload: Workload, observer: RunObserver) -> None:
    """Once per new run: a plan that sets ``seed`` but runs on simulators that ignore it."""
    from qorch.engine import registry

    if "seed" not in loaded.plan.model_fields_set:
        return
    names = sorted({spec.target for _, spec in workload.targets(loaded.plan)
                    if registry.load(spec.provider).unseedable_simulator(spec.device)})  # fmt: skip
    if names:
        observer.notify(
            f"warning: {', '.join(names)} cannot be seeded: counts there differ from run to "
            f"run despite seed: {loaded.plan.seed}"
        )


class _Notifier(RunObserver):
    def __init__(self, notify: Notify) -> None:
        self._notify = notify

    def notify(self, text: str) -> None:
        self._notify(text)


def prepare_run(
    source: Path, *, idem_key: str | None, new: bool, notify: Notify
) -> tuple[RunContext, bool]:
    """Compile a plan (or read a bundle directory) and open its run: (context, created)."""
    began = start(source, RunOptions(idempotency_key=idem_key, new=new), _Notifier(notify))
    return began.ctx, began.created
