"""The emulator: a snapshot served as an Azure tenant over HTTPS on 127.0.0.1.

One `ThreadingHTTPServer` answers ARM, Resource Graph, Microsoft Graph (under `/graph`) and the
Entra ID token endpoints, so real Azure SDK clients (pointed at `base_url`, trusting `ca_path`)
exercise paging, retries, throttling and error handling against it. Two settings are essential
for SDK traffic (docs/emulator.md): HTTP/1.1 with Content-Length and Nagle's algorithm off
(otherwise each keep-alive request waits about 100 ms for a delayed ACK), and the TLS handshake
in each connection's worker thread rather than in the accept loop (otherwise one slow handshake
stalls every new connection).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any

from azaudit.emulator.arm import Arm
from azaudit.emulator.failures import error_response, fault_response, gap_responder
from azaudit.emulator.faults import FaultPlan, FaultState, FaultTarget
from azaudit.emulator.identity import Identity
from azaudit.emulator.limits import ARM_BUCKET, ARM_REFILL_PER_S, LimitMode, Limits
from azaudit.emulator.msgraph import GRAPH_PREFIX, MicrosoftGraph
from azaudit.emulator.resource_graph import ResourceGraph, requested_subscriptions
from azaudit.emulator.tenant import Tenant
from azaudit.emulator.wire import Request, Response, Route, arm_error, parse_request
from azaudit.errors import AzauditError
from azaudit.snapshot import Snapshot

HANDSHAKE_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 120.0
MAX_BODY_BYTES = 8 * 1024 * 1024
DEFAULT_CLIENT_ID = "azaudit-emulator"
DEFAULT_CLIENT_SECRET = "emulator-secret"  # noqa: S105 - a fixed value for a local test server


class EmulatorError(AzauditError):
    """The emulator cannot start (missing test dependency, port in use)."""


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One answered request, for tests and benchmarks (never headers: they carry tokens)."""

    method: str
    path: str
    query: str
    status: int
    family: str
    route: str
    error_code: str | None
    fault: str | None
    duration_ms: float
    body: bytes = b""
    """The body of a Resource Graph query (never recorded for others), to replay the requests."""


@dataclass(frozen=True, slots=True)
class EmulatorStats:
    """Counters since start (or the last `reset_stats`)."""

    total: int
    by_family: Mapping[str, int]
    by_route: Mapping[str, int]
    by_status: Mapping[int, int]
    write_attempts: int
    faults_applied: int


class Emulator:
    """A snapshot served as a tenant; start/stop explicitly or use as a context manager.

    Args:
        snapshot: the tenant to serve; its collection gaps are replayed as failures.
        faults: latency and injected failures.
        arm_page_size: items per ARM list page.
        graph_page_size: items per Microsoft Graph page when the client sets no `$top`.
        arg_page_size: rows per Resource Graph page when the query sets no `$top` (max 1,000).
        management_groups: management group name -> subscription ids (default: the tenant root
            group, named after the tenant id, holding every subscription).
        client_secret: the secret token requests must present (None: any secret).
        limits: how Azure's read quotas apply (`LimitMode`): `report` (default) sends the true
            remaining-budget headers, `enforce` also answers 429 when a budget is empty,
            `unlimited` always reports a full budget.
        arm_bucket: ARM's read budget per subscription (the token bucket's size).
        arm_refill_per_s: how fast that budget refills (reads per second).
        arg_omitted_subscriptions: subscriptions Resource Graph silently leaves out of every
            answer while ARM serves them normally.
        arg_unreturned_rows: rows Resource Graph counts in `totalRecords` but never returns.
        port: TCP port on 127.0.0.1 (0: an ephemeral port).
    """

    def __init__(
        self,
        snapshot: Snapshot,
        faults: FaultPlan | None = None,
        *,
        arm_page_size: int = 100,
        graph_page_size: int = 100,
        arg_page_size: int = 1000,
        management_groups: Mapping[str, Sequence[str]] | None = None,
        client_secret: str | None = None,
        limits: LimitMode = LimitMode.REPORT,
        arm_bucket: int = ARM_BUCKET,
        arm_refill_per_s: float = ARM_REFILL_PER_S,
        arg_omitted_subscriptions: Sequence[str] = (),
        arg_unreturned_rows: int = 0,
        port: int = 0,
    ) -> None:
        self.snapshot = snapshot
        self.faults = faults or FaultPlan()
        self._port = port
        self._base_url = ""
        self.tenant = Tenant(snapshot, management_groups)
        self.identity = Identity(self.tenant.tenant_id, self._get_base_url, client_secret)
        self.arm = Arm(self.tenant, arm_page_size, self._get_base_url, gap_responder("arm"))
        self.resource_graph = ResourceGraph(
            self.tenant,
            gap_responder("arm"),
            arg_page_size,
            frozenset(arg_omitted_subscriptions),
            arg_unreturned_rows,
        )
        self.graph = MicrosoftGraph(
            self.tenant, graph_page_size, self._get_base_url, gap_responder("graph")
        )
        self.limits = Limits(limits, bucket=arm_bucket, refill_per_s=arm_refill_per_s)
        self._fault_state = FaultState(self.faults)
        self._stop = threading.Event()
        self._stats_lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._writes = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._workdir: Path | None = None
        self._ca_path: Path | None = None
        self.access_token = self.identity.issue("any", DEFAULT_CLIENT_ID)
        """A ready-made bearer token valid for ARM and Graph (for fake credentials in tests)."""

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Emulator:
        """Create the CA and certificate, bind 127.0.0.1 and serve in a background thread."""
        if self._server is not None:
            return self
        try:
            import trustme
        except ImportError:
            raise EmulatorError(
                "the emulator needs the 'trustme' package, a dependency of azaudit "
                "(pip install 'trustme>=1.1')"
            ) from None
        authority = trustme.CA()
        leaf = authority.issue_cert("127.0.0.1", "localhost")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        leaf.configure_cert(context)
        workdir = Path(tempfile.mkdtemp(prefix="azaudit-emulator-"))
        ca_path = workdir / "ca.pem"
        authority.cert_pem.write_to_path(str(ca_path))
        try:
            server = _Server(("127.0.0.1", self._port), _Handler, context, self)
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise EmulatorError(
                f"cannot listen on 127.0.0.1:{self._port}: {exc.strerror}"
            ) from None
        self._workdir, self._ca_path, self._server = workdir, ca_path, server
        self._base_url = f"https://127.0.0.1:{server.server_address[1]}"
        self._stop.clear()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="azaudit-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections and delete the CA files."""
        server, self._server = self._server, None
        if server is None:
            return
        self._stop.set()
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
        self._workdir = None
        self._ca_path = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- where clients connect -----------------------------------------------------------------

    def _get_base_url(self) -> str:
        return self._base_url

    @property
    def base_url(self) -> str:
        """`https://127.0.0.1:<port>`: the ARM endpoint and the authority host."""
        if not self._base_url:
            raise EmulatorError("the emulator is not running")
        return self._base_url

    @property
    def graph_endpoint(self) -> str:
        """The Microsoft Graph endpoint (`<base_url>/graph`; clients append `/v1.0/...`)."""
        return self.base_url + GRAPH_PREFIX

    @property
    def ca_path(self) -> str:
        """PEM file of the CA that signed the server certificate (`connection_verify=`)."""
        if self._ca_path is None:
            raise EmulatorError("the emulator is not running")
        return str(self._ca_path)

    @property
    def tenant_id(self) -> str:
        """The served tenant's id."""
        return self.tenant.tenant_id

    def issue_token(self, audience: str = "any") -> str:
        """A fresh bearer token for `arm`, `graph` or `any` audience."""
        return self.identity.issue(audience)

    def environment(self) -> dict[str, str]:
        """Environment variables that point azaudit (and azure-identity) at this emulator."""
        return {
            "AZAUDIT_ARM_ENDPOINT": self.base_url,
            "AZAUDIT_GRAPH_ENDPOINT": self.graph_endpoint,
            "AZAUDIT_AUTHORITY_HOST": self.base_url,
            "AZAUDIT_CA_BUNDLE": self.ca_path,
            "AZURE_TENANT_ID": self.tenant_id or "common",
            "AZURE_CLIENT_ID": DEFAULT_CLIENT_ID,
            "AZURE_CLIENT_SECRET": self.identity.client_secret or DEFAULT_CLIENT_SECRET,
            "AZURE_AUTHORITY_HOST": self.base_url,
            # DefaultAzureCredential then tries only the environment service principal and never
            # probes the managed-identity endpoint (169.254.169.254).
            "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
        }

    # -- statistics ----------------------------------------------------------------------------

    @property
    def requests(self) -> tuple[RequestRecord, ...]:
        """Every answered request, in order."""
        with self._stats_lock:
            return tuple(self._records)

    @property
    def write_attempts(self) -> int:
        """Requests with a verb that would change state (all refused with 403)."""
        with self._stats_lock:
            return self._writes

    def stats(self) -> EmulatorStats:
        """Counters by family, route and status."""
        with self._stats_lock:
            records = list(self._records)
            writes = self._writes
        return EmulatorStats(
            total=len(records),
            by_family=dict(Counter(r.family for r in records)),
            by_route=dict(Counter(r.route for r in records)),
            by_status=dict(Counter(r.status for r in records)),
            write_attempts=writes,
            faults_applied=sum(1 for r in records if r.fault),
        )

    def reset_stats(self) -> None:
        """Forget recorded requests (fault budgets are not reset)."""
        with self._stats_lock:
            self._records.clear()
            self._writes = 0

    # -- request processing --------------------------------------------------------------------

    def route(self, request: Request) -> Route:
        """Send a request to the family that serves its path."""
        parts = [p.lower() for p in request.path.split("/") if p]
        if parts and parts[0] == GRAPH_PREFIX.strip("/"):
            return self.graph.route(request)
        if len(parts) == 4 and Identity.is_token_path(parts):
            return self.identity.route(request)
        if parts == ["providers", "microsoft.resourcegraph", "resources"]:
            if request.method != "POST":
                return Route("arg", "arg.query", lambda: _method_not_allowed(request))
            return Route(
                "arg",
                "arg.query",
                lambda: self.resource_graph.handle(request),
                requested_subscriptions(request.body),
            )
        return self.arm.route(request)

    def process(self, request: Request) -> Response:
        """Answer one request: latency, authentication, faults, quotas, then the handler."""
        started = time.perf_counter()
        route = self.route(request)
        target = FaultTarget(
            family=route.family,
            method=request.method,
            path=request.key,
            route=route.name.lower(),
            subscriptions=route.subscriptions,
            request_key=f"{request.method} {request.key}?{request.query_string}#"
            f"{hash(request.body)}",
            body=request.body,
        )
        latency_ms, rule = self._fault_state.decide(target)
        if latency_ms > 0:
            self._stop.wait(latency_ms / 1000.0)
        response: Response | None = None
        if route.authenticated:
            response = self.identity.check(request, route.family)
        if response is None and rule is not None:
            response = fault_response(rule, route.family, request)
        quota_headers: dict[str, str] = {}
        if response is None and not route.write:
            response, quota_headers = self._admit(route, request)
        if response is None:
            response = route.handle()
        response = self._finish(response, route, quota_headers)
        self._record(request, route, response, rule.kind.value if rule else None, started)
        return response

    def _admit(self, route: Route, request: Request) -> tuple[Response | None, dict[str, str]]:
        if route.family == "arm":
            sub = next(iter(route.subscriptions), None)
            admission = self.limits.arm_read(sub)
        elif route.family == "arg":
            admission = self.limits.arg_query()
        else:
            return None, {}
        if admission.allowed:
            return None, admission.headers
        headers = {**admission.headers, "Retry-After": str(admission.retry_after_s)}
        return error_response(route.family, 429, request, headers=headers), {}

    def _finish(self, response: Response, route: Route, extra: Mapping[str, str]) -> Response:
        if response.drop_connection:
            return response
        headers = dict(response.headers)
        headers.update(extra)
        request_id = str(uuid.uuid4())
        headers.setdefault("x-ms-request-id", request_id)
        if route.family in {"arm", "arg"}:
            headers.setdefault("x-ms-correlation-request-id", request_id)
        if route.write:
            headers.setdefault("x-ms-ratelimit-remaining-subscription-writes", "1199")
        return Response(
            status=response.status,
            body=response.body,
            headers=headers,
            error_code=response.error_code,
        )

    def _record(
        self,
        request: Request,
        route: Route,
        response: Response,
        fault: str | None,
        started: float,
    ) -> None:
        record = RequestRecord(
            method=request.method,
            path=request.path,
            query=request.query_string,
            status=response.status,
            family=route.family,
            route=route.name,
            error_code=response.error_code,
            fault=fault,
            duration_ms=(time.perf_counter() - started) * 1000.0,
            body=request.body if route.family == "arg" else b"",  # never a token request
        )
        with self._stats_lock:
            self._records.append(record)
            if route.write:
                self._writes += 1

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`, returning early (True) when the emulator stops."""
        return self._stop.wait(seconds)


def _method_not_allowed(request: Request) -> Response:
    return arm_error(
        405,
        "HttpMethodNotAllowed",
        f"The requested resource does not support http method '{request.method}'.",
    )


class _Server(ThreadingHTTPServer):
    """Threaded HTTPS server that does each TLS handshake in the connection's own thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        context: ssl.SSLContext,
        emulator: Emulator,
    ) -> None:
        super().__init__(address, handler)
        self.context = context
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(HANDSHAKE_TIMEOUT_S)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that gave up, or does not trust our CA
        with self._connections_lock:
            self._connections.add(connection)
        try:
            handler: Any = self.RequestHandlerClass
            handler(connection, client_address, self)
        except (OSError, ssl.SSLError):
            pass  # the client went away mid-request
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def close_connections(self) -> None:
        """Unblock every worker thread waiting on a keep-alive connection."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Connection-level errors are the client's business; never print tracebacks."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = IDLE_TIMEOUT_S
    server: _Server
    server_version = "azaudit-emulator"

    def version_string(self) -> str:
        """The `Server` header (without the Python version)."""
        return self.server_version

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_GET
    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET
    do_OPTIONS = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline(1024)
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            self.send_error(413)
            return
        request = parse_request(self.command, self.path, dict(self.headers.items()), body)
        response = self.server.emulator.process(request)
        if response.drop_connection:
            if response.hang_seconds:
                self.server.emulator.wait(response.hang_seconds)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD" and response.body:
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence per-request stderr lines; the emulator keeps its own request log."""
