"""The rendered web scan (`--render`) in the system's real headless Chromium.

Chromium is a required test dependency (Debian package `chromium`, /usr/bin/chromium; `.ci/run`
installs it). Its resolver maps the test hosts to 127.0.0.1 and every other host to nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from azaudit.models import Status
from azaudit.web import SiteTarget, scan_sites
from azaudit.web.scan import with_web_scan
from tests.test_web_scan import FIXED, inventory_snapshot, site_routes, web_findings
from tests.web_support import Sites, loopback_only, serve_sites

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
HOSTS = (
    "render.example.test",
    "clinic.example.test",
    "gtm.example.test",
    "www.googletagmanager.com",
)


@pytest.fixture(scope="module")
def sites() -> Iterator[Sites]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is required (apt-get install -y chromium)", pytrace=False)
    routes = site_routes()
    with serve_sites({h: routes[h] for h in HOSTS}) as running:
        yield running


@pytest.fixture(scope="module")
def rendered(sites: Sites) -> dict[str, Any]:
    with loopback_only() as refused:
        document = scan_sites(
            [SiteTarget(f"https://{h}/", "user") for h in HOSTS[:3]],
            sites.options(render=True, render_trust_any_certificate=True, clock=lambda: FIXED),
        )
    assert refused == []
    return document


def test_runtime_injected_pixel_found_only_by_rendering(rendered: dict[str, Any]) -> None:
    site = next(s for s in rendered["sites"] if s["url"] == "https://render.example.test/")
    assert [(d["tracker_id"], d["kind"], d["evidence"]) for d in site["detections"]] == [
        ("meta-pixel", "request", "https://connect.facebook.net/en_US/fbevents.js")
    ]
    assert site["storage_keys"] == ["clinic_visit"]
    assert rendered["scanner"]["rendered"] is True


def test_rendered_scan_requests_runtime_tags_but_never_sends_to_vendors(
    sites: Sites, rendered: dict[str, Any]
) -> None:
    clinic = next(s for s in rendered["sites"] if s["url"] == "https://clinic.example.test/")
    runtime = {
        (d["tracker_id"], d["evidence"]) for d in clinic["detections"] if d["kind"] == "request"
    }
    assert ("microsoft-clarity", "https://www.clarity.ms/tag/k2x9test01") in runtime
    assert ("hotjar", "https://static.hotjar.com/c/hotjar-3141592.js?sv=6") in runtime
    served = {(host, path) for host, _, path, _ in sites.requests}
    # The first-party script and the tag-manager container were loaded; no vendor was reached
    # (only the test hosts exist for this Chromium, and the scanner aborts vendor requests).
    assert ("render.example.test", "/js/app.js") in served
    assert ("www.googletagmanager.com", "/gtm.js?id=GTM-TEST123") in served
    assert {host for host, _ in served} <= set(HOSTS)


def test_rendered_findings_through_the_engine(rendered: dict[str, Any]) -> None:
    findings = web_findings(with_web_scan(inventory_snapshot(), rendered))
    render_site = [
        (f.check_id, f.status)
        for f in findings
        if f.resource_name == "render.example.test" and f.check_id == "web_tracker_no_baa"
    ]
    assert render_site == [("web_tracker_no_baa", Status.FAIL)]
