"""Price table: the shipped table, estimates, and refreshing from the AWS Price List API."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from qorch_braket import aws, pricing
from qorch_braket.devices import DEVICES

from qorch.contract.provider import Provider, TargetOptions
from qorch.testing import bell_circuit


def price_item(family: str, attributes: dict[str, str], usd: str, unit: str, sku: str) -> str:
    """One GetProducts PriceList entry (a JSON string, ``aws_v1`` format)."""
    term = f"{sku}.JRTCKXETXF"
    return json.dumps({
        "product": {
            "productFamily": family,
            "attributes": {"servicecode": "AmazonBraket", "servicename": "Amazon Braket",
                           "locationType": "AWS Region", **attributes},
            "sku": sku,
        },
        "serviceCode": "AmazonBraket",
        "terms": {"OnDemand": {term: {
            "priceDimensions": {f"{term}.6YS6EN2CT7": {
                "unit": unit, "endRange": "Inf", "beginRange": "0", "appliesTo": [],
                "description": f"${usd} per {unit}", "rateCode": f"{term}.6YS6EN2CT7",
                "pricePerUnit": {"USD": usd},
            }},
            "sku": sku, "effectiveDate": "2026-10-01T00:00:00Z", "offerTermCode": "JRTCKXETXF",
            "termAttributes": {},
        }}},
        "version": "20261001000000",
        "publicationDate": "2026-10-01T00:00:00Z",
    })  # fmt: skip


def qpu_item(family: str, device: str, usd: str, unit: str, sku: str, region: str) -> str:
    """A QPU product (per task or per shot) as the Price List lists it."""
    attributes = {"regionCode": region, "devicename": device, "usagetype": f"{region}-{device}"}
    return price_item(family, attributes, usd, unit, sku)


def simulator_item(operation: str, usd: str, sku: str) -> str:
    """An SV1 runtime product, billed per minute."""
    attributes = {
        "regionCode": "us-east-1",
        "version": "SV1",
        "operation": operation,
        "usagetype": "USE1-Simulators-SV1-Completed-Task-ExecutionDuration",
    }
    return price_item("Simulator Task", attributes, usd, "minutes", sku)


PAGES = {
    "Quantum Task": [
        [qpu_item("Quantum Task", "Forte-1", "0.3000000000", "Tasks", "A1", "us-east-1")],
    ],
    "Quantum Task-Shot": [  # two pages: the second is fetched with NextToken
        [qpu_item("Quantum Task-Shot", "Forte-1", "0.0700000000", "Shots", "A2", "us-east-1")],
        [qpu_item("Quantum Task-Shot", "Ankaa-3", "0.0004250000", "Shots", "A3", "us-west-1")],
    ],
    "Simulator Task": [
        [
            simulator_item("CompleteTask", "0.0750000000", "A4"),
            simulator_item("Managed-Jobs", "9.0", "A5"),
        ],
    ],
}


@pytest.fixture
def stubbed_pricing(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A real Price List client whose GetProducts answers come from PAGES."""
    from botocore.stub import Stubber

    client = aws.pricing_client()
    stubber = Stubber(client)
    for family, pages in PAGES.items():
        for index, page in enumerate(pages):
            expected: dict[str, Any] = {
                "ServiceCode": "AmazonBraket",
                "FormatVersion": "aws_v1",
                "Filters": [{"Type": "TERM_MATCH", "Field": "productFamily", "Value": family}],
                "MaxResults": 100,
            }
            response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": page}
            if index:
                expected["NextToken"] = f"{family}-page{index}"
            if index < len(pages) - 1:
                response["NextToken"] = f"{family}-page{index + 1}"
            stubber.add_response("get_products", response, expected)
    stubber.activate()
    monkeypatch.setattr(aws, "pricing_client", lambda: client)
    yield stubber
    stubber.deactivate()


def test_shipped_table_is_dated_and_covers_every_cloud_device(no_aws: None) -> None:
    table = pricing.shipped_table()
    assert table.as_of == "2026-08-30" and table.source.startswith("https://aws.amazon.com/braket")
    for spec in DEVICES.values():
        if not spec.local:
            assert table.entry(spec), spec.name


def test_estimates(provider: Provider, no_aws: None) -> None:
    payload = provider.translate(bell_circuit(), "local", TargetOptions(), seed=1)
    assert provider.estimate_cost("local", payload, 1000).usd == 0.0
    forte = provider.estimate_cost("ionq_forte1", payload, 1000)
    assert forte.usd == pytest.approx(0.30 + 1000 * 0.08)
    assert "shipped price table as of 2026-08-30" in forte.basis
    assert "no AWS credentials" in forte.basis  # the fallback is recorded
    sv1 = provider.estimate_cost("sv1", payload, 1000)
    assert sv1.usd == pytest.approx(0.075 / 60 * 3) and "minimum" in sv1.basis
    arn = provider.estimate_cost("arn:aws:braket:us-east-1::device/qpu/ionq/Forte-1", payload, 10)
    assert arn.usd == pytest.approx(0.30 + 10 * 0.08)
    device = provider.device("iqm_garnet")
    assert device.price is not None and device.price.per_shot_usd == pytest.approx(0.00145)


def test_price_list_parsing() -> None:
    items = [item for pages in PAGES.values() for page in pages for item in page]
    parsed = pricing.parse_price_list(items)
    assert parsed == {
        "forte-1": {"per_task_usd": 0.3, "per_shot_usd": 0.07},
        "ankaa-3": {"per_shot_usd": 0.000425},
        "sv1": {"per_minute_usd": 0.075},
    }


def test_refresh_caches_a_dated_table(
    provider: Provider, stubbed_pricing: Any, tmp_path: Path
) -> None:
    payload = provider.translate(bell_circuit(), "local", TargetOptions(), seed=1)
    cost = provider.estimate_cost("ionq_forte1", payload, 100)
    stubbed_pricing.assert_no_pending_responses()
    assert cost.usd == pytest.approx(0.30 + 100 * 0.07)
    assert "refreshed price table" in cost.basis and pricing.PRICE_LIST_SOURCE in cost.basis
    ankaa = provider.estimate_cost("rigetti_ankaa3", payload, 1000)  # shot price refreshed,
    assert ankaa.usd == pytest.approx(0.30 + 1000 * 0.000425)  # task price kept from shipped
    cached = json.loads(pricing.cache_path().read_text())
    assert cached["source"] == pricing.PRICE_LIST_SOURCE and cached["as_of"]
    pricing.current_table.cache_clear()
    assert pricing.current_table(refresh=True).origin == "refreshed"  # fresh cache: no network


def test_refresh_failure_falls_back_and_says_why(
    provider: Provider, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    unreachable = boto3.Session().client(
        "pricing", region_name="us-east-1", endpoint_url="http://127.0.0.1:9",
        config=aws.client_config(1.0, 1.0, 1),
    )  # fmt: skip
    monkeypatch.setattr(aws, "pricing_client", lambda: unreachable)
    payload = provider.translate(bell_circuit(), "local", TargetOptions(), seed=1)
    cost = provider.estimate_cost("iqm_garnet", payload, 1000)
    assert cost.usd == pytest.approx(0.30 + 1000 * 0.00145)
    assert "shipped price table" in cost.basis and "refresh failed" in cost.basis
    assert not pricing.cache_path().exists()


def test_refresh_can_be_switched_off(
    provider: Provider, aws_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(pricing.REFRESH_ENV, "0")
    monkeypatch.setattr(aws, "pricing_client", lambda: pytest.fail("no refresh expected"))
    payload = provider.translate(bell_circuit(), "local", TargetOptions(), seed=1)
    assert "not refreshed" in provider.estimate_cost("sv1", payload, 10).basis


def test_unlisted_device_is_priced_as_an_upper_bound(no_aws: None) -> None:
    from qorch_braket.devices import DeviceSpec

    spec = DeviceSpec("arn:aws:braket:eu-north-1::device/qpu/aqt/Ibex-Q1", 12, ("x",), ("x",),
                      False, arn="arn:aws:braket:eu-north-1::device/qpu/aqt/Ibex-Q1")  # fmt: skip
    cost = pricing.estimate(spec, 100, pricing.shipped_table())
    assert cost.usd == pytest.approx(0.30 + 100 * 0.08) and "upper bound" in cost.basis
