"""Crawl limits and gaps (robots.txt, redirects, size, content type) and inventory discovery."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from azaudit.snapshot import Snapshot
from azaudit.web import SiteTarget, discover_sites, scan_sites
from azaudit.web.html import parse_page
from tests.web_support import CLARITY_SNIPPET, Route, Sites, loopback_only, page, serve_sites

ROBOTS = "User-agent: *\nDisallow: /private\n"
BIG = page("x" * 3000)


def routes() -> dict[str, dict[str, Route]]:
    many = {f"/p{i}": Route(page(f'<a href="/p{i + 1}">next</a>')) for i in range(30)}
    return {
        "robots.example.test": {
            "/robots.txt": Route(ROBOTS, content_type="text/plain"),
            "/": Route(page('<a href="/private/records">r</a> <a href="/public">p</a>')),
            "/public": Route(page("ok")),
            "/private/records": Route(page("secret", head=CLARITY_SNIPPET)),
        },
        "closed.example.test": {
            "/robots.txt": Route("User-agent: *\nDisallow: /\n", content_type="text/plain"),
            "/": Route(page("hidden", head=CLARITY_SNIPPET)),
        },
        "redirect.example.test": {
            "/": Route(status=302, headers={"Location": "/home"}),
            "/home": Route(page('<a href="/login">Log in</a>')),
            "/login": Route(
                status=302, headers={"Location": "https://login.microsoftonline.com/x"}
            ),
        },
        "files.example.test": {
            "/": Route(page('<a href="/feed">feed</a> <a href="/big">big</a>')),
            "/feed": Route('{"a": 1}', content_type="application/json"),
            "/big": Route(BIG),
        },
        "deep.example.test": {"/": Route(page('<a href="/p0">start</a>')), **many},
    }


@pytest.fixture(scope="module")
def scanned() -> Iterator[tuple[Sites, dict[str, dict[str, Any]]]]:
    with serve_sites(routes()) as sites, loopback_only() as refused:
        document = scan_sites(
            [SiteTarget(f"https://{h}/", "user") for h in routes()],
            sites.options(max_bytes=2000, max_pages=8, max_depth=5),
        )
        assert refused == []
        yield sites, {s["url"]: s for s in document["sites"]}


def errors(site: dict[str, Any]) -> list[tuple[str, str, int | None]]:
    return [(e["page_url"], e["reason"], e["status"]) for e in site["errors"]]


def test_robots_disallowed_pages_are_gaps_not_fetched(
    scanned: tuple[Sites, dict[str, dict[str, Any]]],
) -> None:
    sites, by_url = scanned
    site = by_url["https://robots.example.test/"]
    assert [p["url"] for p in site["pages"]] == [
        "https://robots.example.test/",
        "https://robots.example.test/public",
    ]
    assert errors(site) == [
        (
            "https://robots.example.test/private/records",
            "disallowed by robots.txt; not fetched",
            None,
        )
    ]
    assert site["detections"] == []
    assert ("robots.example.test", "/private/records") not in {
        (h, p) for h, _, p, _ in sites.requests
    }
    closed = by_url["https://closed.example.test/"]
    assert (closed["scanned"], closed["note"]) == (
        False,
        "not scanned: robots.txt disallows the start page",
    )


def test_redirects_are_followed_only_within_the_site(
    scanned: tuple[Sites, dict[str, dict[str, Any]]],
) -> None:
    site = scanned[1]["https://redirect.example.test/"]
    assert [(p["url"], p["final_url"]) for p in site["pages"]] == [
        ("https://redirect.example.test/", "https://redirect.example.test/home")
    ]
    assert errors(site) == [
        (
            "https://redirect.example.test/login",
            "redirects off the site to https://login.microsoftonline.com/x; not followed",
            302,
        )
    ]


def test_non_html_and_oversized_pages_are_gaps(
    scanned: tuple[Sites, dict[str, dict[str, Any]]],
) -> None:
    site = scanned[1]["https://files.example.test/"]
    assert errors(site) == [
        ("https://files.example.test/big", "larger than the 2000-byte limit", 200),
        (
            "https://files.example.test/feed",
            "not an HTML page (Content-Type application/json)",
            200,
        ),
    ]


def test_max_pages_bounds_the_crawl(scanned: tuple[Sites, dict[str, dict[str, Any]]]) -> None:
    sites, by_url = scanned
    site = by_url["https://deep.example.test/"]
    assert len(site["pages"]) == 6  # depth 5 reached first: /, /p0 ... /p4
    served = [p for h, _, p, _ in sites.requests if h == "deep.example.test"]
    assert "/p5" not in served


def test_discovery_reads_every_hosting_type() -> None:
    sub = "/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers"
    gateway = f"{sub}/Microsoft.Network/applicationGateways/agw"
    rows: list[dict[str, Any]] = [
        {
            "id": f"{sub}/Microsoft.Web/sites/app/slots/staging",
            "type": "Microsoft.Web/sites/slots",
            "properties": {
                "state": "Running",
                "hostNames": ["app-staging.azurewebsites.net"],
                "enabledHostNames": [
                    "app-staging.azurewebsites.net",
                    "app-staging.scm.azurewebsites.net",
                ],
            },
        },
        {
            "id": f"{sub}/Microsoft.Web/staticSites/swa",
            "type": "Microsoft.Web/staticSites",
            "properties": {
                "defaultHostname": "happy-sea-0a1b2c3d4.azurestaticapps.net",
                "customDomains": ["www.contoso-clinic.example"],
            },
        },
        {
            "id": f"{sub}/Microsoft.Cdn/profiles/afd/afdEndpoints/ep",
            "type": "Microsoft.Cdn/profiles/afdEndpoints",
            "properties": {"hostName": "ep-abc123.z01.azurefd.net"},
        },
        {
            "id": f"{sub}/Microsoft.Cdn/profiles/afd/customDomains/portal",
            "type": "Microsoft.Cdn/profiles/customDomains",
            "properties": {"hostName": "portal.contoso-clinic.example"},
        },
        {
            "id": f"{sub}/Microsoft.Cdn/profiles/cdn/endpoints/static",
            "type": "Microsoft.Cdn/profiles/endpoints",
            "properties": {"hostName": "static-contoso.azureedge.net"},
        },
        {
            "id": f"{sub}/Microsoft.Network/frontDoors/classic",
            "type": "Microsoft.Network/frontDoors",
            "properties": {
                "frontendEndpoints": [{"properties": {"hostName": "classic.azurefd.net"}}]
            },
        },
        {
            "id": gateway,
            "type": "Microsoft.Network/applicationGateways",
            "properties": {
                "frontendIPConfigurations": [
                    {
                        "id": f"{gateway}/frontendIPConfigurations/public",
                        "properties": {"publicIPAddress": {"id": "pip"}},
                    },
                    {
                        "id": f"{gateway}/frontendIPConfigurations/private",
                        "properties": {"privateIPAddress": "10.0.0.4"},
                    },
                ],
                "httpListeners": [
                    {
                        "name": "www",
                        "properties": {
                            "frontendIPConfiguration": {
                                "id": f"{gateway}/frontendIPConfigurations/public"
                            },
                            "hostNames": ["apps.contoso-clinic.example"],
                        },
                    },
                    {
                        "name": "internal",
                        "properties": {
                            "frontendIPConfiguration": {
                                "id": f"{gateway}/frontendIPConfigurations/private"
                            },
                            "hostName": "intranet.contoso.local",
                        },
                    },
                    {
                        "name": "bare",
                        "properties": {
                            "frontendIPConfiguration": {
                                "id": f"{gateway}/frontendIPConfigurations/public"
                            }
                        },
                    },
                ],
            },
        },
    ]
    snapshot = Snapshot("2026-03-01T00:00:00Z", "t", {}, {}, (), tuple(rows), {}, {}, ())
    assert [
        (s.url, s.resource_id.rsplit("/", 1)[-1] if s.resource_id else None, s.note)
        for s in discover_sites(snapshot)
    ] == [
        ("https://app-staging.azurewebsites.net/", "staging", ""),
        ("https://happy-sea-0a1b2c3d4.azurestaticapps.net/", "swa", ""),
        ("https://www.contoso-clinic.example/", "swa", ""),
        ("https://ep-abc123.z01.azurefd.net/", "ep", ""),
        ("https://portal.contoso-clinic.example/", "portal", ""),
        ("https://static-contoso.azureedge.net/", "static", ""),
        ("https://classic.azurefd.net/", "classic", ""),
        ("https://apps.contoso-clinic.example/", "agw", ""),
        ("", "agw", "not scanned: public listener bare has no host name to scan"),
    ]


ADOBE_LAUNCH = "https://assets.adobedtm.com/1a2b3c/launch-EN0123abcd.min.js"
TEALIUM = "https://tags.tiqcdn.com/utag/clinic/main/prod/utag.js"


def test_adobe_and_tealium_containers_are_fetched_and_scanned() -> None:
    containers = {
        "tags.example.test": {
            "/": Route(
                page(
                    "<h1>Tags</h1>",
                    head=f'<script src="{ADOBE_LAUNCH}" async></script>'
                    f'<script type="text/javascript" src="{TEALIUM}"></script>',
                )
            ),
        },
        "assets.adobedtm.com": {
            "/1a2b3c/launch-EN0123abcd.min.js": Route(
                'window._satellite=window._satellite||{};_satellite.container={"extensions":'
                '{"adobe-analytics":{"settings":{"trackingServer":"clinic.sc.omtrdc.net"}}},'
                '"rules":[{"actions":[{"settings":{"source":"https://snap.licdn.com/li.lms-'
                'analytics/insight.min.js"}}]}]};',
                content_type="application/javascript",
            )
        },
        "tags.tiqcdn.com": {
            "/utag/clinic/main/prod/utag.js": Route(
                "var utag_data={};utag.loader.cfg={'7':{load:1,src:'//analytics.tiktok.com/"
                "i18n/pixel/events.js'}};ttq.load('C0LINIC');",
                content_type="application/javascript",
            )
        },
    }
    with serve_sites(containers) as sites, loopback_only() as refused:
        document = scan_sites([SiteTarget("https://tags.example.test/", "user")], sites.options())
    assert refused == []
    found = {(d["tracker_id"], d["kind"], d["via"]) for d in document["sites"][0]["detections"]}
    assert found == {
        ("adobe-experience-platform-tags", "script", None),
        ("tealium-iq", "script", None),
        ("linkedin-insight", "container", ADOBE_LAUNCH),
        ("tiktok-pixel", "container", TEALIUM),
    }


def test_malformed_markup_yields_what_a_browser_would_fetch() -> None:
    content = parse_page(
        '<base href="http://[::1"><script src="http://[bad"></script>'
        '<script src="//static.example/app.js"></script><![if x]><a href="/x#frag">x</a>'
        "<script>unterminated",
        "https://a.example.test/",
    )
    assert [r.url for r in content.references] == ["https://static.example/app.js"]
    assert content.links == ["https://a.example.test/x"]


def test_untrusted_certificate_is_a_gap() -> None:
    with (
        serve_sites({"tls.example.test": {"/": Route(page("hi", head=CLARITY_SNIPPET))}}) as sites,
        loopback_only(),
    ):
        document = scan_sites(
            [SiteTarget("https://tls.example.test/", "user")], sites.options(ssl_context=None)
        )
    site = document["sites"][0]
    assert (site["scanned"], site["detections"]) == (False, [])
    assert site["note"].startswith(
        "not scanned: robots.txt unreachable (TLS certificate not trusted"
    )
