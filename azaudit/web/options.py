"""Settings of a web scan and the sites it covers (injected; nothing here reads the environment)."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from azaudit import __version__
from azaudit.chromium import DEFAULT_CHROMIUM
from azaudit.errors import InputError

USER_AGENT = f"azaudit-webscan/{__version__} (HIPAA tracker audit; read-only GET; see docs/web.md)"
"""Sent with every request so that site owners can recognise (and allow) the scanner."""


def utc_now() -> datetime:
    """The real clock (tests and benchmarks inject their own)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class SiteTarget:
    """A site to scan (or list as not scanned).

    Attributes:
        url: the start URL (`https://host/`).
        origin: "inventory" (discovered in the tenant) or "user" (given on the command line).
        resource_id: ARM id of the app or endpoint serving the site, if known.
        note: why the site is not scanned; empty when it is to be scanned.
    """

    url: str
    origin: str
    resource_id: str | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class WebScanOptions:
    """Limits and injected dependencies of a scan.

    Attributes:
        max_pages: pages fetched per site (the start page included).
        max_depth: link hops from the start page.
        per_host: requests in flight per site.
        concurrency: requests in flight in total.
        timeout: seconds for one request (connect, headers and body).
        max_bytes: largest page or container body read; larger ones are errors.
        render: also load every fetched page in headless Chromium.
        chromium: the system Chromium the rendered scan drives (never downloaded).
        render_concurrency: sites rendered at once (each site's pages in turn, in one tab).
        render_timeout: seconds for one page to reach `load` in Chromium.
        resolve: `(host, port) -> (address, port)` overrides, like curl's `--resolve`.
        only_resolved: refuse every host not in `resolve` (tests: nothing leaves the machine).
        ssl_context: trust store for HTTPS (None: the system's).
        render_trust_any_certificate: let Chromium accept any certificate (tests only: Chromium
            cannot take `ssl_context`; the static scan has already verified the same sites).
        user_agent: the User-Agent header.
        clock: the time stamps of fetched pages.
    """

    max_pages: int = 20
    max_depth: int = 3
    per_host: int = 4
    concurrency: int = 32
    timeout: float = 15.0
    max_bytes: int = 5 * 1024 * 1024
    render: bool = False
    chromium: str = DEFAULT_CHROMIUM
    render_concurrency: int = 4
    render_timeout: float = 30.0
    resolve: Mapping[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    only_resolved: bool = False
    ssl_context: ssl.SSLContext | None = None
    render_trust_any_certificate: bool = False
    user_agent: str = USER_AGENT
    clock: Callable[[], datetime] = utc_now


def parse_resolve(entries: list[str]) -> dict[tuple[str, int], tuple[str, int]]:
    """`HOST:PORT:ADDRESS[:PORT2]` entries as a resolve map (PORT2 defaults to PORT).

    Raises:
        InputError: naming the entry and the expected form.
    """
    mapping: dict[tuple[str, int], tuple[str, int]] = {}
    for entry in entries:
        parts = entry.split(":")
        if len(parts) not in (3, 4) or not parts[0] or not parts[2]:
            raise InputError(f"--resolve {entry!r}: expected HOST:PORT:ADDRESS[:PORT]")
        try:
            port = int(parts[1])
            target = int(parts[3]) if len(parts) == 4 else port
        except ValueError:
            raise InputError(f"--resolve {entry!r}: ports must be numbers") from None
        mapping[(parts[0].lower(), port)] = (parts[2], target)
    return mapping


def site_targets(urls: Sequence[str]) -> list[SiteTarget]:
    """User-given start URLs, validated (http/https with a host name).

    Raises:
        InputError: naming the URL and what was expected.
    """
    targets = []
    for raw in urls:
        parts = urlsplit(raw.strip())
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise InputError(f"URL {raw!r}: expected an http:// or https:// URL with a host name")
        url = urlunsplit(
            (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
        )
        targets.append(SiteTarget(url=url, origin="user"))
    return targets
