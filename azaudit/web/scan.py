"""A web scan from start to end: sites in, the `web:scan` document out (collection only).

The document is stored in the snapshot as the tenant-scope detail `details["/"]["web:scan"]`;
the web checks (`checks/web/`) evaluate it like any other collected document. docs/web.md
documents its shape.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from azaudit import __version__
from azaudit.models import WebSiteInfo
from azaudit.snapshot import Snapshot
from azaudit.web.discover import discover_sites
from azaudit.web.options import SiteTarget, WebScanOptions
from azaudit.web.trackers import TrackerData, default_tracker_data

if TYPE_CHECKING:
    from azaudit.web.fetch import Fetched, FetchError

DOCUMENT = "web:scan"
"""The snapshot detail name of the document, stored at the tenant scope `/`."""
DOCUMENT_VERSION = 1
WEB_TENANT = "web-scan"
"""The tenant id of a snapshot that holds a web scan alone (`azaudit web-scan`)."""


def with_web_scan(snapshot: Snapshot, document: dict[str, Any]) -> Snapshot:
    """A copy of `snapshot` holding `document` as the tenant-scope detail `web:scan`."""
    details = {scope: dict(docs) for scope, docs in snapshot.details.items()}
    details.setdefault("/", {})[DOCUMENT] = document
    return dataclasses.replace(snapshot, details=details)


def web_only_snapshot(document: dict[str, Any], collected_at: str) -> Snapshot:
    """A snapshot that holds nothing but the `web:scan` document (no Azure inventory).

    `azaudit web-scan` keeps it as its evidence file, exactly as a live scan keeps what it
    collected, so the web findings can be re-evaluated later with `scan --snapshot`.
    """
    empty = Snapshot(
        collected_at=collected_at,
        tool_version=__version__,
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": WEB_TENANT, "displayName": "Web scan"},
        subscriptions=(),
        resources=(),
        details={},
        graph={},
        gaps=(),
    )
    return with_web_scan(empty, document)


def web_sites_info(document: dict[str, Any]) -> tuple[WebSiteInfo, ...]:
    """The sites of a `web:scan` document as reports list them (scanned or not)."""
    return tuple(
        WebSiteInfo(
            url=str(site["url"]),
            origin=str(site["origin"]),
            resource_id=site.get("resource_id"),
            scanned=bool(site["scanned"]),
            pages_scanned=len(site["pages"]),
            note=str(site["note"]),
        )
        for site in document["sites"]
    )


def recorded_web_sites(snapshot: Snapshot) -> tuple[WebSiteInfo, ...]:
    """The sites of the snapshot's `web:scan` document, or none.

    A document of an unknown shape lists no site here; the web checks report it as ERROR.
    """
    found, document = snapshot.detail("/", DOCUMENT)
    if not found or not isinstance(document, dict):
        return ()
    try:
        return web_sites_info(document)
    except (KeyError, TypeError, ValueError):
        return ()


def run_web_scan(
    snapshot: Snapshot,
    options: WebScanOptions,
    extra: Sequence[SiteTarget] = (),
    data: TrackerData | None = None,
) -> dict[str, Any]:
    """Discover the tenant's sites in `snapshot`, add `extra` ones, scan them all."""
    return scan_sites([*discover_sites(snapshot), *extra], options, data)


def scan_sites(
    targets: Iterable[SiteTarget], options: WebScanOptions, data: TrackerData | None = None
) -> dict[str, Any]:
    """Scan the given sites (blocking; runs its own event loop)."""
    return asyncio.run(scan_sites_async(list(targets), options, data or default_tracker_data()))


async def scan_sites_async(
    targets: list[SiteTarget], options: WebScanOptions, data: TrackerData
) -> dict[str, Any]:
    """The `web:scan` document for `targets` (a site listed twice is scanned once)."""
    # The HTTP client is loaded when sites are crawled, not with this module: every scan reads
    # recorded documents through it, and most scans crawl nothing.
    from azaudit.web.crawl import crawl_site
    from azaudit.web.fetch import fetch, open_session

    sites: list[dict[str, Any]] = []
    seen: set[str] = set()
    for target in targets:
        key = target.url.lower() or f"{target.resource_id}|{target.note}"
        if key in seen:
            continue
        seen.add(key)
        sites.append(new_site(target))
    async with open_session(options) as session:
        cache: dict[str, asyncio.Task[Fetched | FetchError]] = {}

        async def container(url: str) -> Fetched | FetchError:
            # A container shared by many sites (one GTM id) is fetched once per scan.
            if url not in cache:
                cache[url] = asyncio.ensure_future(fetch(session, url, options, html_only=False))
            return await cache[url]

        await asyncio.gather(
            *(
                crawl_site(session, site, options, data, container)
                for site in sites
                if not site["note"] and site["url"]
            )
        )
    if options.render:
        from azaudit.web.render import render_sites

        await render_sites([s for s in sites if s["pages"]], options, data)
    return scan_document(sites, options, data)


def new_site(target: SiteTarget) -> dict[str, Any]:
    """A site entry of the document before any page is read (not scanned, nothing found)."""
    return {
        "url": target.url,
        "origin": target.origin,
        "resource_id": target.resource_id,
        "scanned": False,
        "note": target.note,
        "pages": [],
        "detections": [],
        "errors": [],
        "storage_keys": [],
    }


def scan_document(
    sites: list[dict[str, Any]], options: WebScanOptions, data: TrackerData
) -> dict[str, Any]:
    """The `web:scan` document of scanned `sites`, in canonical order (pages, errors and
    detections sorted, so the same sites give the same document however the crawl interleaved)."""
    for site in sites:
        site["pages"].sort(key=lambda p: p["url"])
        site["errors"].sort(key=lambda e: (e["page_url"], e["reason"]))
        site["detections"].sort(key=lambda d: (d["tracker_id"], d["page_url"], d["kind"]))
    return {
        "version": DOCUMENT_VERSION,
        "scanner": {
            "name": "azaudit-webscan",
            "version": __version__,
            "user_agent": options.user_agent,
            "rendered": options.render,
            "max_pages": options.max_pages,
            "max_depth": options.max_depth,
            "timeout_seconds": options.timeout,
            "max_bytes": options.max_bytes,
            "robots_txt": "honoured (RFC 9309)",
            "tracker_data_version": data.version,
        },
        "sites": sites,
    }
