"""The static crawl of one site: robots.txt, breadth-first pages, containers, detections.

Bounds: `max_pages` pages and `max_depth` link hops per site, `per_host` requests in flight.
Only links and redirects on the start URL's own host are followed; a redirect that leaves the
site is recorded as an error for that page (the page could not be scanned), never followed.
robots.txt is honoured as RFC 9309 says: 4xx means no rules, an unreachable or failing file
means "disallow everything", and a disallowed page is listed as an error, not silently skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from urllib.robotparser import RobotFileParser

import aiohttp

from azaudit.web.detect import detect_container
from azaudit.web.fetch import Fetched, FetchError, fetch
from azaudit.web.html import parse_page
from azaudit.web.options import WebScanOptions
from azaudit.web.pages import FetchedPage, record_page
from azaudit.web.trackers import TrackerData

MAX_REDIRECTS = 5
# Links to these are files, not pages: fetching them would only produce "not HTML" errors.
SKIPPED_SUFFIXES = (
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".svg",
    ".webp",
    ".ico",
    ".css",
    ".js",
    ".json",
    ".xml",
    ".zip",
    ".mp4",
    ".mp3",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".woff",
    ".woff2",
    ".ttf",
    ".txt",
    ".csv",
)

ContainerFetcher = Callable[[str], Awaitable[Fetched | FetchError]]


def iso(options: WebScanOptions) -> str:
    """The clock's time as ISO 8601 UTC, seconds precision."""
    return options.clock().replace(microsecond=0).isoformat().replace("+00:00", "Z")


def normalise(url: str) -> str:
    """A URL without its fragment, with an explicit `/` path (the crawl's identity of a page)."""
    parts = urlsplit(url)
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


async def crawl_site(
    session: aiohttp.ClientSession,
    site: dict[str, Any],
    options: WebScanOptions,
    data: TrackerData,
    containers: ContainerFetcher,
) -> None:
    """Fill `site["pages"]`, `site["detections"]` and `site["errors"]` for one site."""
    start = normalise(site["url"])
    origin = urlsplit(start)
    host = (origin.hostname or "").lower()
    robots = await _robots(session, start, options, site)
    if robots is None:
        site["scanned"] = False
        return
    queue: list[tuple[str, int]] = [(start, 0)]
    seen = {start}
    limit = asyncio.Semaphore(options.per_host)
    pages: list[dict[str, Any]] = site["pages"]

    async def visit(url: str, depth: int) -> list[tuple[str, int]]:
        async with limit:
            return await _visit(session, site, url, depth, host, robots, options, data, containers)

    while queue and len(pages) + len(site["errors"]) < options.max_pages:
        room = options.max_pages - len(pages) - len(site["errors"])
        batch, queue = queue[:room], queue[room:]
        results = await asyncio.gather(*(visit(u, d) for u, d in batch))
        for links in results:
            for link, depth in links:
                if link not in seen:
                    seen.add(link)
                    queue.append((link, depth))
    site["scanned"] = bool(pages)
    if not pages and not site["note"]:
        site["note"] = "no page could be fetched"


async def _visit(
    session: aiohttp.ClientSession,
    site: dict[str, Any],
    url: str,
    depth: int,
    host: str,
    robots: RobotFileParser,
    options: WebScanOptions,
    data: TrackerData,
    containers: ContainerFetcher,
) -> list[tuple[str, int]]:
    """Fetch one page (following same-site redirects), detect, and return its links."""
    if not robots.can_fetch(options.user_agent, url):
        site["errors"].append(_error(url, "disallowed by robots.txt; not fetched", None))
        return []
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        got = await fetch(session, current, options, html_only=True)
        if isinstance(got, FetchError):
            site["errors"].append(_error(url, got.reason, got.status))
            return []
        if got.location is None:
            break
        target = normalise(got.location)
        if (urlsplit(target).hostname or "").lower() != host:
            site["errors"].append(
                _error(url, f"redirects off the site to {target}; not followed", got.status)
            )
            return []
        current = target
    else:
        site["errors"].append(_error(url, f"more than {MAX_REDIRECTS} redirects", None))
        return []
    try:
        content = parse_page(got.text, current)
    except (ValueError, AssertionError) as exc:  # html.parser's few hard failures
        site["errors"].append(_error(url, f"HTML could not be parsed: {exc}", got.status))
        return []
    seen_at = iso(options)
    page = FetchedPage(url, current, got.status, seen_at, content, tuple(got.cookie_names))
    for container in record_page(site, page, host, data):
        body = await containers(container)
        if isinstance(body, FetchError):
            site["errors"].append(
                _error(container, f"tag-manager container on {url}: {body.reason}", body.status)
            )
            continue
        site["detections"].extend(detect_container(data, url, container, body.text, seen_at))
    if depth >= options.max_depth:
        return []
    links = []
    for link in content.links:
        target = normalise(link)
        parts = urlsplit(target)
        if (
            parts.scheme in ("http", "https")
            and (parts.hostname or "").lower() == host
            and not parts.path.lower().endswith(SKIPPED_SUFFIXES)
        ):
            links.append((target, depth + 1))
    return links


async def _robots(
    session: aiohttp.ClientSession, start: str, options: WebScanOptions, site: dict[str, Any]
) -> RobotFileParser | None:
    """The site's robots rules, or None (site not scanned) when RFC 9309 says disallow all."""
    parts = urlsplit(start)
    robots_url = urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))
    parser = RobotFileParser(robots_url)
    got = await fetch(session, robots_url, options, html_only=False)
    for _ in range(MAX_REDIRECTS):  # RFC 9309 2.3.1.2: follow at least five redirects
        if isinstance(got, FetchError) or got.location is None:
            break
        got = await fetch(session, got.location, options, html_only=False)
    if isinstance(got, FetchError) and got.status is not None and 400 <= got.status < 500:
        parser.parse([])  # RFC 9309 2.3.1.3: unavailable robots.txt, no restrictions
        return parser
    if isinstance(got, FetchError) or got.location is not None:
        reason = got.reason if isinstance(got, FetchError) else "redirected"
        status = got.status
        site["errors"].append(
            _error(
                robots_url, f"robots.txt unreachable ({reason}): treated as disallow all", status
            )
        )
        site["note"] = f"not scanned: robots.txt unreachable ({reason})"
        return None
    parser.parse(got.text.splitlines())
    if not parser.can_fetch(options.user_agent, start):
        site["note"] = "not scanned: robots.txt disallows the start page"
        site["errors"].append(_error(start, "disallowed by robots.txt; not fetched", None))
        return None
    return parser


def _error(url: str, reason: str, status: int | None) -> dict[str, Any]:
    return {"page_url": url, "reason": reason, "status": status}
