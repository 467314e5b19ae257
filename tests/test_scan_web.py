"""`scan --web`: the tenant's sites discovered from the live inventory are crawled and judged.

The emulator serves the demo tenant; the patient portal's default host name is served by a local
HTTPS site (through the scanner's resolve override), every other discovered site resolves to
nothing. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

from azaudit.collect.options import LiveOptions, LogFormat
from azaudit.demo import DEMO_NOW, build_demo_snapshot
from azaudit.demo.org import PORTAL
from azaudit.emulator import Emulator
from azaudit.models import Severity, Status
from azaudit.pipeline import LiveSource, ScanRequest, run_scan
from azaudit.render import OutputFormat
from tests.collect_support import deps_for
from tests.web_support import HOTJAR_SNIPPET, Route, loopback_only, page, serve_sites

PORTAL_HOST = "app-nw-portal-web.azurewebsites.net"
CLOCK = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)


def test_live_scan_with_web_finds_hotjar_on_the_portal_log_in_and_reports_unreachable_sites(
    tmp_path: Path,
) -> None:
    site = {
        "/": Route(page("<a href='/mychart/login'>Sign in to MyChart</a>")),
        "/mychart/login": Route(page("<form>…</form>", head=HOTJAR_SNIPPET)),
        "/robots.txt": Route("User-agent: *\nAllow: /\n", content_type="text/plain"),
    }
    out = tmp_path / "out"
    request = ScanRequest(
        LiveSource(LiveOptions(subscriptions=(PORTAL.subscription_id,)), LogFormat.PLAIN),
        out=out,
        formats=(OutputFormat.JSON,),
        web=True,
    )
    with (
        Emulator(build_demo_snapshot()) as emulator,
        serve_sites({PORTAL_HOST: site}) as sites,
        loopback_only() as refused,
    ):
        deps, _ = deps_for(emulator, clock=lambda: DEMO_NOW)
        outcome = run_scan(request, deps, clock=lambda: CLOCK, web_options=sites.options())
    assert refused == []

    web = [f for f in outcome.result.findings if f.check_id.startswith("web_")]
    portal = [f for f in web if PORTAL_HOST in f.sub_item]
    pixel = [f for f in portal if f.status is Status.FAIL]
    assert [(f.check_id, f.severity) for f in pixel] == [
        ("web_tracker_no_baa_patient_facing", Severity.CRITICAL)
    ]
    assert "/mychart/login" in pixel[0].sub_item
    assert pixel[0].resource_id.lower().endswith("/sites/app-nw-portal-web")

    # Every other site of the subscription could not be reached: ERROR, never PASS or silence.
    others = {f.resource_name for f in web if f.status is Status.ERROR}
    assert others >= {"app-nw-billing-statements.azurewebsites.net"}
    assert not any(f.status is Status.PASS and PORTAL_HOST not in f.sub_item for f in web)

    listed = {s.url: s.scanned for s in outcome.result.web_sites}
    assert listed[f"https://{PORTAL_HOST}/"] is True
    assert listed["https://app-nw-billing-statements.azurewebsites.net/"] is False

    # The evidence file holds the web scan the findings were computed from.
    kept = json.loads(gzip.decompress((out / "snapshot.json.gz").read_bytes()))
    document = kept["details"]["/"]["web:scan"]
    assert f"https://{PORTAL_HOST}/" in [s["url"] for s in document["sites"]]
    results = json.loads((out / "results.json").read_text())
    assert f"https://{PORTAL_HOST}/" in [s["url"] for s in results["web_sites"]]
