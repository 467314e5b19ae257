"""PHI scope: membership by subscription, resource group and tag; exact escalated severities."""

from __future__ import annotations

import functools

import pytest

from azaudit.demo import build_demo_snapshot
from azaudit.demo.org import CLINICAL, DEV, PLATFORM, PORTAL
from azaudit.engine import evaluate
from azaudit.errors import InputError
from azaudit.evaluators.base import ScanConfig
from azaudit.models import Finding, Severity, Status
from azaudit.phi import PhiScope, apply_phi_scope, escalate, parse_phi_scope
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.snapshot import subscription_of
from tests.catalogue_support import builtin_catalogue

SNAPSHOT = build_demo_snapshot()
CATALOGUE = builtin_catalogue()
SEVERITIES = {c.id: c.meta.severity for c in CATALOGUE.checks}
PACS_RDP = (
    f"{CLINICAL.scope}/resourceGroups/rg-clinical-network-eus/providers/Microsoft.Network/"
    "networkSecurityGroups/nsg-pacs-gw-eus/securityRules/Allow-RDP-Vendor-Temp"
)
DEV_SSH = (
    f"{DEV.scope}/resourceGroups/rg-dev-network-eus/providers/Microsoft.Network/"
    "networkSecurityGroups/nsg-dev-vms-eus/securityRules/AllowSSH"
)
DATADOG = (
    f"{DEV.scope}/resourceGroups/rg-dev-observability/providers/Microsoft.Datadog/monitors/"
    "dd-nw-dev-observability"
)
EHR_VAULT = (
    f"{CLINICAL.scope}/resourceGroups/rg-clinical-ehr-eus/providers/Microsoft.KeyVault/vaults/"
    "kv-nw-ehr-legacy"
)
PACS_DISK = (
    f"{CLINICAL.scope}/resourceGroups/rg-clinical-imaging-eus/providers/Microsoft.Compute/disks/"
    "vm-pacs-gw-01-data-01"
)


@functools.cache
def demo_findings() -> tuple[Finding, ...]:
    """The demo tenant evaluated by the whole catalogue, before PHI scope and waivers."""
    config = ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=SNAPSHOT.collected_time,
    )
    return tuple(evaluate(SNAPSHOT, CATALOGUE.checks, config))


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return list(demo_findings())


def _scoped(findings: list[Finding], scope: PhiScope) -> dict[tuple[str, str], Finding]:
    return {
        (f.check_id, f.resource_id): f
        for f in apply_phi_scope(findings, SNAPSHOT, scope, SEVERITIES)
    }


def _fail(scoped: dict[tuple[str, str], Finding], check: str, rid: str) -> Finding:
    finding = scoped[(check, rid)]
    assert finding.status is Status.FAIL
    return finding


def test_escalation_is_one_step_capped_at_critical() -> None:
    assert [escalate(s) for s in Severity] == [
        Severity.CRITICAL,
        Severity.CRITICAL,
        Severity.HIGH,
        Severity.MEDIUM,
        Severity.LOW,
    ]


def test_demo_phi_subscriptions_escalate_exactly(findings: list[Finding]) -> None:
    scope = parse_phi_scope([CLINICAL.subscription_id, PORTAL.subscription_id], [], [])
    scoped = _scoped(findings, scope)
    rdp = _fail(scoped, "net_nsg_mgmt_ports_open", PACS_RDP)
    assert (rdp.phi, rdp.severity) == (True, Severity.CRITICAL)  # high, in PHI scope
    ssh = _fail(scoped, "net_nsg_mgmt_ports_open", DEV_SSH)
    assert (ssh.phi, ssh.severity) == (False, Severity.HIGH)  # the dev sandbox keeps high
    vault = _fail(scoped, "kv_rbac_model", EHR_VAULT)
    assert SEVERITIES["kv_rbac_model"] is Severity.MEDIUM
    assert (vault.phi, vault.severity) == (True, Severity.HIGH)
    disk = _fail(scoped, "ear_disk_cmk", PACS_DISK)
    assert SEVERITIES["ear_disk_cmk"] is Severity.LOW
    assert (disk.phi, disk.severity) == (True, Severity.MEDIUM)
    datadog = _fail(scoped, "scope_baa_in_scope_service", DATADOG)
    assert (datadog.phi, datadog.severity) == (False, Severity.HIGH)
    # Entra ID settings govern every identity that reaches PHI: tenant-wide findings are PHI
    # (and so are those about a site outside Azure, which no scope can name).
    tenant = [
        f
        for f in scoped.values()
        if f.subscription_id is None and subscription_of(f.resource_id) is None
    ]
    assert tenant and all(f.phi for f in tenant)
    # A web finding about an app is judged by the app's own resource: the dev sandbox's sites
    # are outside the scope.
    dev_sites = [
        f
        for f in scoped.values()
        if f.check_id.startswith("web_") and subscription_of(f.resource_id) == DEV.subscription_id
    ]
    assert dev_sites and not any(f.phi for f in dev_sites)
    mfa = next(f for f in tenant if f.check_id == "idn_mfa_privileged")
    assert mfa.severity is Severity.CRITICAL  # already critical: capped
    for finding in scoped.values():
        assert finding.severity is not None
        base = SEVERITIES[finding.check_id]
        assert finding.severity is (escalate(base) if finding.phi else base)
        if finding.subscription_id in (PLATFORM.subscription_id, DEV.subscription_id):
            assert finding.phi is False
        if finding.subscription_id in (CLINICAL.subscription_id, PORTAL.subscription_id):
            assert finding.phi is True


def test_a_phi_resource_outside_the_baa_is_critical(findings: list[Finding]) -> None:
    scoped = _scoped(findings, PhiScope(resource_groups=("rg-dev-observability",)))
    datadog = _fail(scoped, "scope_baa_in_scope_service", DATADOG)
    assert (datadog.phi, datadog.severity) == (True, Severity.CRITICAL)
    ssh = _fail(scoped, "net_nsg_mgmt_ports_open", DEV_SSH)
    assert ssh.phi is False
    # The dev subscription holds a PHI resource group, so its subscription-level controls
    # (Defender plans, activity-log export) protect PHI too.
    dev_level = [f for f in scoped.values() if f.resource_id == DEV.scope]
    platform_level = [f for f in scoped.values() if f.resource_id == PLATFORM.scope]
    assert dev_level and all(f.phi for f in dev_level)
    assert platform_level and not any(f.phi for f in platform_level)


def test_resource_group_scope_can_name_the_subscription(findings: list[Finding]) -> None:
    here = _scoped(
        findings, PhiScope(resource_groups=(f"{DEV.subscription_id}/rg-dev-network-eus",))
    )
    assert _fail(here, "net_nsg_mgmt_ports_open", DEV_SSH).phi is True
    elsewhere = _scoped(
        findings, PhiScope(resource_groups=(f"{CLINICAL.subscription_id}/rg-dev-network-eus",))
    )
    assert _fail(elsewhere, "net_nsg_mgmt_ports_open", DEV_SSH).phi is False


def test_tag_scope_reads_the_resource_and_its_parents_tags(findings: list[Finding]) -> None:
    # Northwind stamps data-classification=phi on every resource of the PHI subscriptions.
    scoped = _scoped(findings, parse_phi_scope([], [], ["Data-Classification=PHI"]))
    # The NSG rule is a child of the tagged NSG; tag names and values compare case-insensitively.
    assert _fail(scoped, "net_nsg_mgmt_ports_open", PACS_RDP).phi is True
    assert _fail(scoped, "net_nsg_mgmt_ports_open", DEV_SSH).phi is False
    assert _fail(scoped, "kv_rbac_model", EHR_VAULT).severity is Severity.HIGH


def test_subscription_tags_mark_everything_inside(findings: list[Finding]) -> None:
    scoped = _scoped(findings, parse_phi_scope([], [], ["hipaa-phi=true"]))
    assert _fail(scoped, "net_nsg_mgmt_ports_open", PACS_RDP).phi is True
    assert _fail(scoped, "net_nsg_mgmt_ports_open", DEV_SSH).phi is False


def test_without_a_scope_everything_is_phi_and_escalated(findings: list[Finding]) -> None:
    scope = PhiScope()
    assert scope.info.configured is False
    scoped = _scoped(findings, scope)
    assert all(f.phi for f in scoped.values())
    assert _fail(scoped, "net_nsg_mgmt_ports_open", DEV_SSH).severity is Severity.CRITICAL
    assert _fail(scoped, "scope_baa_in_scope_service", DATADOG).severity is Severity.CRITICAL


def test_phi_annotation_keeps_every_other_field(findings: list[Finding]) -> None:
    scoped = apply_phi_scope(findings, SNAPSHOT, PhiScope(), SEVERITIES)
    restored = [
        f._replace(phi=o.phi, severity=o.severity) for f, o in zip(scoped, findings, strict=True)
    ]
    assert restored == findings


@pytest.mark.parametrize(
    ("subs", "groups", "tags", "message"),
    [
        (["prod"], [], [], "--phi-subscription 'prod': expected a subscription id"),
        ([], ["not-a-guid/rg"], [], "--phi-resource-group 'not-a-guid/rg': expected"),
        ([], ["rg with space"], [], "expected a resource group name or SUBSCRIPTION_ID/"),
        ([], [], ["phi"], "--phi-tag 'phi': expected KEY=VALUE"),
        ([], [], ["=phi"], "--phi-tag '=phi': expected KEY=VALUE"),
    ],
)
def test_malformed_scope_is_named(
    subs: list[str], groups: list[str], tags: list[str], message: str
) -> None:
    with pytest.raises(InputError) as excinfo:
        parse_phi_scope(subs, groups, tags)
    assert message in str(excinfo.value)


def test_scoring_keeps_every_other_field_of_the_finding() -> None:
    """Scoring builds each finding anew; no field may be lost (a new field must be copied)."""
    finding = Finding(
        check_id="idn_mfa_all_users",
        status=Status.WAIVED,
        resource_id="/subscriptions/s/resourceGroups/rg/providers/X/y/z",
        resource_type="X/y",
        resource_name="z",
        subscription_id="s",
        location="eastus",
        property_path="properties.a",
        observed={"a": [1, 2]},
        expected="b",
        message="m",
        sub_item="item",
        severity=Severity.LOW,
        phi=False,
        waiver_id="W-1",
    )
    (scored,) = apply_phi_scope([finding], SNAPSHOT, PhiScope(), {finding.check_id: Severity.HIGH})
    assert scored.phi is True and scored.severity is escalate(Severity.HIGH)
    for name in Finding._fields:
        if name not in {"phi", "severity"}:
            assert getattr(scored, name) == getattr(finding, name), name
