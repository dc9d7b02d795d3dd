"""Checks of a plan's targets against the installed providers (cheap: no SDK imports)."""

from __future__ import annotations

from typing import Any

from qorch.contract.errors import OptionError, ProviderError, QorchError
from qorch.contract.provider import Provider, TargetOptions
from qorch.engine import registry
from qorch.engine.plan import AnyPlan, CircuitsPlan, DistributedPlan, TargetSpec
from qorch.engine.planfile import LoadedPlan, raise_all


def target_options(spec: TargetSpec) -> TargetOptions:
    """The provider-facing options of a plan target."""
    return TargetOptions(
        optimization_level=spec.optimization_level,
        noise=spec.noise,
        max_execution_time_s=spec.max_execution_time_s,
        extra=dict(spec.options),
    )


def options_from_record(record: dict[str, Any]) -> TargetOptions:
    """TargetOptions from the JSON form written in a bundle manifest."""
    return TargetOptions(
        optimization_level=int(record["optimization_level"]),
        noise=record.get("noise"),
        max_execution_time_s=record.get("max_execution_time_s"),
        extra=dict(record.get("extra", {})),
    )


def options_record(options: TargetOptions) -> dict[str, Any]:
    """The JSON form of TargetOptions, for a bundle manifest."""
    return {
        "optimization_level": options.optimization_level,
        "noise": options.noise,
        "max_execution_time_s": options.max_execution_time_s,
        "extra": dict(sorted(options.extra.items())),
    }


Key = tuple[str | int, ...]


def plan_targets(plan: AnyPlan) -> list[tuple[Key, TargetSpec]]:
    """Every target a plan names, with the path of the mapping that holds its fields.

    A distributed plan's nodes count as targets (``nodes[i].target`` and
    ``nodes[i].options``), whatever the execute mode.
    """
    if isinstance(plan, CircuitsPlan):
        return [(("targets", i), spec) for i, spec in enumerate(plan.targets)]
    found: list[tuple[Key, TargetSpec]] = []
    if isinstance(plan, DistributedPlan):
        return [(("nodes", i), TargetSpec(target=node.target, options=node.options))
                for i, node in enumerate(plan.nodes)]  # fmt: skip
    if plan.evaluate is not None:
        found += [(("evaluate", "targets", i), t) for i, t in enumerate(plan.evaluate.targets)]
    if plan.fine_tune is not None:
        found.append((("fine_tune", "target"), plan.fine_tune.target))
    return found


def check_targets(loaded: LoadedPlan) -> list[Provider]:
    """Every target's provider exists, its device exists and its options are accepted.

    Returns the providers in target order. Raises a located ProviderError, or
    PlanErrors listing every target's problem when more than one target has one.
    """
    providers: list[Provider] = []
    problems: list[QorchError] = []
    for key, spec in plan_targets(loaded.plan):
        try:
            providers.append(check_target(loaded, key, spec))
        except ProviderError as error:
            problems.append(error)
    raise_all(loaded.display, problems)
    return providers


def check_target(loaded: LoadedPlan, where: Key, spec: TargetSpec) -> Provider:
    """Check one target; errors are located at the target's fields under ``where``."""
    key: Key = (*where, "target")
    try:
        provider = registry.load(spec.provider)
        provider.check_device(spec.device)
    except ProviderError as error:
        raise loaded.error(key, error.message, type(error)) from None
    if spec.noise is not None:
        try:
            noise_provider, noise_device = registry.split_target(spec.noise)
            registry.load(noise_provider).check_device(noise_device)
        except ProviderError as error:
            raise loaded.error((*where, "noise"), error.message, type(error)) from None
    try:
        provider.check_options(spec.device, target_options(spec))
    except OptionError as error:
        field = "noise" if "noise" in error.message and spec.noise else "options"
        raise loaded.error((*where, field), error.message, OptionError) from None
    return provider
