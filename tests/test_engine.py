"""Fail-closed evaluation: missing or unreadable data gives ERROR for exactly its scope."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from azaudit.casebook import case_config
from azaudit.catalogue import Catalogue, Check
from azaudit.engine import evaluate, evaluate_check
from azaudit.models import CollectionGap, Finding, Status
from azaudit.snapshot import Snapshot
from tests.catalogue_support import builtin_catalogue

SUB_A = "aaaaaaaa-0000-0000-0000-000000000001"
SUB_B = "bbbbbbbb-0000-0000-0000-000000000002"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return builtin_catalogue()


def _check(catalogue: Catalogue, check_id: str) -> Check:
    check = catalogue.get(check_id)
    assert check is not None
    return check


def _site(sub: str, name: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/rg/providers/Microsoft.Web/sites/{name}",
        "name": name,
        "type": "Microsoft.Web/sites",
        "location": "eastus",
        "subscriptionId": sub,
        "properties": {"httpsOnly": True},
    }


def _storage(sub: str, name: str, https: Any) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/rg/providers/"
        f"Microsoft.Storage/storageAccounts/{name}",
        "name": name,
        "type": "Microsoft.Storage/storageAccounts",
        "location": "eastus",
        "subscriptionId": sub,
        "properties": {"supportsHttpsTrafficOnly": https},
    }


def _snapshot(
    resources: Iterable[Mapping[str, Any]],
    details: Mapping[str, Mapping[str, Any]] | None = None,
    gaps: Iterable[CollectionGap] = (),
    graph: Mapping[str, Any] | None = None,
) -> Snapshot:
    return Snapshot(
        collected_at="2026-11-01T00:00:00Z",
        tool_version="test",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": "tenant-1", "displayName": "Tenant"},
        subscriptions=(
            {"subscriptionId": SUB_A, "displayName": "a"},
            {"subscriptionId": SUB_B, "displayName": "b"},
        ),
        resources=tuple(resources),
        details=details or {},
        graph=graph or {},
        gaps=tuple(gaps),
    )


def _by_resource(findings: Iterable[Finding]) -> dict[str, Status]:
    return {f.resource_id.rsplit("/", 1)[-1]: f.status for f in findings}


def _tls(version: str) -> dict[str, Any]:
    return {"config/web": {"properties": {"minTlsVersion": version, "scmMinTlsVersion": "1.2"}}}


def test_detail_gap_gives_error_only_for_its_scope(catalogue: Catalogue) -> None:
    good, gapped = _site(SUB_A, "good"), _site(SUB_B, "gapped")
    snap = _snapshot(
        [good, gapped],
        details={good["id"]: _tls("1.2")},
        gaps=[CollectionGap(gapped["id"], "config/web", "403 AuthorizationFailed", 403)],
    )
    findings = list(evaluate_check(snap, _check(catalogue, "eit_app_tls12"), case_config()))
    assert _by_resource(findings) == {"good": Status.PASS, "gapped": Status.ERROR}
    error = next(f for f in findings if f.status is Status.ERROR)
    assert "403 AuthorizationFailed" in error.message
    assert error.resource_id == gapped["id"]


def test_absent_document_without_gap_is_error_not_pass(catalogue: Catalogue) -> None:
    snap = _snapshot([_site(SUB_A, "silent")])
    (finding,) = evaluate_check(snap, _check(catalogue, "eit_app_tls12"), case_config())
    assert finding.status is Status.ERROR
    assert "not collected" in finding.message


def test_inventory_gap_gives_one_error_per_resource_check_for_that_subscription(
    catalogue: Catalogue,
) -> None:
    snap = _snapshot(
        [_storage(SUB_A, "visible", True)],
        gaps=[CollectionGap(f"/subscriptions/{SUB_B}", "resources", "403 on subscription", 403)],
    )
    findings = list(
        evaluate_check(snap, _check(catalogue, "eit_storage_https_only"), case_config())
    )
    statuses = {(f.subscription_id, f.status) for f in findings}
    assert statuses == {(SUB_A, Status.PASS), (SUB_B, Status.ERROR)}
    error = next(f for f in findings if f.status is Status.ERROR)
    assert error.resource_id == f"/subscriptions/{SUB_B}"
    assert "403 on subscription" in error.message


def test_wildcard_gap_covers_every_source(catalogue: Catalogue) -> None:
    site = _site(SUB_A, "app")
    snap = _snapshot(
        [site],
        details={site["id"]: _tls("1.2")},
        gaps=[CollectionGap(f"/subscriptions/{SUB_A}", "*", "deadline exceeded")],
    )
    findings = list(evaluate_check(snap, _check(catalogue, "eit_app_tls12"), case_config()))
    assert findings
    assert {f.status for f in findings} == {Status.ERROR}


def test_unknown_shape_is_error_not_pass(catalogue: Catalogue) -> None:
    site = _site(SUB_A, "odd")
    snap = _snapshot([site], details={site["id"]: {"config/web": ["not", "an", "object"]}})
    (finding,) = evaluate_check(snap, _check(catalogue, "eit_app_tls12"), case_config())
    assert finding.status is Status.ERROR
    assert "unexpected data shape" in finding.message


def test_evidence_names_resource_path_observed_and_expected(catalogue: Catalogue) -> None:
    account = _storage(SUB_A, "plainhttp", False)
    snap = _snapshot([account])
    (finding,) = evaluate_check(snap, _check(catalogue, "eit_storage_https_only"), case_config())
    assert finding.status is Status.FAIL
    assert finding.resource_id == account["id"]
    assert finding.property_path == "properties.supportsHttpsTrafficOnly"
    assert finding.observed is False
    assert finding.expected == "true"
    assert finding.subscription_id == SUB_A
    assert finding.location == "eastus"


def test_missing_property_fails(catalogue: Catalogue) -> None:
    account = _storage(SUB_A, "noprop", None)
    account["properties"] = {}
    (finding,) = evaluate_check(
        _snapshot([account]), _check(catalogue, "eit_storage_https_only"), case_config()
    )
    assert finding.status is Status.FAIL
    assert finding.observed is None


def test_resource_types_match_case_insensitively(catalogue: Catalogue) -> None:
    account = _storage(SUB_A, "lower", True)
    account["type"] = "microsoft.storage/storageaccounts"
    (finding,) = evaluate_check(
        _snapshot([account]), _check(catalogue, "eit_storage_https_only"), case_config()
    )
    assert finding.status is Status.PASS


def test_evaluate_runs_checks_in_order(catalogue: Catalogue) -> None:
    account = _storage(SUB_A, "a", True)
    checks = [
        _check(catalogue, "eit_storage_https_only"),
        _check(catalogue, "scope_baa_in_scope_service"),
    ]
    findings = evaluate(_snapshot([account]), checks, case_config())
    assert [f.check_id for f in findings] == [
        "eit_storage_https_only",
        "scope_baa_in_scope_service",
    ]
    assert all(f.status is Status.PASS for f in findings)


# -- never a crash, never silently missing -------------------------------------------------------


def test_an_unexpected_exception_in_one_check_is_error_for_that_check_only() -> None:
    from azaudit.demo import build_demo_snapshot
    from tests.evaluator_support import builtin_check, with_params

    snapshot = build_demo_snapshot()
    config = case_config()
    stale = builtin_check("idn_stale_privileged")
    # A day count no calendar can hold: `timedelta` raises OverflowError inside the evaluator.
    crashing = with_params(stale, {**stale.rule.params, "max_days": 10**12})
    healthy = builtin_check("eit_storage_https_only")
    findings = evaluate(snapshot, [healthy, crashing, builtin_check("idn_owner_count")], config)
    crashed = [f for f in findings if f.check_id == crashing.id]
    assert [f.status for f in crashed] == [Status.ERROR]
    assert "OverflowError" in crashed[0].message
    others = [f for f in findings if f.check_id != crashing.id]
    assert {f.check_id for f in others} == {"eit_storage_https_only", "idn_owner_count"}
    assert others == [
        *evaluate(snapshot, [healthy], config),
        *evaluate(snapshot, [builtin_check("idn_owner_count")], config),
    ]


def test_checks_not_evaluated_by_the_deadline_are_errors_saying_so(catalogue: Catalogue) -> None:
    account = _storage(SUB_A, "a", True)
    snap = _snapshot([account])
    checks = [
        _check(catalogue, "eit_storage_https_only"),
        _check(catalogue, "idn_owner_count"),
        _check(catalogue, "idn_mfa_all_users"),
    ]
    ticks = iter([0.0, 10.0, 11.0])  # the second check starts after the deadline
    findings = evaluate(snap, checks, case_config(), deadline=5.0, clock=lambda: next(ticks))
    first = [f for f in findings if f.check_id == "eit_storage_https_only"]
    assert [f.status for f in first] == [Status.PASS]
    late = [f for f in findings if f.check_id != "eit_storage_https_only"]
    assert {f.check_id for f in late} == {"idn_owner_count", "idn_mfa_all_users"}
    assert all(f.status is Status.ERROR and "time limit" in f.message for f in late)
    assert {f.resource_id for f in late if f.check_id == "idn_owner_count"} == {
        f"/subscriptions/{SUB_A}",
        f"/subscriptions/{SUB_B}",
    }


def test_no_deadline_evaluates_everything(catalogue: Catalogue) -> None:
    snap = _snapshot([_storage(SUB_A, "a", True)])
    check = _check(catalogue, "eit_storage_https_only")
    assert evaluate(snap, [check], case_config()) == evaluate(
        snap, [check], case_config(), deadline=float("inf")
    )


def test_findings_carry_the_check_severity(catalogue: Catalogue) -> None:
    check = _check(catalogue, "eit_storage_https_only")
    (finding,) = evaluate_check(_snapshot([_storage(SUB_A, "a", False)]), check, case_config())
    assert finding.severity is check.meta.severity


def test_one_finding_per_missing_alert_operation_each_with_its_own_identity(
    catalogue: Catalogue,
) -> None:
    check = _check(catalogue, "log_activity_alerts")
    findings = [
        f for f in evaluate_check(_snapshot([]), check, case_config()) if f.subscription_id == SUB_A
    ]
    operations = [str(op) for op in check.rule.params["operations"]]
    assert [f.sub_item for f in findings] == operations
    assert len({f.identity for f in findings}) == len(operations) > 1


def test_finding_identities_are_unique_on_the_demo() -> None:
    from azaudit.demo import build_demo_snapshot

    snapshot = build_demo_snapshot()
    config = case_config()
    findings = evaluate(snapshot, builtin_catalogue().checks, config)
    identities = [f.identity for f in findings]
    assert len(identities) == len(set(identities))
    assert any(f.sub_item for f in findings)


def test_findings_are_built_field_by_field_in_the_finding_s_order() -> None:
    """The engine builds each finding as a plain tuple in `Finding._fields` order: a field
    added, removed or moved in `Finding` must be mirrored there."""
    assert Finding._fields == (
        "check_id",
        "status",
        "resource_id",
        "resource_type",
        "resource_name",
        "subscription_id",
        "location",
        "property_path",
        "observed",
        "expected",
        "message",
        "sub_item",
        "severity",
        "phi",
        "waiver_id",
    )


def test_observed_values_are_kept_as_plain_json_copies() -> None:
    """An evaluator may hand back tuples, read-only mappings or non-string keys as `observed`;
    the finding holds plain JSON (dicts with string keys, lists), never the evaluator's object
    or the snapshot's own container."""
    from types import MappingProxyType

    from azaudit.engine import _jsonable

    rule = {"direction": "Inbound", "ports": ("22", "3389"), "priority": 100}
    observed = _jsonable(
        [MappingProxyType({1: rule, "ok": True, "none": None, "ratio": 0.5}), ("a", Status.FAIL)]
    )
    assert observed == [
        {
            "1": {"direction": "Inbound", "ports": ["22", "3389"], "priority": 100},
            "ok": True,
            "none": None,
            "ratio": 0.5,
        },
        ["a", Status.FAIL],
    ]
    assert type(observed[0]) is dict and type(observed[0]["1"]["ports"]) is list
    assert observed[0]["1"] is not rule


def test_outcomes_are_read_field_by_field_in_the_outcome_s_order() -> None:
    """The engine unpacks each evaluator outcome in `Outcome._fields` order: a field added,
    removed or moved in `Outcome` must be mirrored in `engine._finding`."""
    from azaudit.evaluators.base import Outcome

    assert Outcome._fields == (
        "status",
        "path",
        "observed",
        "expected",
        "message",
        "resource_id",
        "resource_type",
        "resource_name",
        "sub_item",
    )
