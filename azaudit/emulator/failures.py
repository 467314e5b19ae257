"""Error answers in each API's own shape: ARM/Resource Graph, Microsoft Graph, Entra ID tokens.

Faults from a `FaultPlan` and collection gaps recorded in the served snapshot both end here, so
a client sees the same codes, messages and headers real Azure sends for the same failure.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from azaudit.emulator.faults import FaultKind, FaultRule
from azaudit.emulator.wire import (
    Request,
    Response,
    arm_error,
    graph_error,
    json_response,
    malformed_json_response,
)
from azaudit.models import CollectionGap

GapResponder = Callable[[CollectionGap, Request], Response]
"""Turns a snapshot collection gap into the answer that makes a collector record it again."""

_ARM_CODES = {
    400: "BadRequest",
    401: "AuthenticationFailed",
    403: "AuthorizationFailed",
    404: "ResourceNotFound",
    409: "Conflict",
    429: "SubscriptionRequestsThrottled",
    500: "InternalServerError",
    502: "BadGateway",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}
_GRAPH_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    409: "Conflict",
    429: "TooManyRequests",
    500: "generalException",
    502: "badGateway",
    503: "serviceNotAvailable",
    504: "gatewayTimeout",
}
_OAUTH_CODES = {
    400: "invalid_request",
    401: "invalid_client",
    403: "unauthorized_client",
    404: "invalid_request",
    429: "temporarily_unavailable",
}

FAST_RETRY_HEADERS = {"retry-after-ms": "20"}
"""Retry hint used when reproducing throttling/5xx gaps: clients retry at once, not for seconds."""


def subscription_in_path(path: str) -> str | None:
    """The subscription id in an ARM path, or None."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return parts[1]
    return None


def namespace_in_path(path: str) -> str:
    """The resource provider namespace of an ARM path (`Microsoft.Web`), last one wins."""
    parts = [p for p in path.split("/") if p]
    namespace = "Microsoft.Resources"
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "providers":
            namespace = parts[i + 1]
    return namespace


def action_for(request: Request) -> str:
    """The RBAC action a request needs, as ARM names it in AuthorizationFailed messages."""
    parts = [p for p in request.path.split("/") if p]
    verb = {"GET": "read", "HEAD": "read", "PUT": "write", "PATCH": "write", "DELETE": "delete"}
    suffix = verb.get(request.method, "action")
    last_provider = max((i for i, p in enumerate(parts) if p.lower() == "providers"), default=-1)
    if last_provider >= 0 and last_provider + 2 < len(parts):
        namespace = parts[last_provider + 1]
        types = parts[last_provider + 2 :: 2]
        return f"{namespace}/{'/'.join(types)}/{suffix}"
    if len(parts) >= 3 and parts[2].lower() == "resourcegroups":
        return f"Microsoft.Resources/subscriptions/resourceGroups/{suffix}"
    if last_provider >= 0:
        return f"Microsoft.Resources/subscriptions/providers/{suffix}"
    return f"Microsoft.Resources/subscriptions/{suffix}"


def _default_message(family: str, status: int, code: str, request: Request) -> str:
    subscription = subscription_in_path(request.path) or ""
    if family == "graph":
        return {
            401: "Access token validation failure. Invalid audience.",
            403: "Insufficient privileges to complete the operation.",
            404: f"Resource '{request.path}' does not exist or one of its queried "
            "reference-property objects are not present.",
            429: "Too many requests from Identifier: emulator. Please try again later.",
        }.get(status, "The service is temporarily unavailable. Please retry the request.")
    if code == "MissingSubscriptionRegistration":
        return (
            "The subscription is not registered to use namespace "
            f"'{namespace_in_path(request.path)}'. See https://aka.ms/rps-not-found for how to "
            "register subscriptions."
        )
    if status == 403:
        return (
            "The client '00000000-0000-0000-0000-00000000e4a1' with object id "
            "'00000000-0000-0000-0000-00000000e4a1' does not have authorization to perform "
            f"action '{action_for(request)}' over scope '{request.path}' or the scope is invalid. "
            "If access was recently granted, please refresh your credentials."
        )
    if status == 404:
        return f"The Resource '{request.path}' was not found."
    if status == 429:
        return (
            f"Number of read requests for subscription '{subscription}' exceeded the limit. "
            "Please try again later."
        )
    return "The server encountered an internal error. Please retry the request."


def error_response(
    family: str,
    status: int,
    request: Request,
    code: str | None = None,
    message: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error in the family's shape with Azure's usual code and message for the status."""
    if family == "token":
        return oauth_error(
            status, code or _OAUTH_CODES.get(status, "server_error"), message, headers
        )
    if family == "graph":
        chosen = code or _GRAPH_CODES.get(status, "generalException")
        text = message or _default_message(family, status, chosen, request)
        return graph_error(status, chosen, text, request, headers)
    chosen = code or _ARM_CODES.get(status, "InternalServerError")
    if family == "arg" and status == 429 and code is None:
        chosen = "RateLimiting"
    elif status == 429 and code is None and subscription_in_path(request.path) is None:
        chosen = "TenantRequestsThrottled"
    text = message or _default_message(family, status, chosen, request)
    return arm_error(status, chosen, text, headers)


def oauth_error(
    status: int, error: str, description: str | None, headers: Mapping[str, str] | None = None
) -> Response:
    """An Entra ID token endpoint error (`error`, `error_description`, AADSTS code)."""
    now = datetime.now(UTC)
    document = {
        "error": error,
        "error_description": description or f"AADSTS50000: {error}. Trace ID: {uuid.uuid4()}",
        "error_codes": [50000],
        "timestamp": now.strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    response = json_response(status, document, headers)
    return Response(status=status, body=response.body, headers=response.headers, error_code=error)


def gap_responder(family: str) -> GapResponder:
    """How a family answers a request whose data the snapshot records as not collected.

    The recorded status and error code are replayed. Throttling and server errors carry a
    20 ms retry hint so clients exhaust their retries quickly and record the gap again. A gap
    without a status (timeout, unreadable answer) is replayed as a malformed JSON body.
    """

    def respond(gap: CollectionGap, request: Request) -> Response:
        if gap.status_code is None:
            return malformed_json_response()
        status = gap.status_code
        headers = FAST_RETRY_HEADERS if status == 429 or status >= 500 else None
        return error_response(family, status, request, code=gap.error_code, headers=headers)

    return respond


def _message(rule: FaultRule, request: Request) -> str | None:
    if rule.message is None:
        return None
    header = request.header("authorization") or ""
    token = header.split(" ", 1)[1] if " " in header else header
    encoded = "".join(f"%{byte:02X}" for byte in token.encode())
    return rule.message.replace("{token_pct}", encoded).replace("{token}", token)


def fault_response(rule: FaultRule, family: str, request: Request) -> Response:
    """The answer a fault rule substitutes for the real one."""
    message = _message(rule, request)
    headers: dict[str, str] = {}
    if rule.retry_after_s is not None:
        headers["Retry-After"] = _number(rule.retry_after_s)
    if rule.retry_after_ms is not None:
        headers["retry-after-ms"] = str(rule.retry_after_ms)
    code = rule.error_code
    if rule.kind is FaultKind.THROTTLE:
        if not headers:
            headers["Retry-After"] = "1"
        return error_response(family, 429, request, code, message, headers)
    if rule.kind is FaultKind.SERVER_ERROR:
        return error_response(family, rule.status, request, code, message, headers)
    if rule.kind is FaultKind.FORBIDDEN:
        return error_response(family, 403, request, code, message)
    if rule.kind is FaultKind.NOT_FOUND:
        return error_response(family, 404, request, code, message)
    if rule.kind is FaultKind.NOT_REGISTERED:
        return error_response(
            family, 409, request, code or "MissingSubscriptionRegistration", message
        )
    if rule.kind is FaultKind.MALFORMED:
        return malformed_json_response()
    if rule.kind is FaultKind.TIMEOUT:
        return Response(status=0, drop_connection=True, hang_seconds=rule.hang_seconds)
    if rule.kind is FaultKind.DISCONNECT:
        return Response(status=0, drop_connection=True)
    raise ValueError(f"fault kind {rule.kind} does not replace the answer")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
