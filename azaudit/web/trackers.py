"""The shipped tracker data (`data/trackers.json`) and how its patterns match URLs, code, cookies.

A URL pattern is either *host-bearing* (`www.clarity.ms/tag/`, `.hotjar.com/preact-...`): its host
must be the URL's host or a parent domain of it and the rest must prefix the URL's path and query;
or *path-only* (`/fbevents.js`, `/utag.js`): it matches only a URL on another site than the page's,
because a first-party file that happens to share a vendor's file name is not that vendor.
Comparisons are case-insensitive (host names are; vendors' paths are matched the way browsers
request them). Inline patterns are matched case-sensitively inside script code, as JavaScript is
case-sensitive. Cookie names may hold `*` wildcards; a name short and generic enough to be set by
anything (`fr`, `sb`, `MUID`) counts only when the cookie comes from the vendor's own domain.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from azaudit.errors import InputError
from azaudit.paths import data_dir

BAA_VALUES = frozenset({"no", "unknown", "enterprise", "yes"})
TAG_MANAGER = "tag_manager"


@dataclass(frozen=True, slots=True)
class UrlPattern:
    """One script/request pattern split into the host it names (if any) and the rest."""

    raw: str
    host: str  # "" for a path-only pattern; a leading "." means "any subdomain of"
    rest: str  # path-and-query prefix (host-bearing) or path substring (path-only)

    @classmethod
    def parse(cls, raw: str) -> UrlPattern:
        """Split `raw` at its first `/` (or `?`) into host and path."""
        text = raw.strip().lower()
        if text.startswith("/"):
            return cls(raw, "", text)
        cut = min((i for i in (text.find("/"), text.find("?")) if i >= 0), default=len(text))
        return cls(raw, text[:cut], text[cut:])

    def matches(self, host: str, path_query: str, third_party: bool) -> bool:
        """Whether a URL with this host and path-and-query is one this pattern names."""
        if not self.host:
            return third_party and self.rest in path_query
        bare = self.host.lstrip(".")
        if self.host.startswith("."):
            host_ok = host.endswith(self.host)
        else:
            host_ok = host == bare or host.endswith("." + bare)
        return host_ok and path_query.startswith(self.rest)


@dataclass(frozen=True, slots=True)
class Tracker:
    """One tracking technology and what the vendor says about a BAA."""

    id: str
    vendor: str
    product: str
    category: str
    url_patterns: tuple[UrlPattern, ...]
    inline_patterns: tuple[str, ...]
    cookies: tuple[str, ...]
    baa: str
    baa_evidence: str
    verified: bool

    def match_url(self, url: str, page_host: str) -> str | None:
        """The raw pattern that `url` matches (None if none), judged from a page on `page_host`."""
        host, path_query = split_url(url)
        if not host:
            return None
        third_party = not same_site(host, page_host)
        for pattern in self.url_patterns:
            if pattern.matches(host, path_query, third_party):
                return pattern.raw
        return None

    def match_code(self, code: str) -> str | None:
        """The first inline signature found in script code, or None."""
        for pattern in self.inline_patterns:
            if pattern in code:
                return pattern
        return None

    def match_cookie(self, name: str, cookie_domain: str = "") -> bool:
        """Whether a cookie called `name` (set for `cookie_domain`, if known) is this tracker's."""
        vendor_domain = bool(cookie_domain) and any(
            p.host and UrlPattern(p.raw, p.host, "").matches(cookie_domain.lstrip("."), "", True)
            for p in self.url_patterns
        )
        for pattern in self.cookies:
            if fnmatch.fnmatchcase(name, pattern) and (vendor_domain or distinctive(pattern)):
                return True
        return False


def distinctive(cookie_pattern: str) -> bool:
    """A cookie name specific enough to identify a vendor wherever it is set."""
    return "_" in cookie_pattern or len(cookie_pattern.replace("*", "")) >= 5


def split_url(url: str) -> tuple[str, str]:
    """`(host, path?query)` of an absolute URL, lower-cased; `("", "")` if it has no host."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return "", ""
    path_query = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return host, path_query.lower()


def same_site(host: str, other: str) -> bool:
    """Whether two hosts are the same or one is a subdomain of the other."""
    a, b = host.lower(), other.lower()
    return a == b or a.endswith("." + b) or b.endswith("." + a)


@dataclass(frozen=True, slots=True)
class TrackerData:
    """The tracker list in force, with its provenance."""

    version: str
    source: str
    trackers: tuple[Tracker, ...]

    def get(self, tracker_id: str) -> Tracker | None:
        """A tracker by id."""
        for tracker in self.trackers:
            if tracker.id == tracker_id:
                return tracker
        return None

    def match_url(self, url: str, page_host: str) -> list[tuple[Tracker, str]]:
        """Every tracker a URL belongs to, with the pattern that matched."""
        found = []
        for tracker in self.trackers:
            pattern = tracker.match_url(url, page_host)
            if pattern is not None:
                found.append((tracker, pattern))
        return found

    def match_code(self, code: str) -> list[tuple[Tracker, str]]:
        """Every tracker whose inline signature appears in script code."""
        found = []
        for tracker in self.trackers:
            pattern = tracker.match_code(code)
            if pattern is not None:
                found.append((tracker, pattern))
        return found

    def match_cookies(
        self, cookies: Iterable[tuple[str, str]]
    ) -> dict[str, tuple[Tracker, list[str]]]:
        """Trackers identified by cookie `(name, domain)` pairs: id -> (tracker, names)."""
        found: dict[str, tuple[Tracker, list[str]]] = {}
        for name, domain in cookies:
            for tracker in self.trackers:
                if tracker.match_cookie(name, domain):
                    entry = found.setdefault(tracker.id, (tracker, []))
                    if name not in entry[1]:
                        entry[1].append(name)
        return found


def default_tracker_data() -> TrackerData:
    """The tracker list shipped with azaudit."""
    return load_tracker_data(data_dir() / "trackers.json")


def load_tracker_data(path: Path) -> TrackerData:
    """Read and validate a tracker list file.

    Raises:
        InputError: one line naming the file and the field, on any problem.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read the tracker list: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("trackers"), list):
        raise InputError(f"{path}: expected an object with a 'trackers' array")
    trackers = tuple(_tracker(path, i, entry) for i, entry in enumerate(document["trackers"]))
    return TrackerData(
        version=str(document.get("version") or "unknown"),
        source=str(document.get("source") or ""),
        trackers=trackers,
    )


def _tracker(path: Path, index: int, entry: Any) -> Tracker:
    where = f"{path}: trackers[{index}]"
    if not isinstance(entry, Mapping):
        raise InputError(f"{where}: expected an object")
    for key in ("id", "vendor", "product", "category", "baa", "baa_evidence"):
        if not isinstance(entry.get(key), str):
            raise InputError(f"{where}.{key}: expected a string")
    if entry["baa"] not in BAA_VALUES:
        raise InputError(f"{where}.baa: expected one of {', '.join(sorted(BAA_VALUES))}")
    lists: dict[str, Sequence[str]] = {}
    for key in ("script_patterns", "inline_patterns", "cookies"):
        value = entry.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise InputError(f"{where}.{key}: expected an array of non-empty strings")
        lists[key] = value
    return Tracker(
        id=entry["id"],
        vendor=entry["vendor"],
        product=entry["product"],
        category=entry["category"],
        url_patterns=tuple(UrlPattern.parse(p) for p in lists["script_patterns"]),
        inline_patterns=tuple(lists["inline_patterns"]),
        cookies=tuple(lists["cookies"]),
        baa=entry["baa"],
        baa_evidence=entry["baa_evidence"],
        verified="UNVERIFIED" not in str(entry.get("notes", "")),
    )
