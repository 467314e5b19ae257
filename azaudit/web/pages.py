"""What one read page adds to a site's entry of the `web:scan` document.

Shared by the crawler (`azaudit.web.crawl`) and the demo tenant's recorded web scan, and kept
apart from the crawler so that recording a page needs no HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from azaudit.web.detect import container_urls, detect_page
from azaudit.web.html import PageContent
from azaudit.web.trackers import TrackerData


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """A page that was read: where it was asked for and ended, and what it held."""

    url: str
    final_url: str
    status: int
    fetched_at: str
    content: PageContent
    cookie_names: tuple[str, ...] = ()


def record_page(site: dict[str, Any], page: FetchedPage, host: str, data: TrackerData) -> list[str]:
    """Add a read page and its detections to `site`; returns the tag-manager containers the
    page loads (the caller fetches each once and adds `detect_container`'s detections)."""
    site["pages"].append(
        {
            "url": page.url,
            "final_url": page.final_url,
            "status": page.status,
            "fetched_at": page.fetched_at,
        }
    )
    site["detections"].extend(
        detect_page(data, page.url, host, page.content, page.cookie_names, page.fetched_at)
    )
    return container_urls(data, host, page.content)
