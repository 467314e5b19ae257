"""A deterministic `ScanResult` for the report tests: a small tenant run through the real engine.

The snapshot is built in code (three subscriptions, one of them unreadable) and evaluated with
real checks from the built-in catalogue plus two organisation checks, so that the golden files
cover every status: PASS, FAIL, ERROR (from a collection gap), MANUAL and NOT_APPLICABLE. Names
and tags carry HTML/JS payloads so the report tests can prove they render inert.

Nothing here reads the clock or the installed version: times, the tool version and the BAA list
are fixed, so the golden files change only when the templates, the schema or the checks change.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from azaudit.catalogue import CaseSource, Catalogue, Check, Rule
from azaudit.engine import evaluate
from azaudit.evaluators.base import ScanConfig
from azaudit.models import (
    BaaListInfo,
    CheckMeta,
    CollectionGap,
    EvidenceInfo,
    Finding,
    FindingChange,
    HistoryInfo,
    PhiScopeInfo,
    Remediation,
    ScanResult,
    Severity,
    Status,
    TargetKind,
    TrendPoint,
    WaiverInfo,
    WebSiteInfo,
)
from azaudit.reference import BaaList, ServiceCoverage, TypeMapping
from azaudit.result import build_result, resummarise
from azaudit.snapshot import Snapshot
from tests.catalogue_support import builtin_catalogue

GENERATED_AT = "2026-11-02T08:00:00Z"
COLLECTED_AT = "2026-11-02T07:45:12Z"
NOW = datetime(2026, 11, 2, 8, 0, 0, tzinfo=UTC)
TOOL_VERSION = "0.0.0+fixture"

TENANT_ID = "7f3c0c1e-0000-4000-8000-000000000001"
SUB_PROD = "11111111-aaaa-4000-8000-000000000001"
SUB_RESEARCH = "22222222-bbbb-4000-8000-000000000002"
SUB_LEGACY = "33333333-cccc-4000-8000-000000000003"

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_ATTRIBUTE = '"><img src=x onerror=alert(1)>'

BUILTIN_CHECKS = (
    "eit_app_tls12",
    "eit_storage_https_only",
    "residency_resource_location_us",
    "scope_baa_in_scope_service",
)
ALLOWED_REGIONS = frozenset({"centralus", "eastus", "eastus2", "westus2", "westus3"})

FAILING_STORAGE_ID = (
    f"/subscriptions/{SUB_PROD}/resourceGroups/rg-clinical/providers/"
    f"Microsoft.Storage/storageAccounts/{XSS_SCRIPT}"
)
GAPPED_SITE_ID = (
    f"/subscriptions/{SUB_PROD}/resourceGroups/rg-clinical/providers/Microsoft.Web/sites/"
    "patient-portal"
)


def _resource(
    sub: str,
    group: str,
    rtype: str,
    name: str,
    location: str,
    properties: dict[str, Any] | None = None,
    tags: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/resourceGroups/{group}/providers/{rtype}/{name}",
        "name": name,
        "type": rtype,
        "location": location,
        "resourceGroup": group,
        "subscriptionId": sub,
        "tags": tags or {},
        "properties": properties or {},
    }


def _web_config(min_tls: str, scm_min_tls: str) -> dict[str, Any]:
    return {
        "config/web": {"properties": {"minTlsVersion": min_tls, "scmMinTlsVersion": scm_min_tls}}
    }


def fixture_snapshot() -> Snapshot:
    """The fixture tenant: production (one gap), research, and an unreadable legacy subscription."""
    research_api = _resource(
        SUB_RESEARCH, "rg-research", "Microsoft.Web/sites", "research-api", "eastus2"
    )
    research_web = _resource(
        SUB_RESEARCH, "rg-research", "Microsoft.Web/sites", "research-web", "centralus"
    )
    resources = (
        _resource(
            SUB_PROD,
            "rg-clinical",
            "Microsoft.Storage/storageAccounts",
            "phirecords01",
            "eastus",
            {"supportsHttpsTrafficOnly": True},
            {"dataClassification": "phi"},
        ),
        _resource(
            SUB_PROD,
            "rg-clinical",
            "Microsoft.Storage/storageAccounts",
            XSS_SCRIPT,
            "westeurope",
            {"supportsHttpsTrafficOnly": False},
            {"owner": XSS_SCRIPT, "costCenter": XSS_ATTRIBUTE},
        ),
        _resource(SUB_PROD, "rg-clinical", "Microsoft.Web/sites", "patient-portal", "eastus"),
        research_api,
        research_web,
        _resource(
            SUB_RESEARCH, "rg-research", "Microsoft.Datadog/monitors", "dd-research", "eastus"
        ),
        _resource(
            SUB_RESEARCH, "rg-research", "Microsoft.Network/dnszones", "research.example", "global"
        ),
        _resource(
            SUB_RESEARCH, "rg-research", "Contoso.Imaging/archives", "pacs-archive", "eastus"
        ),
    )
    return Snapshot(
        collected_at=COLLECTED_AT,
        tool_version=TOOL_VERSION,
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": TENANT_ID, "displayName": "Contoso Health"},
        subscriptions=(
            {"subscriptionId": SUB_PROD, "displayName": "Clinical Production", "state": "Enabled"},
            {
                "subscriptionId": SUB_RESEARCH,
                "displayName": f"Research {XSS_ATTRIBUTE}",
                "state": "Enabled",
            },
            {"subscriptionId": SUB_LEGACY, "displayName": "Legacy Imaging", "state": "Warned"},
        ),
        resources=resources,
        details={
            str(research_api["id"]): _web_config("1.2", "1.0"),
            str(research_web["id"]): _web_config("1.2", "1.2"),
        },
        graph={},
        gaps=(
            CollectionGap(
                scope=f"/subscriptions/{SUB_PROD}",
                source="config/web",
                reason="403 AuthorizationFailed: the client lacks Microsoft.Web/sites/config/read",
                status_code=403,
                error_code="AuthorizationFailed",
            ),
            CollectionGap(
                scope=f"/subscriptions/{SUB_LEGACY}",
                source="resources",
                reason="Resource Graph query throttled after 4 retries",
                status_code=429,
                error_code="RateLimiting",
            ),
        ),
    )


def fixture_baa_list() -> BaaList:
    """A small, pinned BAA list so that shipped-data updates do not move the golden files."""
    services = {
        "storage": ServiceCoverage("storage", "Storage", True, "high", "fixture"),
        "app_service": ServiceCoverage("app_service", "App Service", True, "high", "fixture"),
        "dns": ServiceCoverage("dns", "DNS", True, "medium", "fixture"),
        "marketplace_3p": ServiceCoverage(
            "marketplace_3p", "Azure Native ISV services", False, "medium", "fixture"
        ),
    }
    types = {
        "microsoft.storage/storageaccounts": TypeMapping(
            "Microsoft.Storage/storageAccounts", "storage", ""
        ),
        "microsoft.web/sites": TypeMapping("Microsoft.Web/sites", "app_service", ""),
        "microsoft.network/dnszones": TypeMapping("Microsoft.Network/dnszones", "dns", ""),
        "microsoft.datadog/monitors": TypeMapping(
            "Microsoft.Datadog/monitors", "marketplace_3p", "operated by Datadog"
        ),
    }
    info = BaaListInfo(
        source="Fixture BAA list (Microsoft Learn audit-scope page, transcribed)",
        version="2026-01-15",
        verified=False,
        path="tests/fixtures_result.py",
    )
    return BaaList(info=info, services=services, types=types)


def _organisation_check(meta: CheckMeta, rule: Rule) -> Check:
    """A check as --checks-dir loads it from the organisation's `contoso-checks/` directory."""
    return Check(
        meta=meta,
        rule=rule,
        requires=(),
        applies_if=None,
        aliases=(),
        case_source=CaseSource(parsed=()),
        path=Path(f"contoso-checks/{meta.id}.yaml"),
    )


def organisation_checks(catalogue: Catalogue) -> tuple[Check, ...]:
    """Two checks an organisation might add with --checks-dir (a tag rule and an attestation)."""
    cite = catalogue.citations
    tag_check = _organisation_check(
        CheckMeta(
            id="org_phi_classification_tag",
            title="Storage accounts carry a dataClassification tag",
            family="custom",
            severity=Severity.LOW,
            citations=(cite["164.308(a)(1)(ii)(A)"],),
            rationale="The risk analysis inventories where PHI lives; the tag records it.",
            remediation=Remediation(
                summary="Tag the account with its data classification.",
                cli="az tag update --resource-id <id> --operation merge "
                "--tags dataClassification=<class>",
            ),
            references=(
                "https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources",
            ),
            target=TargetKind.RESOURCE,
            resource_types=("Microsoft.Storage/storageAccounts",),
            origin="contoso-checks",
        ),
        Rule(
            "expression",
            {
                "expression": "tags.dataClassification != `null`",
                "path": "tags",
                "expected": "a dataClassification tag",
            },
        ),
    )
    attestation = _organisation_check(
        CheckMeta(
            id="org_contingency_plan_tested",
            title="The contingency plan was tested in the last 12 months",
            family="custom",
            severity=Severity.MEDIUM,
            citations=(cite["164.308(a)(7)(ii)(D)"],),
            rationale="A restore that was never rehearsed is not a contingency plan.",
            remediation=Remediation(
                summary="Run and document a restore and failover exercise.",
                portal="Record the exercise report in the compliance evidence store.",
            ),
            references=(),
            target=TargetKind.TENANT,
            resource_types=(),
            origin="contoso-checks",
        ),
        Rule(
            "manual",
            {
                "attest": "Attach the report of the last contingency-plan test "
                "(date, scope, result)."
            },
        ),
    )
    return (tag_check, attestation)


def fixture_config() -> ScanConfig:
    """Fixed BAA list, allowed regions and clock."""
    return ScanConfig(baa_list=fixture_baa_list(), allowed_regions=ALLOWED_REGIONS, now=NOW)


@functools.cache
def fixture_catalogue() -> Catalogue:
    """The built-in checks the fixture uses plus the organisation checks, sorted by id.

    Cached: loading the whole catalogue is the slow part, and a `Catalogue` is immutable.
    """
    full = builtin_catalogue()
    builtin = []
    for check_id in BUILTIN_CHECKS:
        check = full.get(check_id)
        if check is None:
            raise LookupError(f"built-in check {check_id!r} is missing from the catalogue")
        builtin.append(check)
    checks = sorted((*builtin, *organisation_checks(full)), key=lambda c: c.id)
    return Catalogue(tuple(checks), full.citations, full.safeguards)


def build_fixture_result() -> ScanResult:
    """The fixture snapshot evaluated by the real engine and summarised by `build_result`."""
    return build_result_for(fixture_snapshot())


def build_large_result(storage_accounts: int) -> ScanResult:
    """A tenant with many passing storage accounts and a handful of failing ones."""
    base = fixture_snapshot()
    resources = [
        _resource(
            SUB_PROD,
            "rg-bulk",
            "Microsoft.Storage/storageAccounts",
            f"bulk{i:05d}",
            "eastus",
            {"supportsHttpsTrafficOnly": i % 1000 != 7},
            {"dataClassification": "phi"},
        )
        for i in range(storage_accounts)
    ]
    return build_result_for(dataclasses.replace(base, resources=(*base.resources, *resources)))


def build_result_for(snapshot: Snapshot) -> ScanResult:
    """Any snapshot through the fixture's checks, configuration and fixed times."""
    catalogue = fixture_catalogue()
    config = fixture_config()
    findings = evaluate(snapshot, catalogue.checks, config)
    result = build_result(snapshot, catalogue, findings, config, GENERATED_AT)
    return dataclasses.replace(result, tool_version=TOOL_VERSION)


def clean_snapshot() -> Snapshot:
    """The fixture tenant with every gap closed and the unreadable subscription removed."""
    base = fixture_snapshot()
    return dataclasses.replace(
        base,
        subscriptions=base.subscriptions[:2],
        details={**base.details, GAPPED_SITE_ID: _web_config("1.2", "1.2")},
        gaps=(),
    )


GOLDEN_DIR = Path(__file__).resolve().parent / "golden"
UPDATE_GOLDEN_ENV = "AZAUDIT_UPDATE_GOLDEN"


def assert_matches_golden(name: str, actual: str) -> None:
    """Compare `actual` with tests/golden/<name>; rewrite it instead when AZAUDIT_UPDATE_GOLDEN=1.

    Golden files change only on purpose: review the diff of a regenerated file like code.
    """
    path = GOLDEN_DIR / name
    if os.environ.get(UPDATE_GOLDEN_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8", newline="\n")
    if not path.exists():
        raise AssertionError(
            f"{path} is missing; create it with {UPDATE_GOLDEN_ENV}=1 pytest tests/test_render_*.py"
        )
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=f"golden/{name}",
                tofile="rendered",
                n=2,
            )
        )
        raise AssertionError(
            f"rendered output differs from tests/golden/{name}. If the change is intended, "
            f"regenerate with {UPDATE_GOLDEN_ENV}=1 pytest tests/test_render_*.py and review "
            f"the diff.\n{diff[:6000]}"
        )


# -- the nightly programme: PHI scope, waivers, evidence, history, web sites --------------------

WEB_CHECK_ID = "web_security_headers"
PORTAL_URL = "https://portal.contoso-health.example"
UNSCANNED_URL = "https://legacy.contoso-health.example"
WAIVER_ID = "W-2026-007"
SNAPSHOT_SHA256 = "9f2c" + "0" * 56 + "beef"
SCANNER_ID = "5d0c9a1e-0000-4000-8000-00000000aaaa"


def _web_check(catalogue: Catalogue) -> CheckMeta:
    return CheckMeta(
        id=WEB_CHECK_ID,
        title="Public sites send HSTS and a Content-Security-Policy",
        family="web",
        severity=Severity.MEDIUM,
        citations=(catalogue.citations["164.312(e)(1)"],),
        rationale="A site without HSTS can be downgraded to plaintext on a hostile network.",
        remediation=Remediation(summary="Send Strict-Transport-Security and a CSP header."),
        references=(),
        target=TargetKind.RESOURCE,
        resource_types=("Microsoft.Web/sites",),
        origin="builtin",
    )


def _escalate(severity: Severity) -> Severity:
    order = [Severity.INFO, Severity.LOW, Severity.MEDIUM, Severity.HIGH, Severity.CRITICAL]
    return order[min(order.index(severity) + 1, len(order) - 1)]


def build_programme_result() -> ScanResult:
    """The fixture tenant as a nightly run sees it: production is PHI scope (findings there
    escalated one step), one failing finding is waived, the evidence chain is known, the run is
    compared with a previous one and two public sites were found (one scanned)."""
    base = build_fixture_result()
    catalogue = fixture_catalogue()
    web = _web_check(catalogue)
    metas = {c.id: c for c in (*base.checks, web)}
    portal_id = GAPPED_SITE_ID
    web_finding = Finding(
        check_id=WEB_CHECK_ID,
        status=Status.FAIL,
        resource_id=PORTAL_URL + "/",
        resource_type="website",
        resource_name=PORTAL_URL,
        subscription_id=SUB_PROD,
        location=None,
        property_path="headers.strict-transport-security",
        observed=None,
        expected="max-age of at least 31536000",
        message="no Strict-Transport-Security header on /",
        sub_item="/",
    )
    findings: list[Finding] = []
    for finding in (*base.findings, web_finding):
        phi = (finding.subscription_id or "").lower() == SUB_PROD.lower()
        meta = metas[finding.check_id]
        severity = _escalate(meta.severity) if phi else meta.severity
        updated = finding._replace(phi=phi, severity=severity)
        if finding.check_id == "residency_resource_location_us" and finding.status is Status.FAIL:
            updated = updated._replace(status=Status.WAIVED, waiver_id=WAIVER_ID)
        findings.append(updated)
    failing = next(f for f in findings if f.check_id == "eit_storage_https_only")
    staged = dataclasses.replace(
        base,
        checks=(*base.checks, web),
        findings=tuple(findings),
        phi_scope=PhiScopeInfo(configured=True, subscriptions=(SUB_PROD,), tags=("data=phi",)),
        waivers=(
            WaiverInfo(
                WAIVER_ID,
                "residency_resource_location_us",
                "rg-clinical/*",
                "EU replica kept for the Lisbon research partner until the DPA is signed.",
                "CISO Dana Whitfield",
                "RISK-311",
                "2027-03-31",
                "active",
                1,
            ),
            WaiverInfo(
                "W-2025-002",
                "eit_app_tls12",
                "research-*",
                "Vendor plug-in needed TLS 1.0.",
                "IT director",
                "RISK-140",
                "2026-06-30",
                "expired",
                0,
            ),
            WaiverInfo(
                "W-2026-004",
                "net_nsg_mgmt_ports_open",
                "tag:owner=imaging",
                "Vendor RDP during PACS upgrade.",
                "CISO Dana Whitfield",
                "CHG-20417",
                "2027-01-31",
                "unmatched",
                0,
            ),
        ),
        evidence=EvidenceInfo(SNAPSHOT_SHA256, SCANNER_ID, TOOL_VERSION, "catalogue-2026.11"),
        history=HistoryInfo(
            previous_run_id="run-0041",
            previous_generated_at="2026-11-01T08:00:00Z",
            new=(
                FindingChange(
                    failing.identity,
                    failing.check_id,
                    failing.resource_id,
                    failing.resource_name,
                    Severity.CRITICAL,
                ),
            ),
            resolved=(
                FindingChange(
                    "eit_app_tls12|/subscriptions/x/research-old|",
                    "eit_app_tls12",
                    f"/subscriptions/{SUB_RESEARCH}/resourceGroups/rg-research/providers/"
                    "Microsoft.Web/sites/research-old",
                    "research-old",
                    Severity.HIGH,
                ),
            ),
            still_open=4,
            trend=(
                TrendPoint("run-0039", "2026-10-30T08:00:00Z", 41.5, 9),
                TrendPoint("run-0040", "2026-10-31T08:00:00Z", 44.0, 8),
                TrendPoint("run-0041", "2026-11-01T08:00:00Z", None, 0),
                TrendPoint("run-0042", GENERATED_AT, 48.2, 5),
            ),
        ),
        web_sites=(
            WebSiteInfo(PORTAL_URL, "inventory", portal_id, True, 12, ""),
            WebSiteInfo(UNSCANNED_URL, "user", None, False, 0, "robots.txt disallows /"),
        ),
        display_names={**base.display_names, SCANNER_ID: "sp-azaudit-nightly"},
    )
    return resummarise(staged, catalogue.safeguards)
