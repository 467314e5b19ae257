"""Tracker detections on one fetched page or tag-manager container: pure functions, no I/O.

A detection names the page, the kind of evidence (`script`, `link`, `img`, `iframe`, `inline`,
`cookie`, `container`, `request`, `browser-cookie`), the exact element, code signature or request
URL, the cookie names seen, and when the page was fetched.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from azaudit.web.html import PageContent
from azaudit.web.trackers import TAG_MANAGER, Tracker, TrackerData

# Google Tag Manager's published snippet builds the container URL in code from the GTM id.
_GTM_ID = re.compile(r"\bGTM-[A-Z0-9]{4,10}\b")
# URLs written inside JavaScript (container bodies): absolute or protocol-relative, `\/` escapes.
_CODE_URL = re.compile(r"(?:https?:)?(?:\\?/){2}[a-z0-9.-]+\.[a-z]{2,}(?:\\?/[^\s\"'`<>)]*)?", re.I)
GTM_CONTAINER = "https://www.googletagmanager.com/gtm.js?id={}"
APP_INSIGHTS = "azure-application-insights"
# Application Insights keys in a connection string or the SDK's `instrumentationKey` setting.
_IKEY = re.compile(
    r"instrumentationkey\s*(?:=|[\"']?\s*:\s*[\"'])\s*([0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12})",
    re.I,
)


def instrumentation_keys(code: str) -> list[str]:
    """Application Insights instrumentation keys written in code, lower-cased, in order."""
    return list(dict.fromkeys(k.lower() for k in _IKEY.findall(code)))


def detection(
    tracker: Tracker,
    page_url: str,
    kind: str,
    evidence: str,
    matched: str,
    seen_at: str,
    cookie_names: Iterable[str] = (),
    via: str | None = None,
    evidence_code: str = "",
) -> dict[str, Any]:
    """One detection in the `web:scan` document's shape."""
    found = {
        "tracker_id": tracker.id,
        "vendor": tracker.vendor,
        "product": tracker.product,
        "category": tracker.category,
        "baa": tracker.baa,
        "data_verified": tracker.verified,
        "page_url": page_url,
        "kind": kind,
        "evidence": evidence,
        "matched": matched,
        "cookie_names": sorted(set(cookie_names)),
        "first_seen": seen_at,
        "via": via,
    }
    if tracker.id == APP_INSIGHTS:
        found["instrumentation_keys"] = instrumentation_keys(evidence_code or evidence)
    return found


def detect_page(
    data: TrackerData,
    page_url: str,
    page_host: str,
    content: PageContent,
    cookie_names: Iterable[str],
    seen_at: str,
) -> list[dict[str, Any]]:
    """Detections from a parsed page and the cookie names its response set."""
    found: list[dict[str, Any]] = []
    for ref in content.references:
        for tracker, pattern in data.match_url(ref.url, page_host):
            found.append(detection(tracker, page_url, ref.kind, ref.element, pattern, seen_at))
    for code in content.inline_scripts:
        for tracker, pattern in data.match_code(code):
            found.append(
                detection(
                    tracker,
                    page_url,
                    "inline",
                    _excerpt(code, pattern),
                    pattern,
                    seen_at,
                    evidence_code=code,
                )
            )
    for tracker, names in data.match_cookies((n, "") for n in cookie_names).values():
        found.append(
            detection(
                tracker,
                page_url,
                "cookie",
                f"Set-Cookie: {', '.join(names)}",
                names[0],
                seen_at,
                cookie_names=names,
            )
        )
    return _unique(found)


def container_urls(data: TrackerData, page_host: str, content: PageContent) -> list[str]:
    """Tag-manager containers a page loads (script references and GTM ids in inline code)."""
    urls: list[str] = []
    for ref in content.references:
        if ref.kind != "script":
            continue
        if any(t.category == TAG_MANAGER for t, _ in data.match_url(ref.url, page_host)):
            urls.append(ref.url)
    for code in content.inline_scripts:
        if "googletagmanager.com/gtm.js" in code:
            urls.extend(GTM_CONTAINER.format(gtm_id) for gtm_id in _GTM_ID.findall(code))
    return list(dict.fromkeys(urls))


def detect_container(
    data: TrackerData, page_url: str, container_url: str, body: str, seen_at: str
) -> list[dict[str, Any]]:
    """Detections inside a tag-manager container: the tags it deploys, by URL and signature."""
    found: list[dict[str, Any]] = []
    for raw in dict.fromkeys(_CODE_URL.findall(body)):
        url = raw.replace("\\/", "/")
        if url.startswith("//"):
            url = "https:" + url
        for tracker, pattern in data.match_url(url, ""):
            if tracker.category != TAG_MANAGER:
                found.append(
                    detection(
                        tracker, page_url, "container", url, pattern, seen_at, via=container_url
                    )
                )
    for tracker, pattern in data.match_code(body):
        if tracker.category != TAG_MANAGER:
            found.append(
                detection(
                    tracker,
                    page_url,
                    "container",
                    _excerpt(body, pattern),
                    pattern,
                    seen_at,
                    via=container_url,
                )
            )
    return _unique(found)


def detect_runtime(
    data: TrackerData,
    page_url: str,
    page_host: str,
    requests: Iterable[str],
    cookies: Iterable[tuple[str, str]],
    seen_at: str,
) -> list[dict[str, Any]]:
    """Detections from what a rendered page requested and the cookies the browser holds."""
    found: list[dict[str, Any]] = []
    for url in dict.fromkeys(requests):
        for tracker, pattern in data.match_url(url, page_host):
            found.append(detection(tracker, page_url, "request", url, pattern, seen_at))
    for tracker, names in data.match_cookies(cookies).values():
        found.append(
            detection(
                tracker,
                page_url,
                "browser-cookie",
                f"cookie: {', '.join(names)}",
                names[0],
                seen_at,
                cookie_names=names,
            )
        )
    return _unique(found)


def _excerpt(code: str, pattern: str) -> str:
    """About 160 characters of code around the signature, on one line."""
    at = code.find(pattern)
    start = max(0, at - 60)
    text = " ".join(code[start : at + len(pattern) + 100].split())
    return ("..." if start else "") + text


def _unique(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One detection per tracker, kind and evidence (a snippet may match several patterns)."""
    seen: set[tuple[str, str, str]] = set()
    unique = []
    for item in found:
        key = (item["tracker_id"], item["kind"], item["evidence"])
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
