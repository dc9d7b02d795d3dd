"""Provider plugins, found through the ``qorch.providers`` entry-point group."""

from __future__ import annotations

import difflib
from functools import cache
from importlib.metadata import EntryPoint, entry_points

from qorch.contract.errors import PlanError, UnknownProviderError
from qorch.contract.provider import Provider

GROUP = "qorch.providers"


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def provider_names() -> list[str]:
    """Names of the installed providers (cheap: reads package metadata only)."""
    return sorted(_entry_points())


_overrides: dict[str, Provider] = {}  # see override()


def override(name: str, provider: Provider) -> None:
    """Make :func:`load` return ``provider`` for ``name`` until :func:`clear_overrides`
    (:mod:`qorch.engine.warmpool`: translations done by a warm worker)."""
    _overrides[name] = provider


def clear_overrides() -> None:
    """Make :func:`load` return the plugins themselves again."""
    _overrides.clear()


def load(name: str) -> Provider:
    """The provider plugin called ``name``. Raises UnknownProviderError."""
    found = _overrides.get(name)
    return found if found is not None else _load(name)


@cache
def _load(name: str) -> Provider:
    eps = _entry_points()
    if name not in eps:
        close = difflib.get_close_matches(name, list(eps), n=2)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        installed = ", ".join(sorted(eps)) or "none"
        raise UnknownProviderError(f"unknown provider '{name}' (installed: {installed}){hint}")
    cls = eps[name].load()
    provider = cls()
    if not isinstance(provider, Provider):
        raise UnknownProviderError(f"entry point '{name}' is not a qorch Provider")
    return provider


def split_target(target: str) -> tuple[str, str]:
    """Split ``provider:device`` into its parts. Raises PlanError if malformed."""
    provider, sep, device = target.partition(":")
    if not sep or not provider or not device:
        raise PlanError(f"target '{target}' is not of the form provider:device")
    return provider, device


def versions(names: list[str]) -> dict[str, str]:
    """Installed versions of qorch, qiskit and each named provider's distribution and SDKs."""
    from importlib.metadata import PackageNotFoundError, version

    wanted = ["qorch", "qiskit", "qiskit-aer"]
    eps = _entry_points()
    for name in names:
        dist = eps[name].dist if name in eps else None
        if dist is None:
            continue
        wanted.append(dist.metadata["Name"])
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:
                wanted.append(_requirement_name(requirement))
    found: dict[str, str] = {}
    for dist_name in wanted:
        try:
            found[dist_name] = version(dist_name)
        except PackageNotFoundError:
            continue
    return dict(sorted(found.items()))


def _requirement_name(requirement: str) -> str:
    for index, char in enumerate(requirement):
        if not (char.isalnum() or char in "-_."):
            return requirement[:index]
    return requirement
