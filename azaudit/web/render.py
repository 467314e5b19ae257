"""The rendered scan: every statically fetched page loaded in the system's headless Chromium.

Playwright drives the Debian `chromium` binary (`executable_path`; no browser is downloaded).
Scripts run, so tags that tag managers or first-party code inject at runtime show up as requests.
Every request the page makes is recorded; only requests to the site's own host and to
tag-manager hosts are let through, all others are answered with an abort after being recorded,
so the scan never sends a visit to an advertising or analytics vendor. Cookies and localStorage
keys the page sets are recorded too. A page that fails to load is an error of that site.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Browser, Error, Route, async_playwright
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from azaudit.chromium import HEADLESS_ARGS
from azaudit.web.crawl import iso
from azaudit.web.detect import detect_runtime
from azaudit.web.options import WebScanOptions
from azaudit.web.trackers import TAG_MANAGER, TrackerData, same_site

# After `load`, late tags (timers, tag managers) get until the network has been idle for 500 ms,
# at most this long.
SETTLE_MS = 3000


def host_rules(options: WebScanOptions) -> list[str]:
    """Chromium's resolver rules for the scan's resolve overrides (and, if asked, nothing else)."""
    rules = [f"MAP {h}:{p} {a}:{t}" for (h, p), (a, t) in sorted(options.resolve.items())]
    if options.only_resolved:
        rules.append("MAP * ~NOTFOUND")
    return [f"--host-resolver-rules={', '.join(rules)}"] if rules else []


async def render_sites(
    sites: list[dict[str, Any]], options: WebScanOptions, data: TrackerData
) -> None:
    """Load each site's fetched pages and add runtime detections, cookies and storage keys."""
    async with async_playwright() as pw:
        try:
            browser = await pw.chromium.launch(
                executable_path=options.chromium,
                args=[*HEADLESS_ARGS, *host_rules(options)],
            )
        except Error as exc:
            reason = f"headless Chromium could not start: {str(exc).splitlines()[0]}"
            for site in sites:
                site["errors"].append({"page_url": site["url"], "reason": reason, "status": None})
            return
        try:
            limit = asyncio.Semaphore(options.render_concurrency)

            async def one(site: dict[str, Any]) -> None:
                async with limit:
                    await _render_site(browser, site, options, data)

            await asyncio.gather(*(one(site) for site in sites))
        finally:
            await browser.close()


async def _render_site(
    browser: Browser, site: dict[str, Any], options: WebScanOptions, data: TrackerData
) -> None:
    """Visit a site's pages one after another in one browser tab, as a visitor would.

    One tab per site (rather than one per page) spares Chromium a renderer process per page;
    requests are attributed to the page whose navigation made them, cookies to the first page
    after which the browser held them.
    """
    host = (urlsplit(site["url"]).hostname or "").lower()
    context = await browser.new_context(
        user_agent=options.user_agent,
        ignore_https_errors=options.render_trust_any_certificate,
        java_script_enabled=True,
    )
    requests: list[str] = []

    async def route(route: Route) -> None:
        request = route.request
        requests.append(request.url)
        target = (urlsplit(request.url).hostname or "").lower()
        allowed = same_site(target, host) or any(
            t.category == TAG_MANAGER for t, _ in data.match_url(request.url, host)
        )
        if allowed and request.method in ("GET", "HEAD"):
            await route.continue_()
        else:
            await route.abort()

    seen_cookies: set[tuple[str, str]] = set()
    try:
        await context.route("**/*", route)
        page = await context.new_page()
        for url in [p["url"] for p in site["pages"]]:
            requests.clear()
            try:
                response = await page.goto(
                    url, wait_until="load", timeout=options.render_timeout * 1000
                )
                # A page that keeps polling is still scanned with what it requested so far.
                with contextlib.suppress(PlaywrightTimeoutError):
                    await page.wait_for_load_state("networkidle", timeout=SETTLE_MS)
                if response is None or response.status >= 400:
                    status = response.status if response is not None else None
                    site["errors"].append(
                        {
                            "page_url": url,
                            "reason": f"rendered load failed (HTTP {status})",
                            "status": status,
                        }
                    )
                    continue
                keys = await page.evaluate("() => Object.keys(window.localStorage)")
                cookies = {
                    (str(c.get("name", "")), str(c.get("domain", "")))
                    for c in await context.cookies()
                }
            except Error as exc:
                site["errors"].append(
                    {
                        "page_url": url,
                        "reason": f"rendered load failed: {str(exc).splitlines()[0]}",
                        "status": None,
                    }
                )
                if page.is_closed():
                    page = await context.new_page()
                continue
            new_cookies, seen_cookies = cookies - seen_cookies, seen_cookies | cookies
            seen_at = iso(options)
            site["detections"].extend(
                d
                for d in detect_runtime(data, url, host, list(requests), new_cookies, seen_at)
                if not _already(site, d)
            )
            site["storage_keys"] = sorted({*site["storage_keys"], *map(str, keys)})
    except Error as exc:
        site["errors"].append(
            {
                "page_url": site["url"],
                "reason": f"rendered scan failed: {str(exc).splitlines()[0]}",
                "status": None,
            }
        )
    finally:
        await context.close()


def _already(site: dict[str, Any], found: dict[str, Any]) -> bool:
    """A runtime request for a script the static scan already saw on the same page adds nothing."""
    return any(
        d["tracker_id"] == found["tracker_id"]
        and d["page_url"] == found["page_url"]
        and found["evidence"] in d["evidence"]
        for d in site["detections"]
    )
