"""Plan targets: their provider-facing options, and checks against the installed providers
(cheap: no SDK imports)."""

from __future__ import annotations

from typing import Any

from qorch.contract.errors import OptionError, ProviderError, QorchError
from qorch.contract.provider import Provider, TargetOptions
from qorch.engine import registry
from qorch.engine.loadedplan import LoadedPlan, raise_all
from qorch.engine.plan_base import TargetSpec


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


def check_targets(loaded: LoadedPlan, targets: list[tuple[Key, TargetSpec]]) -> list[Provider]:
    """Every target's provider exists, its device exists and its options are accepted.

    ``targets``: what the plan's workload names (``Workload.targets``), each with the
    path of the mapping holding its fields. Returns the providers in target order.
    Raises a located ProviderError, or PlanErrors listing every target's problem
    when more than one target has one.
    """
    providers: list[Provider] = []
    problems: list[QorchError] = []
    for key, spec in targets:
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
