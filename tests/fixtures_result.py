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

from azaudit.catalogue import Catalogue, Check, Rule, load_catalogue
from azaudit.engine import evaluate
from azaudit.evaluators.base import ScanConfig
from azaudit.models import (
    BaaListInfo,
    CheckMeta,
    CollectionGap,
    Remediation,
    ScanResult,
    Severity,
    TargetKind,
)
from azaudit.reference import BaaList, ServiceCoverage, TypeMapping
from azaudit.result import build_result
from azaudit.snapshot import Snapshot

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
        cases=(),
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
    full = load_catalogue()
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
