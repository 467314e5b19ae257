"""The web tracker scan end to end: real HTTPS sites on 127.0.0.1, the engine, exact findings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from azaudit.engine import evaluate
from azaudit.evaluators.base import ScanConfig
from azaudit.models import Finding, Status
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.snapshot import Snapshot
from azaudit.web import SiteTarget, discover_sites, run_web_scan
from azaudit.web.scan import with_web_scan
from tests.catalogue_support import builtin_catalogue
from tests.web_support import (
    APPINSIGHTS_KEY,
    APPINSIGHTS_SNIPPET,
    CLARITY_SNIPPET,
    GA4_SNIPPET,
    GTM_BODY_SNIPPET,
    GTM_CONTAINER,
    GTM_HEAD_SNIPPET,
    HOTJAR_SNIPPET,
    RUNTIME_INJECTOR,
    Route,
    Sites,
    loopback_only,
    page,
    serve_sites,
)

SUB = "5a1e0000-0000-4000-8000-000000000001"
RG = f"/subscriptions/{SUB}/resourceGroups/rg-web/providers"
CLINIC_APP = f"{RG}/Microsoft.Web/sites/clinic"
PORTAL_APP = f"{RG}/Microsoft.Web/sites/portal"
INSIGHTS_APP = f"{RG}/Microsoft.Web/staticSites/insights"
COMPONENT = f"{RG}/microsoft.insights/components/appi-clinic"
FIXED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

META_NOSCRIPT = (
    '<noscript><img height="1" width="1" style="display:none" '
    'src="https://www.facebook.com/tr?id=1234567890&ev=PageView&noscript=1"/></noscript>'
)
CRAZY_EGG = (
    '<script type="text/javascript" src="//script.crazyegg.com/pages/scripts/0011/1234.js" '
    'async="async"></script>'
)
SEGMENT = '<script src="https://cdn.segment.com/analytics.js/v1/wk123/analytics.min.js"></script>'
MENTIONS = page(
    "<p>We do not use Google Analytics, Hotjar, Microsoft Clarity or the Meta Pixel "
    "(fbq('init') is not on this site; gtag('config', 'G-XXXX') neither).</p>"
    '<a href="https://www.hotjar.com/">Hotjar</a> <a href="https://clarity.microsoft.com/">'
    'Clarity</a> <a href="https://www.facebook.com/tr?id=1">pixel docs</a>'
    '<img src="/img/clarity-logo.png" alt="clarity">',
    head='<script src="/js/fbevents.js"></script><script src="/assets/utag.js"></script>'
    '<link rel="stylesheet" href="/css/hotjar-c-hotjar-theme.css">'
    '<script type="application/ld+json">{"name": "Clinic", "sameAs": '
    '"https://www.googletagmanager.com/gtm.js?id=GTM-NOPE1"}</script>',
)


def site_routes() -> dict[str, dict[str, Route]]:
    """The test sites."""
    return {
        "clinic.example.test": {
            "/": Route(
                page("<h1>Clinic</h1>", head=CLARITY_SNIPPET + HOTJAR_SNIPPET),
                headers={"Set-Cookie": "_hjSessionUser_3141592=eyJpZCI6; Path=/; Secure"},
            ),
        },
        "gtm.example.test": {
            "/": Route(
                page(GTM_BODY_SNIPPET + "<h1>News</h1>", head=GTM_HEAD_SNIPPET + GA4_SNIPPET)
            ),
        },
        "www.googletagmanager.com": {
            "/gtm.js?id=GTM-TEST123": Route(GTM_CONTAINER, content_type="application/javascript"),
        },
        "portal.example.test": {
            "/": Route(page('<a href="/mychart/appointments">Book an appointment</a>')),
            "/mychart/appointments": Route(page("<h1>Appointments</h1>" + META_NOSCRIPT)),
        },
        "crawl.example.test": {
            "/": Route(
                page(
                    '<a href="/about">About</a> <a href="/brochure.pdf">Brochure</a> '
                    '<a href="https://www.hotjar.com/">vendor</a> <a href="#top">top</a>'
                )
            ),
            "/about": Route(page('<a href="/about/team">Team</a> <a href="/">Home</a>')),
            "/about/team": Route(page("<h1>Team</h1>", head=CRAZY_EGG + SEGMENT)),
        },
        "mentions.example.test": {"/": Route(MENTIONS)},
        "insights.example.test": {"/": Route(page("<h1>Hi</h1>", head=APPINSIGHTS_SNIPPET))},
        "render.example.test": {
            "/": Route(page("<h1>Clinic</h1>", head='<script src="/js/app.js"></script>')),
            "/js/app.js": Route(RUNTIME_INJECTOR, content_type="application/javascript"),
        },
        "slow.example.test": {"/": Route(page("late"), delay=4.0)},
        "broken.example.test": {"/": Route("oops", status=500, content_type="text/plain")},
    }


def inventory_snapshot() -> Snapshot:
    """A tenant whose inventory names some of the test sites (and a stopped app)."""
    return Snapshot(
        collected_at="2026-03-01T09:00:00Z",
        tool_version="test",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": "7e4a1c2b-0000-4000-8000-00000000a001", "displayName": "Clinic"},
        subscriptions=({"subscriptionId": SUB, "displayName": "web", "state": "Enabled"},),
        resources=(
            {
                "id": CLINIC_APP,
                "type": "Microsoft.Web/sites",
                "name": "clinic",
                "kind": "app",
                "properties": {
                    "state": "Running",
                    "defaultHostName": "clinic.azurewebsites.net",
                    "hostNames": ["clinic.example.test"],
                    "enabledHostNames": ["clinic.example.test", "clinic.scm.azurewebsites.net"],
                },
            },
            {
                "id": PORTAL_APP,
                "type": "Microsoft.Web/sites",
                "name": "portal",
                "kind": "app",
                "properties": {"state": "Running", "enabledHostNames": ["portal.example.test"]},
            },
            {
                "id": f"{RG}/Microsoft.Web/sites/legacy",
                "type": "Microsoft.Web/sites",
                "name": "legacy",
                "properties": {"state": "Stopped", "enabledHostNames": ["legacy.example.test"]},
            },
            {
                "id": INSIGHTS_APP,
                "type": "Microsoft.Web/staticSites",
                "name": "insights",
                "properties": {"defaultHostname": "insights.example.test", "customDomains": []},
            },
            {
                "id": COMPONENT,
                "type": "microsoft.insights/components",
                "name": "appi-clinic",
                "properties": {
                    "InstrumentationKey": APPINSIGHTS_KEY,
                    "ConnectionString": f"InstrumentationKey={APPINSIGHTS_KEY};"
                    "IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/",
                },
            },
        ),
        details={},
        graph={},
        gaps=(),
    )


USER_SITES = [
    SiteTarget(f"https://{h}/", "user")
    for h in (
        "gtm.example.test",
        "crawl.example.test",
        "mentions.example.test",
        "render.example.test",
        "slow.example.test",
        "broken.example.test",
    )
]


@pytest.fixture(scope="module")
def sites() -> Iterator[Sites]:
    with serve_sites(site_routes()) as running:
        yield running


@pytest.fixture(scope="module")
def static_scan(sites: Sites) -> dict[str, Any]:
    with loopback_only() as refused:
        document = run_web_scan(
            inventory_snapshot(),
            sites.options(timeout=1.0, clock=lambda: FIXED),
            extra=USER_SITES,
        )
    assert refused == []
    return document


def by_url(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["url"] or s["resource_id"]: s for s in document["sites"]}


def trackers(site: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(d["tracker_id"], d["page_url"], d["kind"]) for d in site["detections"]}


def web_findings(snapshot: Snapshot) -> list[Finding]:
    checks = [c for c in builtin_catalogue().checks if c.meta.family == "web"]
    config = ScanConfig(default_baa_list(), frozenset(default_us_regions()), FIXED)
    return evaluate(snapshot, checks, config)


def summary(findings: list[Finding]) -> set[tuple[str, str, str, str]]:
    """(check, status, site host, tracker@path or "") for every finding."""
    out = set()
    for f in findings:
        item = (
            f.property_path.rsplit("]", 2)[-2].rsplit("[", 1)[-1]
            if f.property_path.count("[") > 1
            else ""
        )
        out.add((f.check_id, f.status.value, f.resource_name, item))
    return out


def test_discovery_lists_inventory_sites_with_their_resources() -> None:
    found = discover_sites(inventory_snapshot())
    assert [(s.url, s.resource_id, s.note) for s in found] == [
        ("https://clinic.example.test/", CLINIC_APP, ""),
        ("https://portal.example.test/", PORTAL_APP, ""),
        (
            "https://legacy.example.test/",
            f"{RG}/Microsoft.Web/sites/legacy",
            "not scanned: the app is stopped",
        ),
        ("https://insights.example.test/", INSIGHTS_APP, ""),
    ]


def test_static_detections_are_exact(static_scan: dict[str, Any]) -> None:
    sites = by_url(static_scan)
    assert trackers(sites["https://clinic.example.test/"]) == {
        ("microsoft-clarity", "https://clinic.example.test/", "inline"),
        ("hotjar", "https://clinic.example.test/", "inline"),
        ("hotjar", "https://clinic.example.test/", "cookie"),
    }
    cookie = next(
        d for d in sites["https://clinic.example.test/"]["detections"] if d["kind"] == "cookie"
    )
    assert cookie["cookie_names"] == ["_hjSessionUser_3141592"]
    assert cookie["first_seen"] == "2026-03-01T09:30:00Z"
    assert trackers(sites["https://gtm.example.test/"]) == {
        ("google-analytics", "https://gtm.example.test/", "script"),
        ("google-analytics", "https://gtm.example.test/", "inline"),
        ("google-tag-manager", "https://gtm.example.test/", "inline"),
        ("google-tag-manager", "https://gtm.example.test/", "iframe"),
        ("meta-pixel", "https://gtm.example.test/", "container"),
    }
    via = {
        d["via"]
        for d in sites["https://gtm.example.test/"]["detections"]
        if d["kind"] == "container"
    }
    assert via == {"https://www.googletagmanager.com/gtm.js?id=GTM-TEST123"}
    assert trackers(sites["https://portal.example.test/"]) == {
        ("meta-pixel", "https://portal.example.test/mychart/appointments", "img"),
    }
    assert trackers(sites["https://crawl.example.test/"]) == {
        ("crazy-egg", "https://crawl.example.test/about/team", "script"),
        ("segment", "https://crawl.example.test/about/team", "script"),
    }
    assert [p["url"] for p in sites["https://crawl.example.test/"]["pages"]] == [
        "https://crawl.example.test/",
        "https://crawl.example.test/about",
        "https://crawl.example.test/about/team",
    ]
    assert sites["https://mentions.example.test/"]["detections"] == []
    assert sites["https://mentions.example.test/"]["scanned"] is True
    # First-party code that injects a pixel at runtime is invisible to the static scan.
    assert sites["https://render.example.test/"]["detections"] == []
    insights = sites["https://insights.example.test/"]["detections"]
    assert {d["tracker_id"] for d in insights} == {"azure-application-insights"}
    assert {k for d in insights for k in d.get("instrumentation_keys", [])} == {APPINSIGHTS_KEY}


def test_failures_are_recorded_per_site(static_scan: dict[str, Any]) -> None:
    sites = by_url(static_scan)
    slow = sites["https://slow.example.test/"]
    assert (slow["scanned"], slow["pages"]) == (False, [])
    assert slow["errors"] == [
        {"page_url": "https://slow.example.test/", "reason": "timed out after 1 s", "status": None}
    ]
    broken = sites["https://broken.example.test/"]
    assert broken["scanned"] is False
    assert broken["errors"] == [
        {
            "page_url": "https://broken.example.test/",
            "reason": "HTTP 500 Internal Server Error",
            "status": 500,
        }
    ]
    legacy = sites["https://legacy.example.test/"]
    assert (legacy["scanned"], legacy["note"], legacy["origin"]) == (
        False,
        "not scanned: the app is stopped",
        "inventory",
    )


def test_scanner_only_gets_known_hosts_with_its_user_agent(
    sites: Sites, static_scan: dict[str, Any]
) -> None:
    assert {method for _, method, _, _ in sites.requests} == {"GET"}
    assert {ua for *_, ua in sites.requests} == {static_scan["scanner"]["user_agent"]}
    assert static_scan["scanner"]["user_agent"].startswith("azaudit-webscan/")
    # The legacy (stopped) app and links to vendor sites were never requested.
    hosts = {host for host, *_ in sites.requests}
    assert "legacy.example.test" not in hosts
    assert ("crawl.example.test", "GET", "/brochure.pdf") not in {r[:3] for r in sites.requests}


def test_findings_through_the_engine_are_exact(static_scan: dict[str, Any]) -> None:
    findings = web_findings(with_web_scan(inventory_snapshot(), static_scan))
    scanned = ["clinic", "gtm", "portal", "crawl", "mentions", "insights", "render"]
    failed = {"slow", "broken", "legacy"}
    failures = {
        "web_tracker_no_baa": {
            ("clinic", "microsoft-clarity@/"),
            ("clinic", "hotjar@/"),
            ("gtm", "google-analytics@/"),
            ("gtm", "google-tag-manager@/"),
            ("gtm", "meta-pixel@/"),
        },
        "web_tracker_no_baa_patient_facing": {("portal", "meta-pixel@/mychart/appointments")},
        "web_tracker_baa_unknown": {("crawl", "crazy-egg@/about/team")},
        "web_tracker_baa_conditional": {("crawl", "segment@/about/team")},
    }
    expected = set()
    for check, failing in failures.items():
        expected |= {(check, "FAIL", f"{h}.example.test", item) for h, item in failing}
        expected |= {
            (check, "PASS", f"{h}.example.test", "")
            for h in scanned
            if h not in {h for h, _ in failing}
        }
        expected |= {(check, "ERROR", f"{h}.example.test", "") for h in failed}
    expected |= {
        (
            "web_appinsights_own_tenant",
            "PASS",
            "insights.example.test",
            "azure-application-insights@/",
        ),
        *{("web_appinsights_own_tenant", "ERROR", f"{h}.example.test", "") for h in failed},
    }
    assert summary(findings) == expected
    # Nothing about a site that could not be scanned is ever a PASS.
    for f in findings:
        if f.resource_name in ("slow.example.test", "broken.example.test", "legacy.example.test"):
            assert f.status is Status.ERROR
    # Findings about inventory sites carry the app's ARM id (PHI scope applies by it).
    portal = next(
        f
        for f in findings
        if f.check_id == "web_tracker_no_baa_patient_facing" and f.status is Status.FAIL
    )
    assert portal.resource_id == PORTAL_APP
    assert portal.observed["pages"] == ["https://portal.example.test/mychart/appointments"]
    user_site = next(f for f in findings if f.resource_name == "gtm.example.test")
    assert user_site.resource_id == "https://gtm.example.test/"


def test_foreign_app_insights_key_fails(static_scan: dict[str, Any]) -> None:
    snapshot = inventory_snapshot()
    without_component = Snapshot(
        **{
            **{
                name: getattr(snapshot, name)
                for name in (
                    "collected_at",
                    "tool_version",
                    "cloud",
                    "tenant",
                    "subscriptions",
                    "details",
                    "graph",
                    "gaps",
                )
            },
            "resources": tuple(r for r in snapshot.resources if r["id"] != COMPONENT),
        }
    )
    findings = web_findings(with_web_scan(without_component, static_scan))
    insight = [
        f
        for f in findings
        if f.check_id == "web_appinsights_own_tenant" and f.resource_name == "insights.example.test"
    ]
    assert [f.status for f in insights_only(insight)] == [Status.FAIL]
    assert APPINSIGHTS_KEY in insight[0].message


def insights_only(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if "azure-application-insights" in f.property_path]


def test_no_web_scan_is_not_applicable() -> None:
    findings = web_findings(inventory_snapshot())
    assert {(f.check_id, f.status) for f in findings} == {
        (c, Status.NOT_APPLICABLE)
        for c in (
            "web_tracker_no_baa",
            "web_tracker_no_baa_patient_facing",
            "web_tracker_baa_unknown",
            "web_tracker_baa_conditional",
            "web_appinsights_own_tenant",
        )
    }


def test_unmapped_host_never_leaves_the_machine(sites: Sites) -> None:
    with loopback_only() as refused:
        document = run_web_scan(
            Snapshot("2026-03-01T09:00:00Z", "t", {}, {}, (), (), {}, {}, ()),
            sites.options(),
            extra=[SiteTarget("https://www.example.com/", "user")],
        )
    site = document["sites"][0]
    assert site["scanned"] is False
    assert "host name not resolved" in site["errors"][0]["reason"]
    assert refused == []
