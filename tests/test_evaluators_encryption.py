"""Encryption evaluators through the engine: VM and disk encryption, TLS property sets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.catalogue import Check
from azaudit.models import Finding, Status
from tests.evaluator_support import builtin_check, run_check, with_params

RG = f"/subscriptions/{CASE_SUBSCRIPTION}/resourceGroups/rg-case/providers"


def _one(check: Check, body: dict[str, Any], params: dict[str, Any] | None = None) -> Finding:
    """The single finding of `check` on `body`; `params` replace the rule's parameters entirely."""
    (finding,) = run_check(check if params is None else with_params(check, params), body)
    return finding


# -- managed disks ------------------------------------------------------------------------------

MANAGED = builtin_check("ear_vm_managed_disks")


def test_vhd_wins_over_a_managed_disk_reference() -> None:
    os_disk = {"name": "os", "managedDisk": {"id": "x"}, "vhd": {"uri": "https://a.blob/x.vhd"}}
    body = {"resource": {"properties": {"storageProfile": {"osDisk": os_disk}}}}
    finding = _one(MANAGED, body)
    assert finding.status is Status.FAIL
    assert finding.observed == {"osDisk (os)": "https://a.blob/x.vhd"}


def test_every_unmanaged_data_disk_is_listed() -> None:
    storage = {
        "osDisk": {"managedDisk": {"id": "os"}},
        "dataDisks": [
            {"name": "a", "vhd": {"uri": "https://a.blob/a.vhd"}},
            {"name": "b", "managedDisk": {"id": "b"}},
            {"name": "c", "vhd": {"uri": "https://a.blob/c.vhd"}},
        ],
    }
    finding = _one(MANAGED, {"resource": {"properties": {"storageProfile": storage}}})
    assert finding.status is Status.FAIL
    assert list(finding.observed) == ["dataDisks[0] (a)", "dataDisks[2] (c)"]


def test_data_disk_of_wrong_shape_is_an_error() -> None:
    storage = {"osDisk": {"managedDisk": {"id": "os"}}, "dataDisks": ["disk"]}
    finding = _one(MANAGED, {"resource": {"properties": {"storageProfile": storage}}})
    assert finding.status is Status.ERROR


# -- unattached disks ---------------------------------------------------------------------------

UNATTACHED = builtin_check("ear_unattached_disk")


@pytest.mark.parametrize(
    ("state", "enc", "status"),
    [
        ("unattached", "encryptionatrestwithcustomerkey", Status.PASS),
        ("Unattached", "EncryptionAtRestWithPlatformKey", Status.FAIL),
        ("ReadyToUpload", "EncryptionAtRestWithPlatformKey", Status.FAIL),
        ("ATTACHED", "EncryptionAtRestWithPlatformKey", Status.NOT_APPLICABLE),
    ],
)
def test_disk_states(state: str, enc: str, status: Status) -> None:
    body = {"resource": {"properties": {"diskState": state, "encryption": {"type": enc}}}}
    assert _one(UNATTACHED, body).status is status


def test_accepted_encryption_types_are_a_parameter() -> None:
    body = {
        "resource": {
            "properties": {
                "diskState": "Unattached",
                "encryption": {"type": "EncryptionAtRestWithPlatformKey"},
            }
        }
    }
    params = {"encryption_types": ["EncryptionAtRestWithPlatformKey"]}
    assert _one(UNATTACHED, body, params).status is Status.PASS


def test_encryption_block_of_wrong_shape_is_an_error() -> None:
    body = {"resource": {"properties": {"diskState": "Unattached", "encryption": "platform"}}}
    assert _one(UNATTACHED, body).status is Status.ERROR


# -- property sets (Redis) ----------------------------------------------------------------------

REDIS = builtin_check("eit_redis_tls")


@pytest.mark.parametrize(
    ("props", "status"),
    [
        ({"enableNonSslPort": "False", "minimumTlsVersion": "1.2"}, Status.PASS),
        ({"enableNonSslPort": False, "minimumTlsVersion": "TLS1_3"}, Status.PASS),
        ({"enableNonSslPort": False, "minimumTlsVersion": "1.1"}, Status.FAIL),
        ({"enableNonSslPort": False, "minimumTlsVersion": "latest"}, Status.FAIL),
        ({"enableNonSslPort": "no", "minimumTlsVersion": "1.2"}, Status.FAIL),
    ],
)
def test_property_set_values(props: dict[str, Any], status: Status) -> None:
    assert _one(REDIS, {"resource": {"properties": props}}).status is status


def test_every_shortfall_is_reported_in_one_finding() -> None:
    finding = _one(
        REDIS, {"resource": {"properties": {"enableNonSslPort": True, "minimumTlsVersion": "1.0"}}}
    )
    assert finding.status is Status.FAIL
    assert "enableNonSslPort is true" in finding.message
    assert "minimumTlsVersion is '1.0'" in finding.message
    assert finding.observed == {
        "properties.enableNonSslPort": True,
        "properties.minimumTlsVersion": "1.0",
    }


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"equals": {"properties.enableNonSslPort": False}},
        {"equals": {"properties.enableNonSslPort": []}},
        {"tls_floor": {"properties.minimumTlsVersion": "newest"}},
    ],
)
def test_bad_property_set_parameters_are_errors(params: dict[str, Any]) -> None:
    body = {"resource": {"properties": {"enableNonSslPort": False, "minimumTlsVersion": "1.2"}}}
    finding = _one(REDIS, body, params)
    assert finding.status is Status.ERROR


def test_property_set_can_read_a_detail_document() -> None:
    check = replace(REDIS, requires=("config/web",))
    params = {"source": "config/web", "tls_floor": {"properties.minTlsVersion": "1.2"}}
    body = {
        "resource": {},
        "details": {"config/web": {"properties": {"minTlsVersion": "1.0"}}},
    }
    finding = _one(check, body, params)
    assert finding.status is Status.FAIL


# -- server parameters (PostgreSQL) -------------------------------------------------------------

POSTGRES = builtin_check("eit_postgres_tls")


def _params(*pairs: tuple[str, Any]) -> dict[str, Any]:
    items = [{"name": n, "properties": {"value": v}} for n, v in pairs]
    return {"details": {"configurations": {"value": items}}}


def test_parameter_names_compare_case_insensitively() -> None:
    body = _params(("Require_Secure_Transport", "On"), ("SSL_MIN_PROTOCOL_VERSION", "tlsv1.2"))
    assert _one(POSTGRES, body).status is Status.PASS


@pytest.mark.parametrize(
    ("version", "status"),
    [("TLSv1.3", Status.PASS), ("TLSv1.1", Status.FAIL), ("TLSv1", Status.FAIL), ("", Status.FAIL)],
)
def test_postgres_protocol_floor(version: str, status: Status) -> None:
    body = _params(("require_secure_transport", "on"), ("ssl_min_protocol_version", version))
    assert _one(POSTGRES, body).status is status


def test_both_parameters_missing_are_both_named() -> None:
    finding = _one(POSTGRES, _params(("array_nulls", "on")))
    assert finding.status is Status.FAIL
    assert "require_secure_transport is missing" in finding.message
    assert "ssl_min_protocol_version is missing" in finding.message


@pytest.mark.parametrize(
    "items",
    [
        [{"properties": {"value": "on"}}],
        [{"name": "require_secure_transport"}],
        [{"name": "require_secure_transport", "properties": "on"}],
        ["require_secure_transport=on"],
    ],
)
def test_malformed_parameter_items_are_errors(items: list[Any]) -> None:
    body = {"details": {"configurations": {"value": items}}}
    finding = _one(POSTGRES, body)
    assert finding.status is Status.ERROR
    assert "unexpected data shape" in finding.message


def test_parameter_gap_on_another_server_does_not_touch_this_one() -> None:
    other = f"{RG}/Microsoft.DBforPostgreSQL/flexibleServers/other"
    body = {
        **_params(("require_secure_transport", "on"), ("ssl_min_protocol_version", "TLSv1.2")),
        "gaps": [{"scope": other, "source": "configurations", "reason": "403"}],
    }
    assert _one(POSTGRES, body).status is Status.PASS


# -- expression and value_in checks over Microsoft's shapes -------------------------------------

TDE = builtin_check("ear_sql_tde_enabled")


def test_tde_state_compares_case_insensitively() -> None:
    body = {
        "resource": {"name": "db1"},
        "details": {"transparentDataEncryption/current": {"properties": {"state": "enabled"}}},
    }
    assert _one(TDE, body).status is Status.PASS


def test_master_database_named_with_its_server_is_not_applicable() -> None:
    assert _one(TDE, {"resource": {"name": "server1/master"}}).status is Status.NOT_APPLICABLE


def test_storage_secondary_in_other_subscription_shape() -> None:
    check = builtin_check("residency_storage_secondary_us")
    body = {
        "resource": {
            "sku": {"name": "Standard_RAGRS"},
            "properties": {"secondaryLocation": "brazilsouth"},
        }
    }
    finding = _one(check, body)
    assert finding.status is Status.FAIL
    assert "brazilsouth" in finding.message
