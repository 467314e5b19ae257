"""The HTTP machinery of a live collection: one TLS context, one aiohttp session, three pipelines.

ARM, Resource Graph and Microsoft Graph each get an azure-core `AsyncPipeline` over one shared
aiohttp session (azure-core's `AioHttpTransport`). Reads return an `Answer` (status, headers,
body bytes): the collector parses the JSON itself, so no SDK model or `azure.core.rest` response
object is built per request (the rest layer's compatibility shims cost more CPU than the JSON).

The policy stack is built here instead of the SDK default, and kept to what a read needs:
- `PrepareRequestPolicy` (first, before any token is attached) refuses anything but GET (and the
  Resource Graph query POST), any host but the configured endpoint (a foreign `nextLink` never
  receives our token), and paths that lead to secrets; it sets `User-Agent` (resolved once,
  `AZURE_HTTP_USER_AGENT` included) and a unique `x-ms-client-request-id`, and works out which
  read budget the request draws on, so the URL is split once per request (by its prefix when it
  starts with `https://<endpoint>/`, else parsed in full);
- azure-core's `AsyncRetryPolicy`: bounded, honours `Retry-After` / `retry-after-ms`;
- `MeterPolicy` paces each subscription by its remaining-reads header, holds a slot of the
  adaptive concurrency limit (adaptive.py) only while an attempt is on the wire (never during a
  pacing wait or a retry's backoff), feeds it latency and throttle signals, and reports each
  attempt;
- the bearer-token policy (azure-mgmt-core's ARM challenge policy for ARM and Resource Graph);
- `QuietLoggingPolicy`: azure-core's HTTP logging (which redacts every header and query value
  outside its allow-list, the `Authorization` header included, and never logs bodies), run only
  while its logger is enabled.
Absent on purpose: `ARMAutoResourceProviderRegistrationPolicy` (it would POST a provider
registration), the redirect policy (the transport never follows a redirect, and a 3xx answer
to a read is a gap: no token can follow a redirect to another host), distributed tracing and
the per-request header/proxy lookups of the SDK defaults. Proxy settings (`HTTPS_PROXY`,
`NO_PROXY`) are resolved once per endpoint rather than by aiohttp's `trust_env` on every
request (two thread-pool hops each: netrc and proxy lookup).
"""

from __future__ import annotations

import itertools
import json
import re
import time
import urllib.request
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline import AsyncPipeline, PipelineContext, PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    AsyncBearerTokenCredentialPolicy,
    AsyncHTTPPolicy,
    AsyncRetryPolicy,
    HttpLoggingPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import AioHttpTransport, HttpRequest
from azure.mgmt.core.policies import ARMHttpLoggingPolicy, AsyncARMChallengeAuthenticationPolicy
from multidict import CIMultiDict

from azaudit import __version__
from azaudit.collect.adaptive import AdaptiveLimit
from azaudit.collect.clouds import CloudEndpoints, ssl_context
from azaudit.collect.options import RetrySettings
from azaudit.collect.progress import ProgressObserver, RequestInfo
from azaudit.collect.throttle import Pacer

USER_AGENT = f"azaudit/{__version__}"
ARG_QUERY_PATH = "/providers/microsoft.resourcegraph/resources"
ARG_API_VERSION = "2021-03-01"
ARG_RETRY_METHODS = frozenset({"GET", "POST"})
PACING_KEY = "azaudit.pacing_key"
"""Pipeline context entry: the read budget a request draws on (see `pacing_key`)."""

# Paths that lead to secret values (keys, app settings, connection strings, publishing profiles,
# Key Vault secrets). Most are POST actions and refused anyway; matching them explicitly keeps a
# GET variant from slipping through. Matched on structure, not on any segment, so that a
# resource group or resource that happens to be named "secrets" is still read.
SECRET_ACTIONS = frozenset(
    {
        "listkeys",
        "listsecrets",
        "listconnectionstrings",
        "listaccountsas",
        "listservicesas",
        "regeneratekey",
        "publishxml",
    }
)
SECRET_PATHS = re.compile(
    r"/config/(appsettings|connectionstrings|publishingcredentials|authsettings(v2)?)(/|$)"
    # The ARM lists `vaults/{v}/keys` and `vaults/{v}/secrets` themselves are metadata (the
    # secret list never returns `value`: Key Vault RP specification, `SecretProperties`); any
    # path below an individual key or secret stays refused.
    r"|/providers/microsoft\.keyvault/vaults/[^/]+/(secrets|keys)/"
)


class BlockedRequestError(AzureError):
    """A request azaudit refused to send (a write, another host, or a path to secrets)."""


@dataclass(frozen=True, slots=True)
class Answer:
    """An HTTP answer as the collector reads it: status, headers and the body's bytes."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    def json(self) -> Any:
        """The body as JSON (raises `ValueError` when it is not JSON)."""
        return json.loads(self.content)


@dataclass(slots=True)
class Meter:
    """Counts every attempt (retries included), by kind."""

    requests: int = 0
    throttled: int = 0
    failed: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


class RequestIds:
    """`x-ms-client-request-id` values: GUID-shaped, random per run, unique per request.

    A random prefix drawn once (from a UUID4) and a counter in the last group: support cases
    need only uniqueness, and a fresh `uuid4()` per request (a system call for 16 random bytes
    and a `UUID` object) is a measurable share of a request's CPU. azure-core's own
    `RequestIdPolicy` uses `uuid1`, slower still.
    """

    def __init__(self) -> None:
        self._prefix = str(uuid.uuid4())[:24]
        self._counter = itertools.count(int.from_bytes(uuid.uuid4().bytes[:5], "big"))

    def next(self) -> str:
        """The next id: `xxxxxxxx-xxxx-4xxx-yxxx-` and 12 hex digits of the counter."""
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


class PrepareRequestPolicy(AsyncHTTPPolicy[Any, Any]):
    """Refuses what an auditor must not send; sets the headers; names the request's budget.

    First in the pipeline, so a refused request never reaches the retry or the token policy.
    One policy with a `send` rather than several sans-I/O policies: azure-core runs each of
    those through two awaited wrapper calls per request.
    """

    def __init__(self, api: str, allowed_netloc: str, allow_query_post: bool = False) -> None:
        super().__init__()
        self._api = api
        self._netloc = allowed_netloc.lower()
        self._prefix = f"https://{self._netloc}/"
        self._allow_query_post = allow_query_post
        # azure-core's agent string (with AZURE_HTTP_USER_AGENT), read once, not per request.
        self._user_agent = UserAgentPolicy(user_agent=USER_AGENT).user_agent
        self._request_ids = RequestIds()

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Check, prepare and pass on the request."""
        self.on_request(request)
        return await self.next.send(request)

    def on_request(self, request: PipelineRequest[Any]) -> None:
        """Raise `BlockedRequestError` for a write, a foreign host or a secret path; prepare."""
        http = request.http_request
        url = http.url
        if url.startswith(self._prefix) and url.isprintable():
            # The usual case, without parsing: what follows `https://<host>/` up to the query
            # (or fragment) is the path, exactly as `urlsplit` splits it (which also drops tabs
            # and line breaks: a URL with any control character takes the long way).
            raw_path = url[len(self._prefix) - 1 : _path_end(url, len(self._prefix))]
        else:
            parts = urlsplit(url)
            if parts.scheme.lower() != "https" or parts.netloc.lower() != self._netloc:
                raise BlockedRequestError(
                    f"refused a request to {parts.scheme}://{parts.netloc}: "
                    "only the configured endpoint receives credentials"
                )
            raw_path = parts.path
        path = raw_path.lower().rstrip("/")
        method = http.method.upper()
        query_post = self._allow_query_post and path.endswith(ARG_QUERY_PATH)
        if method != "GET" and not (method == "POST" and query_post):
            raise BlockedRequestError(f"refused {method} {raw_path}: azaudit only reads")
        if path.rsplit("/", 1)[-1] in SECRET_ACTIONS or SECRET_PATHS.search(path):
            raise BlockedRequestError(f"refused {raw_path}: it leads to secret values")
        headers = http.headers
        headers["User-Agent"] = self._user_agent
        headers["x-ms-client-request-id"] = self._request_ids.next()
        request.context[PACING_KEY] = pacing_key(self._api, raw_path)


class QuietLoggingPolicy(AsyncHTTPPolicy[Any, Any]):
    """azure-core's HTTP logging (redacting), only while its logger is enabled.

    The sans-I/O policy itself would cost two awaited wrapper calls and its context lookups on
    every request just to find that logging is off.
    """

    def __init__(self, inner: HttpLoggingPolicy) -> None:
        super().__init__()
        self._inner = inner

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Log the request and response when enabled; send."""
        if not self._inner.logger.isEnabledFor(self._inner.http_logging_level):
            return await self.next.send(request)
        self._inner.on_request(request)
        response = await self.next.send(request)
        self._inner.on_response(request, response)
        return response


class MeterPolicy(AsyncHTTPPolicy[Any, Any]):
    """Per attempt: wait for the scope's turn, send, learn from rate-limit headers, report."""

    def __init__(
        self,
        api: str,
        pacer: Pacer,
        meter: Meter,
        observer: ProgressObserver,
        limit: AdaptiveLimit,
    ) -> None:
        super().__init__()
        self._api = api
        self._pacer = pacer
        self._meter = meter
        self._observer = observer
        self._limit = limit

    async def send(self, request: PipelineRequest[Any]) -> PipelineResponse[Any, Any]:
        """Pace, take a slot, send, learn, record."""
        http = request.http_request
        key = request.context.get(PACING_KEY) or pacing_key(self._api, http.url)
        await self._pacer.wait_turn(key)
        method = http.method
        meter = self._meter
        meter.requests += 1
        meter.by_method[method] = meter.by_method.get(method, 0) + 1
        # The inventory is on every subscription's critical path: its queries go first.
        await self._limit.acquire(urgent=self._api == "arg")
        started = time.monotonic()
        try:
            response = await self.next.send(request)
        except AzureError:
            meter.failed += 1
            self._observer.request_done(
                RequestInfo(self._api, method, _path(http.url), None, time.monotonic() - started)
            )
            raise
        finally:
            self._limit.release()
        elapsed = time.monotonic() - started
        status = response.http_response.status_code
        if status == 429:
            meter.throttled += 1
            self._limit.throttled()
        else:
            if status >= 500:
                meter.failed += 1
            self._limit.succeeded(elapsed)
        if self._pacer.observe(key, response.http_response.headers):
            self._limit.budget_low()
        self._observer.request_done(
            RequestInfo(self._api, method, _path(http.url), status, elapsed)
        )
        return response


def _path_end(url: str, start: int) -> int:
    """Where the path of `url` (starting at `start`) ends: its query, fragment or the end."""
    end = len(url)
    for mark in "?#":
        found = url.find(mark, start)
        if 0 <= found < end:
            end = found
    return end


def _path(url: str) -> str:
    """The path of an absolute URL, without parsing the whole of it."""
    start = url.find("/", url.find("//") + 2)
    if start < 0:
        return "/"
    end = url.find("?", start)
    return url[start:] if end < 0 else url[start:end]


def pacing_key(api: str, url: str) -> str:
    """The budget a request (URL or path) draws on: its subscription for ARM, else the family."""
    if api != "arm":
        return api
    path = url if url.startswith("/") else _path(url)
    segments = path.strip("/").split("/", 2)
    if len(segments) >= 2 and segments[0].lower() == "subscriptions":
        return segments[1].lower()
    return "tenant"


@dataclass(frozen=True, slots=True)
class Pipeline:
    """One API's azure-core pipeline: its transport and the first of its chained policies.

    `AsyncPipeline` chains the policies (each one's `next`); a request is then sent through
    the first of them directly: `AsyncPipeline.run` would also prepare multipart bodies,
    which a read never has, at a measurable cost per request.
    """

    transport: AioHttpTransport
    first: AsyncHTTPPolicy[Any, Any]

    @classmethod
    def build(
        cls, transport: AioHttpTransport, policies: list[AsyncHTTPPolicy[Any, Any]]
    ) -> Pipeline:
        """Chain `policies` (first to last, then the transport) as azure-core does."""
        AsyncPipeline(transport, policies)
        return cls(transport, policies[0])

    async def run(self, request: HttpRequest, **options: Any) -> PipelineResponse[Any, Any]:
        """Send `request` through every policy, as `AsyncPipeline.run` does for a read."""
        return await self.first.send(
            PipelineRequest(request, PipelineContext(self.transport, **options))
        )


class Clients:
    """The three pipelines over one shared aiohttp session; an async context manager."""

    def __init__(
        self,
        endpoints: CloudEndpoints,
        credential: AsyncTokenCredential,
        observer: ProgressObserver,
        concurrency: int,
        retry: RetrySettings | None = None,
        pacer: Pacer | None = None,
        limit: AdaptiveLimit | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.endpoints = endpoints
        self.credential = credential
        self.observer = observer
        self.retry = retry or RetrySettings()
        self.pacer = pacer or Pacer()
        self.limit = limit or AdaptiveLimit(concurrency, initial=concurrency)
        self.meter = Meter()
        self._ssl = ssl_context(endpoints.ca_bundle)
        self._connection_limit = max(concurrency, 1) + 4
        self._arm_options = self._transport_options(proxy_for(endpoints.arm, environ))
        self._graph_options = self._transport_options(proxy_for(endpoints.graph, environ))
        self._session: aiohttp.ClientSession | None = None
        self._arm: Pipeline | None = None
        self._arg: Pipeline | None = None
        self._graph: Pipeline | None = None

    async def __aenter__(self) -> Clients:
        # Keep-alive connections are reused across all three pipelines; one per request in
        # flight (plus a few for token refreshes) so the adaptive limit is never capped here.
        connector = aiohttp.TCPConnector(
            ssl=self._ssl, limit=self._connection_limit, keepalive_timeout=30
        )
        # trust_env=False: the proxy is resolved once (proxy_for), not on every request.
        self._session = aiohttp.ClientSession(
            connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        arm_netloc = urlsplit(self.endpoints.arm).netloc
        self._arm = self._pipeline("arm", arm_netloc, arm_auth=True)
        self._arg = self._pipeline("arg", arm_netloc, arm_auth=True, query_post=True)
        self._graph = self._pipeline("graph", urlsplit(self.endpoints.graph).netloc)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    def _pipeline(
        self, api: str, netloc: str, arm_auth: bool = False, query_post: bool = False
    ) -> Pipeline:
        transport = AioHttpTransport(session=self._session, session_owner=False)
        return Pipeline.build(transport, self._policies(api, netloc, arm_auth, query_post))

    def _policies(
        self, api: str, netloc: str, arm_auth: bool = False, query_post: bool = False
    ) -> list[AsyncHTTPPolicy[Any, Any]]:
        scope = self.endpoints.arm_scope if arm_auth else self.endpoints.graph_scope
        auth: AsyncHTTPPolicy[Any, Any] = (
            AsyncARMChallengeAuthenticationPolicy(self.credential, scope)
            if arm_auth
            else AsyncBearerTokenCredentialPolicy(self.credential, scope)
        )
        logging_policy = ARMHttpLoggingPolicy() if arm_auth else HttpLoggingPolicy()
        return [
            PrepareRequestPolicy(api, netloc, allow_query_post=query_post),
            AsyncRetryPolicy(
                retry_total=self.retry.total,
                retry_connect=self.retry.total,
                retry_read=self.retry.total,
                retry_status=self.retry.total,
                retry_backoff_factor=self.retry.backoff_factor,
                retry_backoff_max=self.retry.backoff_max,
            ),
            MeterPolicy(api, self.pacer, self.meter, self.observer, self.limit),
            auth,
            QuietLoggingPolicy(logging_policy),
        ]

    def _transport_options(self, proxy: str | None) -> dict[str, Any]:
        options: dict[str, Any] = {
            "connection_timeout": self.retry.connect_timeout,
            "read_timeout": self.retry.read_timeout,
        }
        if proxy is not None:
            options["proxy"] = proxy
        return options

    async def arm_get(self, url: str) -> Answer:
        """GET an absolute ARM URL through the ARM pipeline."""
        assert self._arm is not None, "Clients used outside 'async with'"
        return await _send(self._arm, _read_request("GET", url), self._arm_options)

    async def arg_query(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one Resource Graph QueryRequest and return the QueryResponse JSON.

        Raises `FetchError` for an error answer (like every other read).
        """
        from azaudit.collect.fetch import json_object

        request = _read_request(
            "POST",
            f"{self.endpoints.arm}/providers/Microsoft.ResourceGraph/resources"
            f"?api-version={ARG_API_VERSION}",
        )
        request.set_json_body(body)
        assert self._arg is not None, "Clients used outside 'async with'"
        # azure-core retries POSTs only on 500/503/504 by default, yet the query only reads.
        options = {**self._arm_options, "retry_on_methods": ARG_RETRY_METHODS}
        return json_object(await _send(self._arg, request, options))

    async def graph_get(self, url: str) -> Answer:
        """GET an absolute Microsoft Graph URL through the Graph pipeline."""
        assert self._graph is not None, "Clients used outside 'async with'"
        return await _send(self._graph, _read_request("GET", url), self._graph_options)


_ACCEPT_JSON = {"Accept": "application/json"}


def _read_request(method: str, url: str) -> HttpRequest:
    """An azure-core request whose headers are multidict's `CIMultiDict`.

    azure-core keeps headers in its own case-insensitive mapping written in Python: every
    header a policy sets, and every header aiohttp copies out of it, costs a few Python calls.
    `CIMultiDict` (aiohttp's own header type) is the same case-insensitive mapping in C, and
    aiohttp copies it without calling back into Python.
    """
    request = HttpRequest(method, url)
    request.headers = CIMultiDict(_ACCEPT_JSON)
    return request


async def _send(pipeline: Pipeline, request: HttpRequest, options: dict[str, Any]) -> Answer:
    """Run `request` through `pipeline` with the body read; the answer as plain data."""
    result = await pipeline.run(request, stream=False, **options)
    response = result.http_response
    return Answer(response.status_code, response.headers, response.body())


def proxy_for(endpoint: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The proxy URL for requests to `endpoint` (`HTTPS_PROXY` unless `NO_PROXY` matches).

    Resolved once per run; `environ` defaults to the process environment.
    """
    host = urlsplit(endpoint).hostname or ""
    if environ is None:
        proxies = urllib.request.getproxies()
        bypass = bool(proxies) and bool(urllib.request.proxy_bypass(host))
    else:
        proxies = {
            k.lower()[: -len("_proxy")]: v
            for k, v in environ.items()
            if k.lower().endswith("_proxy") and v
        }
        no_proxy = proxies.pop("no", "")
        bypass = _bypassed(host, no_proxy)
    if bypass:
        return None
    return proxies.get("https") or proxies.get("all") or None


def _bypassed(host: str, no_proxy: str) -> bool:
    host = host.lower()
    for entry in (e.strip().lower().lstrip(".") for e in no_proxy.split(",")):
        if entry == "*" or (entry and (host == entry or host.endswith("." + entry))):
            return True
    return False
