"""Tenant-level ARM documents (Microsoft Entra diagnostic settings): collected once, stored
under the scope `/`, served by the emulator, and a gap at `/` when they cannot be read.

Real `ClientSecretCredential`, azure-core pipeline and aiohttp over HTTPS to the emulator on
127.0.0.1 (tests/collect_support.py).
"""

from __future__ import annotations

import dataclasses

import pytest

from azaudit.catalogue import Catalogue
from azaudit.emulator import FaultKind, FaultPlan, FaultRule
from azaudit.engine import evaluate_check
from azaudit.evaluators.base import ScanConfig
from azaudit.models import Status
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.snapshot import Snapshot, snapshot_from_json
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import SUB_A, collect, running, tenant_snapshot

ENTRA = "providers/microsoft.aadiam/diagnosticSettings"
ROUTE = "arm.detail:providers/microsoft.aadiam/diagnosticsettings"
WORKSPACE = (
    f"/subscriptions/{SUB_A}/resourceGroups/rg-mon/providers/"
    "Microsoft.OperationalInsights/workspaces/law"
)


def _setting(name: str, **categories: bool) -> dict[str, object]:
    return {
        "id": f"providers/Microsoft.Aadiam/diagnosticSettings/{name}",
        "type": "",
        "name": name,
        "location": "",
        "properties": {
            "storageAccountId": "",
            "workspaceId": WORKSPACE,
            "eventHubAuthorizationRuleId": "",
            "logs": [
                {"category": c, "enabled": on, "retentionPolicy": {"enabled": False, "days": 0}}
                for c, on in categories.items()
            ],
        },
    }


EXPORTING = {
    "value": [
        _setting(
            "entra-to-law",
            AuditLogs=True,
            SignInLogs=True,
            NonInteractiveUserSignInLogs=True,
            ServicePrincipalSignInLogs=True,
        )
    ]
}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return builtin_catalogue()


def _with_entra(tenant: Snapshot, body: object | None) -> Snapshot:
    details = {scope: dict(docs) for scope, docs in tenant.details.items()}
    if body is None:
        details.pop("/", None)
    else:
        details["/"] = {ENTRA: body}
    return dataclasses.replace(tenant, details=details)


def _verdicts(snapshot: Snapshot, catalogue: Catalogue) -> list[tuple[Status, str]]:
    check = catalogue.get("log_entra_logs_export")
    assert check is not None
    config = ScanConfig(
        default_baa_list(), frozenset(default_us_regions()), snapshot.collected_time
    )
    return [(f.status, f.message) for f in evaluate_check(snapshot, check, config)]


def test_entra_diagnostic_settings_are_collected_once_under_the_tenant_scope(
    catalogue: Catalogue,
) -> None:
    served = _with_entra(tenant_snapshot(catalogue, storage=1), EXPORTING)
    with running(served) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
        requests = [r for r in emulator.requests if r.route == ROUTE]
    assert snapshot.gaps == ()
    assert snapshot.details["/"] == {ENTRA: EXPORTING}
    assert [(r.method, r.path, r.query) for r in requests] == [
        ("GET", "/providers/microsoft.aadiam/diagnosticSettings", "api-version=2017-04-01")
    ]
    # The snapshot round-trips through its JSON form and passes the check.
    reloaded = snapshot_from_json(snapshot.to_json())
    assert reloaded.detail("/", ENTRA) == (True, EXPORTING)
    assert [status for status, _ in _verdicts(reloaded, catalogue)] == [Status.PASS]


def test_a_disabled_category_is_collected_as_is_and_fails(catalogue: Catalogue) -> None:
    body = {
        "value": [
            _setting(
                "entra-to-law",
                AuditLogs=True,
                SignInLogs=True,
                NonInteractiveUserSignInLogs=False,
                ServicePrincipalSignInLogs=True,
            )
        ]
    }
    with running(_with_entra(tenant_snapshot(catalogue, storage=1), body)) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
    assert snapshot.detail("/", ENTRA) == (True, body)
    assert _verdicts(snapshot, catalogue) == [
        (Status.FAIL, "not exported: NonInteractiveUserSignInLogs (disabled in 'entra-to-law')")
    ]


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        (FaultKind.FORBIDDEN, 403, "AuthorizationFailed"),
        (FaultKind.SERVER_ERROR, 500, None),
        (FaultKind.MALFORMED, 200, "MalformedJson"),
    ],
)
def test_an_unreadable_entra_setting_is_a_gap_at_the_tenant_scope_and_an_error(
    catalogue: Catalogue, kind: FaultKind, status: int, code: str | None
) -> None:
    rule = (
        FaultRule(kind, route=ROUTE, status=500)
        if kind is FaultKind.SERVER_ERROR
        else FaultRule(kind, route=ROUTE)
    )
    served = _with_entra(tenant_snapshot(catalogue, storage=1), EXPORTING)
    with running(served, FaultPlan(rules=(rule,))) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
    gaps = [(g.scope, g.source, g.status_code) for g in snapshot.gaps]
    assert gaps == [("/", ENTRA, status)]
    if code is not None:
        assert snapshot.gaps[0].error_code == code
    assert "/" not in snapshot.details
    # The rest of the tenant is collected all the same.
    assert snapshot.graph and snapshot.resources
    [(verdict, message)] = _verdicts(snapshot, catalogue)
    assert verdict is Status.ERROR
    assert ENTRA in message


def test_a_snapshot_without_the_document_is_served_as_not_found_and_becomes_a_gap(
    catalogue: Catalogue,
) -> None:
    # A snapshot written before tenant-level documents existed still loads and serves; the
    # collector records the 404 as a gap, never as "no diagnostic setting".
    old = _with_entra(tenant_snapshot(catalogue, storage=1), None)
    reloaded = snapshot_from_json(old.to_json())
    assert reloaded.detail("/", ENTRA) == (False, None)
    with running(reloaded) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
    assert [(g.scope, g.source, g.status_code) for g in snapshot.gaps] == [("/", ENTRA, 404)]
    assert [status for status, _ in _verdicts(snapshot, catalogue)] == [Status.ERROR]


def test_doctor_probes_the_entra_diagnostic_settings_and_says_how_to_grant_them(
    catalogue: Catalogue,
) -> None:
    from azaudit.collect.doctor import ProbeStatus, run_doctor
    from azaudit.collect.options import LiveOptions
    from tests.collect_support import deps_for

    served = _with_entra(tenant_snapshot(catalogue, storage=1), EXPORTING)
    denied = FaultPlan(rules=(FaultRule(FaultKind.FORBIDDEN, route=ROUTE),))
    outcomes = []
    for plan in (None, denied):
        with running(served, plan) as emulator:
            deps, _ = deps_for(emulator)
            report = run_doctor(LiveOptions(subscriptions=(SUB_A,)), deps)
        [probe] = [p for p in report.probes if ENTRA in p.what]
        outcomes.append(probe)
    assert outcomes[0].status is ProbeStatus.OK
    assert outcomes[1].status is ProbeStatus.MISSING
    assert "403" in outcomes[1].detail
    assert any('--role "Reader" --scope /' in line for line in outcomes[1].fix)
