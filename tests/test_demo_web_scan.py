"""The demo's recorded web scan is what the real scanner records when it crawls the same pages."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from azaudit.demo import build_demo_snapshot
from azaudit.demo.web_scan import CONTAINERS, FETCHED_AT, PUBLIC_SITE, demo_sites
from azaudit.web import discover_sites, run_web_scan
from azaudit.web.options import WebScanOptions, site_targets
from azaudit.web.scan import DOCUMENT
from tests.web_support import Route, loopback_only, serve_sites, without_web_scan

FETCHED = datetime.fromisoformat(FETCHED_AT.replace("Z", "+00:00")).astimezone(UTC)


def test_a_real_crawl_of_the_demo_pages_records_the_demo_document() -> None:
    demo = build_demo_snapshot()
    found, recorded = demo.detail("/", DOCUMENT)
    assert found
    routes: dict[str, dict[str, Route]] = {}
    for url, pages in demo_sites(demo).items():
        routes[urlsplit(url).hostname or ""] = {path: Route(html) for path, html in pages.items()}
    for url, body in CONTAINERS.items():
        parts = urlsplit(url)
        routes.setdefault(parts.hostname or "", {})[f"{parts.path}?{parts.query}"] = Route(
            body, content_type="application/javascript"
        )
    with serve_sites(routes) as sites, loopback_only() as refused:
        crawled = run_web_scan(
            without_web_scan(demo),
            # The scanner's own defaults, as the recorded document states them.
            sites.options(clock=lambda: FETCHED, timeout=WebScanOptions().timeout),
            extra=site_targets([PUBLIC_SITE]),
        )
    assert refused == []
    assert crawled == recorded


def test_the_demo_scans_every_site_the_inventory_serves_and_the_public_site() -> None:
    demo = build_demo_snapshot()
    _, recorded = demo.detail("/", DOCUMENT)
    assert isinstance(recorded, dict)
    urls = [site["url"] for site in recorded["sites"]]
    assert urls == [t.url for t in discover_sites(demo)] + [PUBLIC_SITE]
    assert all(site["scanned"] and not site["errors"] for site in recorded["sites"])
    trackers = {d["tracker_id"] for site in recorded["sites"] for d in site["detections"]}
    assert trackers == {
        "azure-application-insights",
        "crazy-egg",
        "google-analytics",
        "google-tag-manager",
        "meta-pixel",
        "microsoft-clarity",
        "segment",
    }
