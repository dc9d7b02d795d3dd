"""The steps the CLI strings together: plan or bundle → compiled bundle on disk → run."""

from __future__ import annotations

from pathlib import Path

from qorch.engine.bundle import MANIFEST, read_bundle, write_bundle
from qorch.engine.compile import CompiledBundle, compile_plan
from qorch.engine.planfile import load_plan
from qorch.engine.runner import Notify, RunContext, open_run
from qorch.store.state import StateStore, default_state_dir
from qorch.store.statedir import STATE_DIR_NAME, env_state_dir, search_upward


def bundle_dir_for(state_dir: Path, plan_path: Path, plan_hash: str) -> Path:
    """The default bundle directory of a plan version: ``STATE/bundles/STEM-HASH12``."""
    return state_dir / "bundles" / f"{plan_path.stem}-{plan_hash[:12]}"


def compile_to_dir(
    plan_path: Path, output: Path | None = None
) -> tuple[CompiledBundle, Path, bool]:
    """Load and compile a plan and write its bundle; returns (bundle, directory, written)."""
    loaded = load_plan(plan_path, str(plan_path))
    if loaded.plan.kind == "qcnn":
        from qorch.workloads.qcnn.pipeline import compile_qcnn

        bundle = compile_qcnn(loaded)[0]
    elif loaded.plan.kind == "distributed":
        from qorch.workloads.distributed.pipeline import compile_distributed

        bundle = compile_distributed(loaded)
    else:
        bundle = compile_plan(loaded)
    directory = output or bundle_dir_for(default_state_dir(plan_path), plan_path, bundle.plan_hash)
    written = write_bundle(bundle, directory)
    return bundle, directory, written


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


def prepare_run(
    source: Path, *, idem_key: str | None, new: bool, notify: Notify
) -> tuple[RunContext, bool]:
    """Compile a plan (or read a bundle directory) and open its run.

    Returns (context, created): ``created`` is False when the idempotency key
    already named a run, which is then resumed.
    """
    if source.is_dir() and (source / MANIFEST).exists():
        bundle = read_bundle(source)
        bundle_dir = source
        state_dir = bundle_state_dir(source)
        plan_path = str(bundle.manifest["plan"]["file"])
    else:
        bundle, bundle_dir, _ = compile_to_dir(source)
        state_dir = default_state_dir(source)
        plan_path = str(source)
    store = StateStore(state_dir)
    return open_run(
        store, bundle, bundle_dir, plan_path=plan_path, idem_key=idem_key, new=new, notify=notify
    )
