"""The HTTP machinery of a live collection: one TLS context, one aiohttp session, three clients.

- ARM: the `SubscriptionClient` of azure-mgmt-resource-subscriptions used through its
  `send_request` (raw JSON, every ARM path, azure-mgmt-core pipeline);
- Resource Graph: an azure-core `AsyncPipelineClient` posting QueryRequest JSON (the SDK's models
  would walk every value of every row to deserialise what is already JSON);
- Microsoft Graph: an azure-core `AsyncPipelineClient` (no msgraph-sdk).

All three run the same policy stack, built here instead of the SDK default so that:
- `ARMAutoResourceProviderRegistrationPolicy` is absent (it would POST a provider registration);
- `ReadOnlyGuardPolicy` refuses anything but GET (and the Resource Graph query POST), any host
  but the configured endpoint (a foreign `nextLink` never receives our token), and paths that
  lead to secrets;
- retries are bounded and honour `Retry-After` / `retry-after-ms`;
- `MeterPolicy` paces each subscription by its remaining-reads header, holds a slot of the
  adaptive concurrency limit (adaptive.py) only while an attempt is on the wire (never during a
  pacing wait or a retry's backoff), feeds it latency and throttle signals, and reports each
  attempt;
- proxy settings (`HTTPS_PROXY`, `NO_PROXY`) are resolved once per endpoint rather than by
  aiohttp's `trust_env` on every request (two thread-pool hops each: netrc and proxy lookup);
- HTTP logging redacts every header and query value outside azure-core's allow-list (the
  `Authorization` header included) and never logs bodies.
"""

from __future__ import annotations

import re
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from azure.core import AsyncPipelineClient
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import (
    AsyncBearerTokenCredentialPolicy,
    AsyncHTTPPolicy,
    AsyncRetryPolicy,
    HttpLoggingPolicy,
    SansIOHTTPPolicy,
    UserAgentPolicy,
)
from azure.core.pipeline.transport import AioHttpTransport
from azure.core.rest import AsyncHttpResponse, HttpRequest
from azure.mgmt.core.policies import ARMHttpLoggingPolicy, AsyncARMChallengeAuthenticationPolicy
from azure.mgmt.resource.subscriptions.aio import SubscriptionClient

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


class ClientRequestIdPolicy(SansIOHTTPPolicy[Any, Any]):
    """`x-ms-client-request-id` (a random UUID) on every request, for support cases.

    azure-core's `RequestIdPolicy` uses `uuid1`, whose clock-sequence call is measurably slow
    under load; a random UUID serves the same purpose.
    """

    def on_request(self, request: PipelineRequest[Any]) -> None:
        """Set the header."""
        request.http_request.headers["x-ms-client-request-id"] = str(uuid.uuid4())


class BlockedRequestError(AzureError):
    """A request azaudit refused to send (a write, another host, or a path to secrets)."""


@dataclass(slots=True)
class Meter:
    """Counts every attempt (retries included), by kind."""

    requests: int = 0
    throttled: int = 0
    failed: int = 0
    by_method: dict[str, int] = field(default_factory=dict)


class ReadOnlyGuardPolicy(SansIOHTTPPolicy[Any, Any]):
    """Refuses, before any token is attached, every request an auditor must not make."""

    def __init__(self, allowed_netloc: str, allow_query_post: bool = False) -> None:
        self._netloc = allowed_netloc.lower()
        self._allow_query_post = allow_query_post

    def on_request(self, request: PipelineRequest[Any]) -> None:
        """Raise `BlockedRequestError` for a write, a foreign host or a secret path."""
        http = request.http_request
        parts = urlsplit(http.url)
        path = parts.path.lower().rstrip("/")
        if parts.scheme.lower() != "https" or parts.netloc.lower() != self._netloc:
            raise BlockedRequestError(
                f"refused a request to {parts.scheme}://{parts.netloc}: "
                "only the configured endpoint receives credentials"
            )
        method = http.method.upper()
        query_post = self._allow_query_post and path.endswith(ARG_QUERY_PATH)
        if method != "GET" and not (method == "POST" and query_post):
            raise BlockedRequestError(f"refused {method} {parts.path}: azaudit only reads")
        if path.rsplit("/", 1)[-1] in SECRET_ACTIONS or SECRET_PATHS.search(path):
            raise BlockedRequestError(f"refused {parts.path}: it leads to secret values")


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
        parts = urlsplit(http.url)
        key = pacing_key(self._api, parts.path)
        await self._pacer.wait_turn(key)
        method = http.method.upper()
        self._meter.requests += 1
        self._meter.by_method[method] = self._meter.by_method.get(method, 0) + 1
        # The inventory is on every subscription's critical path: its queries go first.
        await self._limit.acquire(urgent=self._api == "arg")
        started = time.monotonic()
        try:
            response = await self.next.send(request)
        except AzureError:
            self._meter.failed += 1
            self._observer.request_done(
                RequestInfo(self._api, method, parts.path, None, time.monotonic() - started)
            )
            raise
        finally:
            self._limit.release()
        elapsed = time.monotonic() - started
        status = response.http_response.status_code
        if status == 429:
            self._meter.throttled += 1
            self._limit.throttled()
        else:
            if status >= 500:
                self._meter.failed += 1
            self._limit.succeeded(elapsed)
        if self._pacer.observe(key, response.http_response.headers):
            self._limit.budget_low()
        self._observer.request_done(RequestInfo(self._api, method, parts.path, status, elapsed))
        return response


def pacing_key(api: str, url: str) -> str:
    """The budget a request (URL or path) draws on: its subscription for ARM, else the family."""
    if api != "arm":
        return api
    segments = urlsplit(url).path.strip("/").split("/")
    if len(segments) >= 2 and segments[0].lower() == "subscriptions":
        return segments[1].lower()
    return "tenant"


class Clients:
    """The three clients over one shared aiohttp session; an async context manager."""

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
        self._arm_proxy = proxy_for(endpoints.arm, environ)
        self._graph_proxy = proxy_for(endpoints.graph, environ)
        self._session: aiohttp.ClientSession | None = None
        self._arm: SubscriptionClient | None = None
        self._arg: AsyncPipelineClient[HttpRequest, AsyncHttpResponse] | None = None
        self._graph: AsyncPipelineClient[HttpRequest, AsyncHttpResponse] | None = None

    async def __aenter__(self) -> Clients:
        connector = aiohttp.TCPConnector(ssl=self._ssl, limit=self._connection_limit)
        # trust_env=False: the proxy is resolved once (proxy_for), not on every request.
        self._session = aiohttp.ClientSession(
            connector=connector, trust_env=False, cookie_jar=aiohttp.DummyCookieJar()
        )
        arm_netloc = urlsplit(self.endpoints.arm).netloc
        self._arm = SubscriptionClient(
            self.credential,
            base_url=self.endpoints.arm,
            credential_scopes=[self.endpoints.arm_scope],
            policies=self._policies("arm", arm_netloc, arm_auth=True),
            transport=self._transport(),
        )
        self._arg = AsyncPipelineClient(
            base_url=self.endpoints.arm,
            policies=self._policies("arg", arm_netloc, arm_auth=True, query_post=True),
            transport=self._transport(),
        )
        self._graph = AsyncPipelineClient(
            base_url=self.endpoints.graph,
            policies=self._policies("graph", urlsplit(self.endpoints.graph).netloc),
            transport=self._transport(),
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for client in (self._arm, self._arg, self._graph):
            if client is not None:
                await client.close()
        if self._session is not None:
            await self._session.close()

    def _transport(self) -> AioHttpTransport:
        return AioHttpTransport(session=self._session, session_owner=False)

    def _policies(
        self, api: str, netloc: str, arm_auth: bool = False, query_post: bool = False
    ) -> list[Any]:
        scope = self.endpoints.arm_scope if arm_auth else self.endpoints.graph_scope
        auth: AsyncHTTPPolicy[Any, Any] = (
            AsyncARMChallengeAuthenticationPolicy(self.credential, scope)
            if arm_auth
            else AsyncBearerTokenCredentialPolicy(self.credential, scope)
        )
        logging_policy = ARMHttpLoggingPolicy() if arm_auth else HttpLoggingPolicy()
        return [
            ReadOnlyGuardPolicy(netloc, allow_query_post=query_post),
            ClientRequestIdPolicy(),
            UserAgentPolicy(user_agent=USER_AGENT),
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
            logging_policy,
        ]

    @property
    def arm(self) -> SubscriptionClient:
        """The ARM client (use `send_request` for raw JSON)."""
        assert self._arm is not None, "Clients used outside 'async with'"
        return self._arm

    def request_options(self, graph: bool = False) -> dict[str, Any]:
        """Per-request transport options (timeouts, the endpoint's proxy if any)."""
        options: dict[str, Any] = {
            "connection_timeout": self.retry.connect_timeout,
            "read_timeout": self.retry.read_timeout,
        }
        proxy = self._graph_proxy if graph else self._arm_proxy
        if proxy is not None:
            options["proxy"] = proxy
        return options

    async def arm_get(self, url: str) -> AsyncHttpResponse:
        """GET an absolute ARM URL through the ARM pipeline."""
        return await self._send(self.arm.send_request, url, self.request_options())

    async def arg_query(self, body: dict[str, Any]) -> dict[str, Any]:
        """POST one Resource Graph QueryRequest and return the QueryResponse JSON.

        Raises `FetchError` for an error answer (like every other read).
        """
        from azaudit.collect.fetch import json_object

        request = HttpRequest(
            "POST",
            f"{self.endpoints.arm}/providers/Microsoft.ResourceGraph/resources"
            f"?api-version={ARG_API_VERSION}",
            json=body,
            headers={"Accept": "application/json"},
        )
        # azure-core retries POSTs only on 500/503/504 by default, yet the query only reads.
        assert self._arg is not None, "Clients used outside 'async with'"
        response = await self._arg.send_request(
            request, retry_on_methods=ARG_RETRY_METHODS, **self.request_options()
        )
        return json_object(response)

    async def graph_get(self, url: str) -> AsyncHttpResponse:
        """GET an absolute Microsoft Graph URL through the Graph pipeline."""
        assert self._graph is not None, "Clients used outside 'async with'"
        return await self._send(self._graph.send_request, url, self.request_options(graph=True))

    @staticmethod
    async def _send(
        send: Callable[..., Awaitable[AsyncHttpResponse]], url: str, options: dict[str, Any]
    ) -> AsyncHttpResponse:
        request = HttpRequest("GET", url, headers={"Accept": "application/json"})
        return await send(request, **options)


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
