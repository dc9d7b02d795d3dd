"""Braket prices: the table shipped with the plugin, refreshed from the AWS Price List API.

The shipped ``prices.json`` carries its ``as_of`` date and source. When AWS
credentials exist and the cached table is missing or older than a week, one
refresh per process is attempted through the Price List API (``GetProducts``,
service ``AmazonBraket``); a refreshed table is cached under
``~/.cache/qorch/braket-prices.json`` (``$QORCH_BRAKET_PRICES`` overrides the
path; ``QORCH_BRAKET_PRICE_REFRESH=0`` disables refreshing). If refreshing
fails, the shipped (or last cached) table is used and every Cost's ``basis``
says which table, of which date, and why.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from qorch.contract.errors import QorchError
from qorch.contract.provider import Cost, Price
from qorch_braket.devices import DeviceSpec

CACHE_ENV = "QORCH_BRAKET_PRICES"
REFRESH_ENV = "QORCH_BRAKET_PRICE_REFRESH"
REFRESH_AFTER_S = 7 * 24 * 3600
FAMILIES = ("Quantum Task", "Quantum Task-Shot", "Simulator Task")
PRICE_LIST_SOURCE = "AWS Price List API (GetProducts, AmazonBraket)"
_FIELDS = {"Quantum Task": "per_task_usd", "Quantum Task-Shot": "per_shot_usd"}
_MINUTES_PER_UNIT = {"ms": 1 / 60000, "millisecond": 1 / 60000, "sec": 1 / 60, "min": 1.0,
                     "hour": 60.0, "hr": 60.0}  # fmt: skip


@dataclass(frozen=True)
class PriceTable:
    """Prices by device (lower-case price-list name), with where and when they were read."""

    devices: Mapping[str, Mapping[str, float]]
    as_of: str
    source: str
    origin: str  # "shipped" or "refreshed"
    min_billed_seconds: float = 3.0
    note: str = ""  # why the table is not freshly refreshed, if it matters

    def basis(self) -> str:
        """One line naming the table, its date and source (and any refresh failure)."""
        kind = "shipped price table" if self.origin == "shipped" else "refreshed price table"
        text = f"Braket {kind} as of {self.as_of} ({self.source})"
        return f"{text}; {self.note}" if self.note else text

    def entry(self, spec: DeviceSpec) -> Mapping[str, float] | None:
        """The prices of ``spec``'s device, or None if the table does not list it."""
        return self.devices.get(spec.price_key.lower())

    def to_json(self) -> dict[str, Any]:
        """The table in ``prices.json`` form."""
        return {
            "format": "qorch-braket-prices/1",
            "as_of": self.as_of,
            "source": self.source,
            "min_billed_seconds": self.min_billed_seconds,
            "devices": {key: dict(value) for key, value in sorted(self.devices.items())},
        }


def table_from_json(data: Mapping[str, Any], origin: str) -> PriceTable:
    """A PriceTable from the JSON form (shipped or cached)."""
    return PriceTable(
        devices={str(k).lower(): dict(v) for k, v in data["devices"].items()},
        as_of=str(data["as_of"]),
        source=str(data["source"]),
        origin=origin,
        min_billed_seconds=float(data.get("min_billed_seconds", 3.0)),
    )


def shipped_table() -> PriceTable:
    """The price table shipped with this version of qorch-braket."""
    text = resources.files("qorch_braket").joinpath("prices.json").read_text(encoding="utf-8")
    return table_from_json(json.loads(text), "shipped")


def cache_path() -> Path:
    """Where a refreshed table is cached (``$QORCH_BRAKET_PRICES`` or the user cache dir)."""
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "qorch" / "braket-prices.json"


def cached_table() -> tuple[PriceTable, float] | None:
    """The cached refreshed table and its age in seconds; None if absent or unreadable."""
    path = cache_path()
    try:
        table = table_from_json(json.loads(path.read_text(encoding="utf-8")), "refreshed")
        return table, time.time() - path.stat().st_mtime
    except (OSError, ValueError, KeyError, TypeError):
        return None


@lru_cache(maxsize=2)
def current_table(refresh: bool = True) -> PriceTable:
    """The table to price with: a fresh cache, else (if allowed) a refresh, else the best at hand.

    ``refresh=False`` never touches the network. The result is memoised per process.
    """
    cached = cached_table()
    if cached is not None and cached[1] < REFRESH_AFTER_S:
        return cached[0]
    fallback = cached[0] if cached is not None else shipped_table()
    if not refresh:
        return fallback
    if os.environ.get(REFRESH_ENV, "1").strip().lower() in ("0", "false", "no", "off"):
        return replace(fallback, note=f"not refreshed ({REFRESH_ENV}=0)")
    from qorch_braket import aws

    if not aws.credentials_report().found:
        return replace(fallback, note="not refreshed: no AWS credentials for the Price List API")
    try:
        table = refresh_table(aws.pricing_client(), shipped_table())
    except QorchError as error:
        return replace(fallback, note=f"refresh failed: {error}")
    save_table(table)
    return table


def refresh_table(client: Any, base: PriceTable) -> PriceTable:
    """A table read from the Price List API, on top of ``base`` for devices it does not list.

    Raises NetworkError, CredentialsError or ProviderError (also if AWS lists no prices).
    """
    from qorch.contract.errors import ProviderError
    from qorch_braket import aws

    found = parse_price_list(aws.price_list_items(client, FAMILIES))
    if not found:
        raise ProviderError("the AWS Price List API returned no Braket task prices")
    devices = {key: dict(value) for key, value in base.devices.items()}
    for key, prices in found.items():
        devices[key] = {**devices.get(key, {}), **prices}
    return PriceTable(
        devices=devices,
        as_of=time.strftime("%Y-%m-%d", time.gmtime()),
        source=PRICE_LIST_SOURCE,
        origin="refreshed",
        min_billed_seconds=base.min_billed_seconds,
    )


def parse_price_list(items: Iterable[str | Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per-device prices from Price List items (``aws_v1`` JSON, as GetProducts returns them).

    QPU products carry ``devicename`` (``Quantum Task``: per task, ``Quantum
    Task-Shot``: per shot); managed simulators carry ``version`` (``SV1``) in
    the ``Simulator Task`` family, priced per unit of duration. Where a device
    has several prices (regions), the highest is kept: estimates err high.
    """
    out: dict[str, dict[str, float]] = {}
    for raw in items:
        item = json.loads(raw) if isinstance(raw, str) else raw
        product = item.get("product", {})
        attributes = {str(k).lower(): str(v) for k, v in product.get("attributes", {}).items()}
        family = str(product.get("productFamily") or attributes.get("productfamily", ""))
        usd, unit = _on_demand_price(item)
        if usd is None:
            continue
        if family in _FIELDS and attributes.get("devicename"):
            key, field, value = attributes["devicename"].lower(), _FIELDS[family], usd
        elif family == "Simulator Task" and attributes.get("version"):
            if attributes.get("operation", "CompleteTask") != "CompleteTask":
                continue
            per_minute = _per_minute(usd, unit)
            if per_minute is None:
                continue
            key, field, value = attributes["version"].lower(), "per_minute_usd", per_minute
        else:
            continue
        prices = out.setdefault(key, {})
        prices[field] = max(value, prices.get(field, 0.0))
    return out


def _on_demand_price(item: Mapping[str, Any]) -> tuple[float | None, str]:
    for term in item.get("terms", {}).get("OnDemand", {}).values():
        for dimension in term.get("priceDimensions", {}).values():
            usd = dimension.get("pricePerUnit", {}).get("USD")
            if usd is not None:
                return float(usd), str(dimension.get("unit", ""))
    return None, ""


def _per_minute(usd: float, unit: str) -> float | None:
    lowered = unit.lower()
    for marker, minutes in _MINUTES_PER_UNIT.items():
        if marker in lowered:
            return usd / minutes
    return None


def save_table(table: PriceTable) -> None:
    """Write ``table`` to the cache path atomically (a failure to cache is not an error)."""
    path = cache_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".braket-prices.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(table.to_json(), handle, indent=2, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        return


def device_price(spec: DeviceSpec, table: PriceTable) -> Price | None:
    """The device's Price from ``table``; None for local simulators or unlisted devices."""
    entry = None if spec.local else table.entry(spec)
    if entry is None:
        return None
    return Price(
        per_task_usd=float(entry.get("per_task_usd", 0.0)),
        per_shot_usd=float(entry.get("per_shot_usd", 0.0)),
        per_second_usd=float(entry.get("per_minute_usd", 0.0)) / 60.0,
        as_of=table.as_of,
        source=table.source,
    )


def estimate(spec: DeviceSpec, shots: int, table: PriceTable, parameter_sets: int = 0) -> Cost:
    """Estimated USD for one job of ``shots`` shots (per parameter set) on ``spec``'s device.

    QPUs: per-task + per-shot × shots × sets — a job is one task, a program
    set included (Braket bills its per-task fee once and every executable's
    shots). Managed simulators bill runtime, which is unknown before
    running: the estimate is the minimum billed duration of the one task.
    A device the table does not list is priced at the table's highest rates.
    """
    if spec.local:
        return Cost(0.0, "Braket LocalSimulator runs on this machine: free")
    entry = table.entry(spec)
    bound = ""
    if entry is None:
        entry = _highest(table, spec.simulator)
        bound = f"; {spec.name} is not in the table: priced at its highest rates (upper bound)"
    if spec.simulator:
        seconds = table.min_billed_seconds
        usd = float(entry.get("per_minute_usd", 0.0)) / 60.0 * seconds
        note = f"; managed simulators bill runtime: this is the {seconds:g} s minimum per task"
        return Cost(round(usd, 6), table.basis() + note + bound)
    sets = max(1, parameter_sets)
    total = shots * sets
    usd = float(entry.get("per_task_usd", 0.0)) + float(entry.get("per_shot_usd", 0.0)) * total
    basis = table.basis() + bound
    if parameter_sets:
        basis += f"; one program-set task: {sets} sets × {shots} shots = {total} billed shots"
    return Cost(round(usd, 6), basis)


def _highest(table: PriceTable, simulator: bool) -> dict[str, float]:
    fields = ("per_minute_usd",) if simulator else ("per_task_usd", "per_shot_usd")
    return {
        field: max((float(p.get(field, 0.0)) for p in table.devices.values()), default=0.0)
        for field in fields
    }
