"""Risk score, weighted posture, names and effective severity, on the demo tenant and by hand."""

from __future__ import annotations

import dataclasses
import functools
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from azaudit.demo import build_demo_snapshot
from azaudit.engine import evaluate
from azaudit.evaluators.base import ScanConfig
from azaudit.models import ScanResult, Severity, Status
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.render.html import render_html
from azaudit.result import (
    _BARE_GUID,
    _SUBSCRIPTION_SCOPE,
    ExitCode,
    FailOn,
    build_result,
    exit_code,
    name_ids,
    resummarise,
)
from azaudit.risk import rank_resources, risk_subject, weighted_posture
from tests.catalogue_support import builtin_catalogue

PACS_NSG = "nsg-pacs-gw-eus"
PHI_SUBSCRIPTIONS = {"nw-prod-clinical", "nw-prod-patient-portal"}


@functools.cache
def demo_result() -> ScanResult:
    snapshot = build_demo_snapshot()
    catalogue = builtin_catalogue()
    config = ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=snapshot.collected_time,
    )
    findings = evaluate(snapshot, catalogue.checks, config)
    return build_result(snapshot, catalogue, findings, config, "2026-11-02T08:00:00Z")


def _with_phi_scope(result: ScanResult) -> ScanResult:
    """The demo as scored with production marked PHI (what --phi-subscription produces)."""
    names = {s.subscription_id.lower(): s.display_name for s in result.subscriptions}
    metas = {c.id: c for c in result.checks}
    order = list(Severity)[::-1]  # info .. critical
    scored = []
    for f in result.findings:
        phi = names.get((f.subscription_id or "").lower()) in PHI_SUBSCRIPTIONS
        base = metas[f.check_id].severity
        severity = order[min(order.index(base) + 1, 4)] if phi else base
        scored.append(f._replace(phi=phi, severity=severity))
    staged = dataclasses.replace(result, findings=tuple(scored))
    return resummarise(staged, builtin_catalogue().safeguards)


def _rank_of(result: ScanResult, name: str) -> int:
    for risk in result.summary["top_risks"]:
        if risk["resource_name"] == name:
            return int(risk["rank"])
    raise AssertionError(f"{name} is not among the top risks")


@pytest.mark.parametrize("phi_scope", [False, True], ids=["no-phi-scope", "production-phi"])
def test_internet_open_rdp_on_the_pacs_gateway_outranks_defender_plan_tiers(
    phi_scope: bool,
) -> None:
    result = _with_phi_scope(demo_result()) if phi_scope else demo_result()
    top = result.summary["top_risks"]
    pacs = _rank_of(result, PACS_NSG)
    entry = top[pacs - 1]
    assert entry["subscription_name"] == "nw-prod-clinical"
    assert entry["exposure"] == "internet"
    assert entry["findings"][0]["check_id"] == "net_nsg_mgmt_ports_open"
    assert entry["findings"][0]["resource_name"] == "Allow-RDP-Vendor-Temp"
    defender = [
        r["rank"] for r in top if any(f["check_id"] == "mdc_plans_enabled" for f in r["findings"])
    ]
    assert all(pacs < rank for rank in defender)
    if phi_scope:
        assert pacs <= 3


def test_top_risks_name_subscriptions_and_users_not_guids() -> None:
    result = demo_result()
    top = result.summary["top_risks"]
    display = {s.display_name for s in result.subscriptions}
    for risk in top:
        assert risk["subscription_name"] is None or risk["subscription_name"] in display
    names = [risk["resource_name"] for risk in top]
    # Tenant findings are named by the tenant, Entra users by their UPN, never by an object id.
    assert "raj.patel@northwindhealth.example" in names
    assert "Northwind Regional Health" in names
    assert not any(re.fullmatch(r"[0-9a-f-]{36}", name) for name in names)


def test_weighted_posture_is_not_inflated_by_inventory_passes() -> None:
    summary = demo_result().summary
    assert summary["posture_raw"] == 75.9
    assert summary["posture"] is not None
    assert summary["posture"] < summary["posture_raw"] - 5
    families = {f["family"]: f for f in summary["families"]}
    assert families["scope"]["counts"]["PASS"] > 200
    # Hundreds of BAA passes weigh as one family; a family with nothing evaluated (only
    # MANUAL findings awaiting attestation) has no posture and does not count.
    evaluated = [f["posture"] for f in summary["families"] if f["posture"] is not None]
    assert len(evaluated) < len(summary["families"])
    assert summary["posture"] == pytest.approx(sum(evaluated) / len(evaluated), abs=0.1)


def test_weighted_posture_by_hand() -> None:
    result = demo_result()
    metas = {c.id: c for c in result.checks}
    https = next(f for f in result.findings if f.check_id == "eit_storage_https_only")
    passing = https._replace(status=Status.PASS)
    failing = https._replace(status=Status.FAIL)
    critical_fail = failing._replace(severity=Severity.CRITICAL)
    # high weighs 6, critical 10: one PASS (6) against one critical FAIL (10) is 6 / 16.
    overall, families = weighted_posture([passing, critical_fail], metas)
    assert overall == families["encryption_in_transit"] == round(100 * 6 / 16, 1)
    assert weighted_posture([passing, failing], metas)[0] == 50.0
    assert weighted_posture([], metas) == (None, {})


def test_names_come_from_the_snapshot() -> None:
    result = demo_result()
    names = result.display_names
    user = "b9e7035c-4a96-5fbe-9871-eb23472565ea"
    assert "raj.patel@northwindhealth.example" in names[user]
    sub = next(s for s in result.subscriptions if s.display_name == "nw-dev-analytics")
    assert names[sub.subscription_id.lower()] == "nw-dev-analytics"
    assert names["62e90394-69f5-4237-9190-012177145e10"] == "Global Administrator"
    # The custom role is named, not shown by its GUID.
    assert names["c2667fa1-60b5-5038-88c7-8349ae2cd51c"] == "NW Dev Full Access"
    # A role assignment is named by who holds which role.
    assert names["0e05755c-989e-5c79-9abb-bf65accc515d"] == (
        "Raj Patel (raj.patel@northwindhealth.example): User Access Administrator"
    )
    page = render_html(result)
    uaa = page[page.index('id="check-idn_uaa_restricted"') :]
    uaa = uaa[: uaa.index("</article>")]
    assert "Raj Patel (raj.patel@northwindhealth.example)" in uaa


def test_exit_code_and_counts_use_effective_severity() -> None:
    result = demo_result()
    medium_only = tuple(
        f._replace(status=Status.PASS)
        if f.status is Status.FAIL and f.check_id != "log_activity_alerts"
        else f
        for f in result.findings
    )
    base = resummarise(dataclasses.replace(result, findings=medium_only), {})
    assert exit_code(base, FailOn.HIGH, strict=False) is ExitCode.OK
    escalated = resummarise(
        dataclasses.replace(
            base,
            findings=tuple(
                f._replace(severity=Severity.HIGH, phi=True)
                if f.check_id == "log_activity_alerts"
                else f
                for f in base.findings
            ),
        ),
        {},
    )
    assert exit_code(escalated, FailOn.HIGH, strict=False) is ExitCode.FINDINGS
    assert (
        escalated.summary["failing_by_severity"]["high"]
        == base.summary["failing_by_severity"]["medium"]
    )


@pytest.mark.parametrize(
    ("resource_id", "resource_type", "subject"),
    [
        (
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/"
            "networkSecurityGroups/nsg/securityRules/rdp",
            "Microsoft.Network/networkSecurityGroups/securityRules",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/networkSecurityGroups/nsg",
        ),
        (
            "/subscriptions/s/providers/Microsoft.Security/pricings/VirtualMachines",
            "Microsoft.Security/pricings",
            "/subscriptions/s",
        ),
        (
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
            "Microsoft.Storage/storageAccounts",
            "/subscriptions/s/resourceGroups/g/providers/Microsoft.Storage/storageAccounts/a",
        ),
        ("/tenants/t/users/u", "Microsoft.Entra/users", "/tenants/t/users/u"),
    ],
)
def test_risk_subject_files_children_under_their_parent(
    resource_id: str, resource_type: str, subject: str
) -> None:
    assert risk_subject(resource_id, resource_type) == subject


def test_subscription_breakdown_adds_up() -> None:
    result = demo_result()
    total = sum(s["counts"]["PASS"] + s["counts"]["FAIL"] for s in result.summary["subscriptions"])
    tenant = result.summary["tenant_wide"]["counts"]
    assert total + tenant["PASS"] + tenant["FAIL"] == sum(
        1 for f in result.findings if f.status in (Status.PASS, Status.FAIL)
    )


def test_finding_messages_name_known_ids_and_keep_paths() -> None:
    names = {
        "f1d50a8b-7c3e-4b26-a09d-3e8b5c2f7a74": "nw-dev-analytics",
        "b9e7035c-4a96-5fbe-9871-eb23472565ea": "Raj Patel (raj.patel@northwindhealth.example)",
    }
    message = (
        "User Access Administrator on /subscriptions/F1D50A8B-7c3e-4b26-a09d-3e8b5c2f7a74 held by "
        "User b9e7035c-4a96-5fbe-9871-eb23472565ea; also on /subscriptions/f1d50a8b-7c3e-4b26-"
        "a09d-3e8b5c2f7a74/resourceGroups/rg-x; unknown 00000000-0000-0000-0000-000000000001"
    )
    assert name_ids(message, names) == (
        "User Access Administrator on subscription 'nw-dev-analytics' held by User Raj Patel "
        "(raj.patel@northwindhealth.example); also on /subscriptions/f1d50a8b-7c3e-4b26-"
        "a09d-3e8b5c2f7a74/resourceGroups/rg-x; unknown 00000000-0000-0000-0000-000000000001"
    )


_NAMED_GUID = "f1d50a8b-7c3e-4b26-a09d-3e8b5c2f7a74"


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    _NAMED_GUID,
                    _NAMED_GUID.upper(),
                    "/subscriptions/",
                    "/subscriptions/" + _NAMED_GUID,
                    "/resourceGroups/rg",
                    "-",
                    "/",
                    ".",
                    "_",
                    " ",
                    "x",
                    "0",
                ]
            ),
            st.text(alphabet="0123456789abcdefABCDEF-/ .xé", max_size=8),
        ),
        max_size=8,
    ).map("".join)
)
def test_naming_an_id_reads_as_both_full_passes(message: str) -> None:
    """The search that lets `name_ids` leave most messages alone never passes over one that
    either replacement would change."""
    names = {_NAMED_GUID: "nw-dev-analytics"}

    def subscription(match: re.Match[str]) -> str:
        name = names.get(match.group(1).lower())
        return f"subscription '{name}'" if name else match.group(0)

    def bare(match: re.Match[str]) -> str:
        return names.get(match.group(0).lower(), match.group(0))

    both = _BARE_GUID.sub(bare, _SUBSCRIPTION_SCOPE.sub(subscription, message))
    assert name_ids(message, names) == both


def test_demo_messages_show_principal_names_not_object_ids() -> None:
    result = demo_result()
    uaa = [
        f for f in result.findings if f.check_id == "idn_uaa_restricted" and f.status is Status.FAIL
    ]
    assert uaa
    assert all("subscription '" in f.message for f in uaa)
    assert any("Raj Patel (raj.patel@northwindhealth.example)" in f.message for f in uaa)


def test_resources_rank_by_worst_score_then_total_then_id_and_a_limit_keeps_the_head() -> None:
    """The documented order (worst finding's score, then the sum of scores, then the id; each
    resource's findings by score, then position), and `limit` gives the head of that order."""
    result = demo_result()
    metas = {c.id: c for c in result.checks}
    ranked = rank_resources(enumerate(result.findings), metas)
    assert len(ranked) > 12
    keys = [
        (-scored[0].score, -sum(s.score for s in scored), subject) for subject, scored in ranked
    ]
    assert keys == sorted(keys)
    for _, scored in ranked:
        assert [(-s.score, s.position) for s in scored] == sorted(
            (-s.score, s.position) for s in scored
        )
        assert all(result.findings[s.position].status is Status.FAIL for s in scored)
    assert sum(len(scored) for _, scored in ranked) == sum(
        1 for f in result.findings if f.status is Status.FAIL
    )
    for limit in (0, 1, 3, 10, len(ranked), len(ranked) + 5):
        assert rank_resources(enumerate(result.findings), metas, limit=limit) == ranked[:limit]
