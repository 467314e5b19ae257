"""General evaluators through the engine: residency of a resource's regions."""

from __future__ import annotations

from typing import Any

import pytest

from azaudit.models import Status
from tests.evaluator_support import builtin_check, run_check


@pytest.mark.parametrize(
    ("check_id", "resource"),
    [
        ("residency_cosmos_regions_us", {"properties": {"documentEndpoint": "https://x/"}}),
        ("residency_cosmos_regions_us", {"properties": {"locations": [{"id": "x-eastus"}]}}),
        (
            "residency_storage_secondary_us",
            {"sku": {"name": "Standard_RAGRS"}, "properties": {"primaryLocation": "eastus"}},
        ),
    ],
)
def test_a_region_property_the_type_always_reports_is_an_error_when_absent(
    check_id: str, resource: dict[str, Any]
) -> None:
    (finding,) = run_check(builtin_check(check_id), {"resource": resource})
    assert finding.status is Status.ERROR
    assert finding.property_path in finding.message
    assert finding.property_path.startswith("properties.")


def test_a_resource_without_a_location_is_not_region_bound() -> None:
    body = {"resource": {"type": "Microsoft.Storage/storageAccounts", "location": ""}}
    (finding,) = run_check(builtin_check("residency_resource_location_us"), body)
    assert finding.status is Status.NOT_APPLICABLE


def test_regions_are_compared_in_any_spelling() -> None:
    body = {"resource": {"properties": {"locations": [{"locationName": "West US 2"}]}}}
    (finding,) = run_check(builtin_check("residency_cosmos_regions_us"), body)
    assert finding.status is Status.PASS
