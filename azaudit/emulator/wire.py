"""HTTP request/response values and the error bodies ARM, Resource Graph and Graph send."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl, unquote, urlsplit

from azaudit.models import JSON

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Request:
    """One parsed HTTP request as the emulator's handlers see it.

    Attributes:
        method: upper-case HTTP verb.
        raw_path: the path as sent, without the query string.
        path: the normalised path: percent-decoded, `//` collapsed, no trailing `/`, original
            case.
        query: query parameters; names lower-cased (ARM and Graph treat them so), last wins.
        query_string: the query string as sent, for building next links.
        headers: header names lower-cased.
        body: the request body.
    """

    method: str
    raw_path: str
    path: str
    query: Mapping[str, str]
    query_string: str
    headers: Mapping[str, str]
    body: bytes

    @property
    def key(self) -> str:
        """Lower-cased normalised path: what routing matches on (ARM paths ignore case)."""
        return self.path.lower()

    def header(self, name: str) -> str | None:
        """A header value, by case-insensitive name."""
        return self.headers.get(name.lower())


def parse_request(method: str, target: str, headers: Mapping[str, str], body: bytes) -> Request:
    """Build a `Request` from the request line target, headers and body."""
    parts = urlsplit(target)
    raw_path = parts.path or "/"
    segments = [s for s in unquote(raw_path).split("/") if s]
    path = "/" + "/".join(segments)
    query: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        query[name.lower()] = value
    return Request(
        method=method.upper(),
        raw_path=raw_path,
        path=path,
        query=query,
        query_string=parts.query,
        headers={k.lower(): v for k, v in headers.items()},
        body=body,
    )


@dataclass(frozen=True, slots=True)
class Response:
    """What a handler answers; the server adds the common headers.

    Attributes:
        status: HTTP status code.
        body: response body bytes.
        headers: extra headers (name -> value).
        error_code: the error code in the body, for the request log.
        drop_connection: close the connection without answering (a network fault).
        hang_seconds: wait this long before `drop_connection` (a hung server).
    """

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    error_code: str | None = None
    drop_connection: bool = False
    hang_seconds: float = 0.0


def json_response(
    status: int, document: JSON, headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON response with the content type every Azure API uses."""
    merged = {"Content-Type": JSON_CONTENT_TYPE}
    if headers:
        merged.update(headers)
    body = json.dumps(document, separators=(",", ":")).encode("utf-8")
    return Response(status=status, body=body, headers=merged)


def arm_error(
    status: int,
    code: str,
    message: str,
    headers: Mapping[str, str] | None = None,
    details: list[JSON] | None = None,
) -> Response:
    """An ARM error (`{"error": {"code", "message"}}`, the OData shape of the RPC contract)."""
    error: dict[str, JSON] = {"code": code, "message": message}
    if details:
        error["details"] = details
    response = json_response(status, {"error": error}, headers)
    return _with_code(response, code)


def graph_error(
    status: int,
    code: str,
    message: str,
    request: Request,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A Microsoft Graph error: `code`, `message` and the `innerError` block Graph always adds."""
    request_id = str(uuid.uuid4())
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": request_id,
        "client-request-id": request.header("client-request-id") or request_id,
    }
    document = {"error": {"code": code, "message": message, "innerError": inner}}
    response = json_response(status, document, headers)
    return _with_code(response, code)


def _with_code(response: Response, code: str) -> Response:
    return Response(
        status=response.status,
        body=response.body,
        headers=response.headers,
        error_code=code,
    )


def malformed_json_response() -> Response:
    """A 200 whose JSON body is cut short: what a broken proxy or truncated transfer yields."""
    return Response(
        status=200,
        body=b'{"value": [{"id": "/subscriptions/',
        headers={"Content-Type": JSON_CONTENT_TYPE},
        error_code="MalformedBody",
    )


@dataclass(frozen=True, slots=True)
class Route:
    """Where the router sent a request: its API family, a stable route name and the handler.

    Attributes:
        family: `arm`, `arg`, `graph` or `token`.
        name: route name for counters and fault matching (`arm.subscriptions.list`,
            `arm.detail:config/web`, `arg.query`, `graph:users`, `token.issue`).
        handle: produces the answer.
        subscriptions: lower-cased subscription ids the request concerns.
        write: a verb that changes state (the emulator refuses and counts it).
        authenticated: whether the request needs a bearer token from the token endpoint.
    """

    family: str
    name: str
    handle: Callable[[], Response]
    subscriptions: frozenset[str] = frozenset()
    write: bool = False
    authenticated: bool = True
