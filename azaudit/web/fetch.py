"""HTTP for the scanner: one aiohttp session, GET only, bounded bodies, explicit outcomes.

Every fetch ends in a `Fetched` (a body we can read) or a `FetchError` (status and reason): DNS
and TLS failures, timeouts, 4xx/5xx, non-HTML answers and bodies over the size limit are data
for the report, never exceptions that end the scan. Redirects are followed by the crawler, not
here, so that it can refuse those that leave the site.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

from azaudit.web.options import WebScanOptions

HTML_TYPES = ("text/html", "application/xhtml+xml")
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response whose body was read (within the size limit)."""

    url: str
    status: int
    content_type: str
    text: str
    cookie_names: tuple[str, ...]
    location: str | None  # redirect target, absolute


@dataclass(frozen=True, slots=True)
class FetchError:
    """A request that gave nothing to scan."""

    url: str
    reason: str
    status: int | None = None


class OverrideResolver(AbstractResolver):
    """Resolves overridden `(host, port)` pairs to a fixed address, like curl's `--resolve`.

    With `only_resolved`, every other host fails to resolve: nothing leaves the machine.
    """

    def __init__(
        self, mapping: Mapping[tuple[str, int], tuple[str, int]], only_resolved: bool
    ) -> None:
        self._mapping = {(h.lower(), p): v for (h, p), v in mapping.items()}
        self._only = only_resolved
        self._default: AbstractResolver | None = None

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        target = self._mapping.get((host.lower(), port))
        if target is not None:
            address, mapped_port = target
            return [
                {
                    "hostname": host,
                    "host": address,
                    "port": mapped_port,
                    "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
                    "proto": 0,
                    "flags": socket.AI_NUMERICHOST,
                }
            ]
        if self._only:
            raise OSError(f"host {host}:{port} is not in the resolve list")
        if self._default is None:
            self._default = DefaultResolver()
        return await self._default.resolve(host, port, family)

    async def close(self) -> None:
        if self._default is not None:
            await self._default.close()


def open_session(options: WebScanOptions) -> aiohttp.ClientSession:
    """The scanner's session: its User-Agent, resolver, trust store and connection limits."""
    ssl_arg: ssl.SSLContext | bool = options.ssl_context or True
    connector = aiohttp.TCPConnector(
        limit=options.concurrency,
        limit_per_host=options.per_host,
        resolver=OverrideResolver(options.resolve, options.only_resolved),
        ssl=ssl_arg,
    )
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": options.user_agent, "Accept": "text/html,*/*;q=0.5"},
        timeout=aiohttp.ClientTimeout(total=options.timeout),
        cookie_jar=aiohttp.DummyCookieJar(),  # every page is fetched as a first visit
    )


async def fetch(
    session: aiohttp.ClientSession, url: str, options: WebScanOptions, html_only: bool
) -> Fetched | FetchError:
    """GET `url` once, without following redirects."""
    try:
        async with session.get(url, allow_redirects=False) as response:
            cookies = tuple(
                header.split("=", 1)[0].strip()
                for header in response.headers.getall("Set-Cookie", [])
                if "=" in header
            )
            location = response.headers.get("Location")
            if response.status in REDIRECTS:
                if not location:
                    return FetchError(url, "redirect without a Location header", response.status)
                target = str(response.url.join(URL(location)))
                return Fetched(url, response.status, "", "", cookies, target)
            if response.status >= 400:
                return FetchError(
                    url, f"HTTP {response.status} {response.reason or ''}".strip(), response.status
                )
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
            if html_only and content_type not in HTML_TYPES:
                return FetchError(
                    url,
                    f"not an HTML page (Content-Type {content_type or 'missing'})",
                    response.status,
                )
            body = await _read_limited(response, options.max_bytes)
            if body is None:
                return FetchError(
                    url, f"larger than the {options.max_bytes}-byte limit", response.status
                )
            text = body.decode(response.charset or "utf-8", errors="replace")
            return Fetched(url, response.status, content_type, text, cookies, None)
    except TimeoutError:
        return FetchError(url, f"timed out after {options.timeout:g} s")
    except aiohttp.ClientConnectorCertificateError as exc:
        return FetchError(url, f"TLS certificate not trusted: {exc.certificate_error}")
    except aiohttp.ClientSSLError as exc:
        return FetchError(url, f"TLS error: {_short(exc)}")
    except aiohttp.ClientConnectorDNSError as exc:
        return FetchError(url, f"host name not resolved: {_short(exc)}")
    except aiohttp.ClientConnectorError as exc:
        return FetchError(url, f"connection failed: {_short(exc)}")
    except (aiohttp.ClientError, asyncio.IncompleteReadError, ValueError) as exc:
        return FetchError(url, f"request failed: {type(exc).__name__}: {_short(exc)}")


async def _read_limited(response: aiohttp.ClientResponse, limit: int) -> bytes | None:
    declared = response.content_length
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _short(exc: Any) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]
