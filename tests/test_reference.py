"""The BAA service list: shipped provenance, per-cloud columns and an organisation's own list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from azaudit.casebook import case_config, run_case
from azaudit.catalogue import Case
from azaudit.errors import InputError
from azaudit.models import Status
from azaudit.paths import data_dir
from azaudit.reference import (
    AZURE_CHINA,
    AZURE_CLOUD,
    AZURE_US_GOVERNMENT,
    BaaList,
    default_baa_list,
    load_baa_list,
)
from tests.catalogue_support import builtin_catalogue

SCOPE_CHECK = builtin_catalogue().get("scope_baa_in_scope_service")
SHIPPED = json.loads((data_dir() / "baa_services.json").read_text(encoding="utf-8"))
TYPE_ROWS = json.loads((data_dir() / "resource_type_services.json").read_text(encoding="utf-8"))


def _judge(baa: BaaList, resource_type: str) -> tuple[Status, str]:
    """The status and message the real scope check gives one resource of `resource_type`."""
    assert SCOPE_CHECK is not None
    case = Case("one resource", Status.PASS, {"resource": {"type": resource_type}})
    run = run_case(SCOPE_CHECK, case, case_config(baa))
    (finding,) = run.findings
    return finding.status, finding.message


# -- the shipped list: re-based on the February 2026 FedRAMP High table ---------------------------


@pytest.mark.parametrize(
    ("resource_type", "service"),
    [
        ("Microsoft.HealthcareApis/workspaces/fhirservices", "Azure Health Data Services"),
        ("Microsoft.App/containerApps", "Container Apps"),
        ("Microsoft.Web/staticSites", "Static Web Apps"),
        ("Microsoft.SignalRService/WebPubSub", "Web PubSub"),
        ("Microsoft.Dashboard/grafana", "Managed Grafana"),
        ("Microsoft.Fabric/capacities", "Fabric"),
        ("Microsoft.LoadTestService/loadTests", "Load Testing"),
        ("microsoft.visualstudio/account", "Azure DevOps Services"),
        ("Microsoft.PowerPlatform/enterprisePolicies", "Power Platform"),
    ],
)
def test_rebased_services_are_presumed_in_scope_never_verified(
    resource_type: str, service: str
) -> None:
    status, message = _judge(default_baa_list(), resource_type)
    assert status is Status.PASS
    assert service in message
    assert "(presumed; confidence medium)" in message


def test_retired_services_that_left_the_table_are_no_longer_presumed() -> None:
    status, message = _judge(default_baa_list(), "Microsoft.DBforMariaDB/servers")
    assert status is Status.MANUAL
    assert "not verified" in message


def test_shipped_list_keeps_provenance_per_entry_and_claims_no_verification() -> None:
    baa = default_baa_list()
    assert SHIPPED["verified_against_hipaa_baa_column"] is False
    assert baa.info.verified is False
    assert baa.info.version.startswith("2026-02")
    assert baa.presumed
    assert "presumptions" in baa.verification_note()
    assert baa.info.note == baa.verification_note()
    assert "have no stated coverage for AzureCloud (null): " in baa.info.note
    for entry in SHIPPED["services"]:
        assert entry["basis"] and entry["confidence"] in {"low", "medium", "high"}, entry["id"]
        assert entry["status"] in {"presumed_in_scope", "unverified", "not_covered"}, entry["id"]
        # Nothing below high confidence may read as settled: in-scope entries are presumptions.
        if entry["azure_public"] is True:
            assert entry["status"] == "presumed_in_scope" and "presumed" in entry["basis"]
            # A PASS on a "high" entry would read as settled (no "presumed" qualifier).
            assert entry["confidence"] != "high", entry["id"]
        if entry["azure_public"] is None:
            assert entry["status"] == "unverified" and entry["confidence"] == "low"
    for row in TYPE_ROWS:
        assert baa.services[row["service_id"]].id == row["service_id"], row["type"]


# -- one column per cloud ----------------------------------------------------------------------


def test_azure_government_is_judged_on_the_government_column() -> None:
    government = default_baa_list(AZURE_US_GOVERNMENT)
    assert government.cloud == AZURE_US_GOVERNMENT
    assert "Azure Government column" in government.info.source
    # Health Data Services is a row of the Azure table only; Container Apps of both.
    assert _judge(default_baa_list(), "Microsoft.HealthcareApis/workspaces")[0] is Status.PASS
    status, message = _judge(government, "Microsoft.HealthcareApis/workspaces")
    assert status is Status.MANUAL
    assert "Azure Health Data Services" in message
    assert _judge(government, "Microsoft.App/containerApps")[0] is Status.PASS
    assert _judge(government, "Microsoft.Datadog/monitors")[0] is Status.FAIL


def test_for_cloud_views_the_same_list_and_ignores_case() -> None:
    shipped = default_baa_list()
    assert shipped.for_cloud("azureusgovernment") == default_baa_list(AZURE_US_GOVERNMENT)
    assert shipped.for_cloud(AZURE_US_GOVERNMENT).for_cloud(AZURE_CLOUD) == shipped
    government = shipped.for_cloud(AZURE_US_GOVERNMENT).services
    for entry in SHIPPED["services"]:
        stated = entry["azure_government"]
        assert government[entry["id"]].in_scope is (stated if isinstance(stated, bool) else None)


@pytest.mark.parametrize("cloud", [AZURE_CHINA, "ContosoStack", ""])
def test_a_cloud_without_a_column_leaves_every_service_unverified(cloud: str) -> None:
    view = default_baa_list().for_cloud(cloud)
    assert all(s.in_scope is None for s in view.services.values())
    assert view.info.verified is False
    assert "no column for" in view.info.source
    assert "every service is unverified there" in view.info.note
    assert view.for_cloud("Elsewhere").info.source.count("[no column for") == 1
    assert _judge(view, "Microsoft.Storage/storageAccounts")[0] is Status.MANUAL
    assert _judge(view, "Microsoft.Datadog/monitors")[0] is Status.MANUAL


# -- an organisation's own list (--baa-list) -----------------------------------------------------


def _write(tmp_path: Path, services: list[dict[str, Any]], **top: Any) -> Path:
    path = tmp_path / "baa.json"
    document = {"source": "Northwind legal", "version": "2026-10-01", "services": services, **top}
    path.write_text(json.dumps(document))
    return path


def test_service_the_list_does_not_name_is_unverified_not_an_unknown_type(tmp_path: Path) -> None:
    baa = load_baa_list(_write(tmp_path, [{"id": "storage_blobs", "in_scope": True}]))
    status, message = _judge(baa, "Microsoft.Web/sites")
    assert status is Status.MANUAL
    assert "type map" not in message
    assert "App Service" in message
    status, message = _judge(baa, "Contoso.Unknown/widgets")
    assert status is Status.MANUAL
    assert "is not in the BAA list's type map" in message


def test_list_stating_every_entry_is_verified(tmp_path: Path) -> None:
    baa = load_baa_list(
        _write(
            tmp_path,
            [{"id": "storage_blobs", "in_scope": True}, {"id": "app_service", "in_scope": False}],
        )
    )
    assert baa.info.verified is True
    assert baa.unverified == ()
    assert baa.verification_note() == ""
    status, message = _judge(baa, "Microsoft.Storage/storageAccounts")
    assert status is Status.PASS
    assert message.endswith("is in BAA scope")  # the organisation's word, not a presumption
    assert _judge(baa, "Microsoft.Web/sites")[0] is Status.FAIL


def test_list_with_null_entries_is_not_verified_and_says_which(tmp_path: Path) -> None:
    baa = load_baa_list(
        _write(
            tmp_path,
            [
                {"id": "storage_blobs", "in_scope": True},
                {"id": "app_service", "in_scope": None},
                {"id": "key_vault", "in_scope": None},
            ],
        )
    )
    assert baa.info.verified is False
    assert baa.unverified == ("app_service", "key_vault")
    note = baa.info.note
    assert "2 of 3 service(s) have no stated coverage for AzureCloud (null)" in note
    assert "app_service, key_vault" in note
    assert "presumption" not in note


def test_organisation_list_for_government(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        [
            {"id": "storage_blobs", "in_scope": True, "in_scope_azure_government": True},
            {"id": "app_service", "in_scope": True},
        ],
    )
    commercial = load_baa_list(path)
    assert commercial.info.verified is True
    government = load_baa_list(path, cloud=AZURE_US_GOVERNMENT)
    assert government == commercial.for_cloud(AZURE_US_GOVERNMENT)
    assert _judge(government, "Microsoft.Storage/storageAccounts")[0] is Status.PASS
    # The list states App Service for Azure only: in Government it is not verified.
    assert _judge(government, "Microsoft.Web/sites")[0] is Status.MANUAL
    assert government.info.verified is False
    assert government.unverified == ("app_service",)
    # A list that says nothing about Government leaves everything unverified there.
    only_azure = load_baa_list(_write(tmp_path, [{"id": "storage_blobs", "in_scope": True}]))
    view = only_azure.for_cloud(AZURE_US_GOVERNMENT)
    assert _judge(view, "Microsoft.Storage/storageAccounts")[0] is Status.MANUAL


def test_list_declared_for_government(tmp_path: Path) -> None:
    path = _write(tmp_path, [{"id": "storage_blobs", "in_scope": True}], cloud=AZURE_US_GOVERNMENT)
    government = load_baa_list(path, cloud=AZURE_US_GOVERNMENT)
    assert government.info.verified is True
    assert _judge(government, "Microsoft.Storage/storageAccounts")[0] is Status.PASS
    assert _judge(load_baa_list(path), "Microsoft.Storage/storageAccounts")[0] is Status.MANUAL


@pytest.mark.parametrize(
    ("services", "top", "message"),
    [
        ([{"id": "storage_blobs", "in_scope": 1}], {}, "services[0].in_scope: expected true"),
        (
            [{"id": "storage_blobs", "in_scope": True, "in_scope_azure_government": "yes"}],
            {},
            "services[0].in_scope_azure_government: expected true, false or null",
        ),
        (
            [{"id": "storage_blobs", "in_scope": True, "in_scope_azure_government": True}],
            {"cloud": AZURE_US_GOVERNMENT},
            "services[0].in_scope_azure_government: the list's cloud is AzureUSGovernment",
        ),
        ([{"id": "storage_blobs", "in_scope": True}], {"cloud": "Narnia"}, "cloud: expected one"),
    ],
)
def test_bad_organisation_list_names_file_and_field(
    tmp_path: Path, services: list[dict[str, Any]], top: dict[str, Any], message: str
) -> None:
    path = _write(tmp_path, services, **top)
    with pytest.raises(InputError) as caught:
        load_baa_list(path)
    assert str(caught.value).startswith(f"--baa-list {path}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
