"""Fault injection: what the emulator does wrong, where, and how many times.

A `FaultPlan` is a global per-request latency plus an ordered list of `FaultRule`s. A rule
matches requests by path (glob or regex), route, API family, method and/or subscription, and
either adds latency or replaces the answer (429, 5xx, 403, 404, 409, hang, dropped connection,
malformed JSON) for its first `times` matching requests. Plans are plain data so that tests
build them in code and humans write them as JSON (`FaultPlan.from_json`).
"""

from __future__ import annotations

import enum
import fnmatch
import re
import threading
from dataclasses import dataclass, field, fields

from azaudit.errors import InputError
from azaudit.models import JSON


class FaultKind(enum.StrEnum):
    """What a matching rule does to a request."""

    LATENCY = "latency"
    """Answer normally after `latency_ms` more milliseconds."""
    THROTTLE = "throttle"
    """429 with `Retry-After` (seconds) and/or `retry-after-ms`."""
    SERVER_ERROR = "server_error"
    """`status` (500, 502, 503 or 504) with an error body."""
    TIMEOUT = "timeout"
    """Hold the request `hang_seconds` (longer than the client's timeout), then drop it."""
    DISCONNECT = "disconnect"
    """Close the connection without answering."""
    FORBIDDEN = "forbidden"
    """403 AuthorizationFailed (ARM) / Authorization_RequestDenied (Graph)."""
    NOT_FOUND = "not_found"
    """404 ResourceNotFound (ARM) / Request_ResourceNotFound (Graph)."""
    NOT_REGISTERED = "not_registered"
    """409 MissingSubscriptionRegistration for the namespace in the path."""
    MALFORMED = "malformed"
    """200 with a truncated JSON body."""


FAMILIES = ("arm", "arg", "graph", "token")
"""API families: ARM, Azure Resource Graph, Microsoft Graph, and the token endpoints."""


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One fault and the requests it applies to; unset match fields match everything.

    Attributes:
        kind: what to do.
        path: glob on the normalised request path, case-insensitive (`*/diagnosticSettings`).
        path_regex: regular expression searched in the normalised path, case-insensitive.
        route: glob on the emulator's route name (`arm.detail:config/web`, `graph:users`).
        family: one of `arm`, `arg`, `graph`, `token`.
        method: HTTP verb.
        subscription: subscription id in the path (for Resource Graph: in the body's list).
        times: how many matching requests are affected; None means all of them.
        per_request: count `times` separately for each distinct request (method, path, query,
            body), so that every request fails `times` times and then succeeds.
        latency_ms: added latency for `latency`.
        status: HTTP status for `server_error` (default 503).
        retry_after_s: `Retry-After` header value in seconds (throttle, server_error).
        retry_after_ms: `retry-after-ms` header value in milliseconds.
        hang_seconds: how long `timeout` holds the request before dropping it.
        error_code: overrides the error code in the body.
        message: overrides the error message; `{token}` becomes the caller's bearer token and
            `{token_pct}` the same with every byte percent-encoded (a service echoing the
            credential back, which a client must never pass on).
        body_contains: matches only requests whose body holds this text (a token request for
            one scope: `graph.microsoft.com`).
    """

    kind: FaultKind
    path: str | None = None
    path_regex: str | None = None
    route: str | None = None
    family: str | None = None
    method: str | None = None
    subscription: str | None = None
    times: int | None = None
    per_request: bool = False
    latency_ms: float = 0.0
    status: int = 503
    retry_after_s: float | None = None
    retry_after_ms: int | None = None
    hang_seconds: float = 30.0
    error_code: str | None = None
    message: str | None = None
    body_contains: str | None = None
    _compiled: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.family is not None and self.family not in FAMILIES:
            raise ValueError(f"family must be one of {', '.join(FAMILIES)}, got {self.family!r}")
        if self.times is not None and self.times < 0:
            raise ValueError(f"times must be >= 0, got {self.times}")
        if self.kind is FaultKind.SERVER_ERROR and self.status not in {500, 502, 503, 504}:
            raise ValueError(f"server_error status must be 500, 502, 503 or 504, got {self.status}")
        if self.path_regex is not None:
            object.__setattr__(self, "_compiled", re.compile(self.path_regex, re.IGNORECASE))

    def matches(self, target: FaultTarget) -> bool:
        """Whether this rule's match fields all accept the request."""
        if self.family is not None and self.family != target.family:
            return False
        if self.method is not None and self.method.upper() != target.method:
            return False
        if self.path is not None and not fnmatch.fnmatchcase(target.path, self.path.lower()):
            return False
        if self._compiled is not None and not self._compiled.search(target.path):
            return False
        if self.route is not None and not fnmatch.fnmatchcase(target.route, self.route.lower()):
            return False
        if self.body_contains is not None and self.body_contains.encode() not in target.body:
            return False
        return self.subscription is None or self.subscription.lower() in target.subscriptions


@dataclass(frozen=True, slots=True)
class FaultTarget:
    """What a rule can match on: one request, as the router classified it (lower-case)."""

    family: str
    method: str
    path: str
    route: str
    subscriptions: frozenset[str]
    request_key: str
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class FaultPlan:
    """Latency for every request plus an ordered list of rules.

    Attributes:
        latency_ms: added to every request (a benchmark's stand-in for the distance to Azure);
            each request sleeps in its own thread, so latency never serialises requests.
        rules: checked in order; all matching `latency` rules add up, and the first other
            matching rule with budget left decides the answer.
    """

    latency_ms: float = 0.0
    rules: tuple[FaultRule, ...] = ()

    @classmethod
    def from_json(cls, document: JSON, origin: str = "fault plan") -> FaultPlan:
        """Build a plan from its JSON form (see docs/emulator.md).

        Raises:
            InputError: naming `origin` and the offending field.
        """
        if not isinstance(document, dict):
            raise InputError(f"{origin}: expected a JSON object with 'latency_ms' and 'rules'")
        unknown = set(document) - {"latency_ms", "rules"}
        if unknown:
            raise InputError(f"{origin}: unknown field(s) {', '.join(sorted(unknown))}")
        latency = document.get("latency_ms", 0)
        if not isinstance(latency, int | float) or isinstance(latency, bool) or latency < 0:
            raise InputError(f"{origin}: latency_ms: expected a number >= 0, got {latency!r}")
        raw_rules = document.get("rules", [])
        if not isinstance(raw_rules, list):
            raise InputError(f"{origin}: rules: expected a JSON array")
        rules = tuple(_rule_from_json(r, f"{origin}: rules[{i}]") for i, r in enumerate(raw_rules))
        return cls(latency_ms=float(latency), rules=rules)


_RULE_FIELDS = {f.name: f for f in fields(FaultRule) if not f.name.startswith("_")}
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,),
    "path_regex": (str,),
    "route": (str,),
    "family": (str,),
    "method": (str,),
    "subscription": (str,),
    "times": (int,),
    "per_request": (bool,),
    "latency_ms": (int, float),
    "status": (int,),
    "retry_after_s": (int, float),
    "retry_after_ms": (int,),
    "hang_seconds": (int, float),
    "error_code": (str,),
}


def _rule_from_json(raw: JSON, where: str) -> FaultRule:
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected a JSON object")
    kind_raw = raw.get("kind")
    try:
        kind = FaultKind(str(kind_raw))
    except ValueError:
        allowed = ", ".join(k.value for k in FaultKind)
        raise InputError(f"{where}.kind: expected one of {allowed}, got {kind_raw!r}") from None
    values: dict[str, JSON] = {}
    for name, value in raw.items():
        if name == "kind":
            continue
        if name not in _RULE_FIELDS:
            raise InputError(f"{where}: unknown field {name!r}")
        allowed_types = _FIELD_TYPES[name]
        is_bool = isinstance(value, bool)
        if value is not None and (
            not isinstance(value, allowed_types) or (is_bool and bool not in allowed_types)
        ):
            names = " or ".join(t.__name__ for t in allowed_types)
            raise InputError(f"{where}.{name}: expected {names}, got {value!r}")
        values[name] = value
    try:
        return FaultRule(kind=kind, **values)
    except (ValueError, re.error) as exc:
        raise InputError(f"{where}: {exc}") from None


class FaultState:
    """The mutable side of a plan: how much of each rule's `times` budget is used."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._lock = threading.Lock()
        self._used: dict[tuple[int, str], int] = {}

    def decide(self, target: FaultTarget) -> tuple[float, FaultRule | None]:
        """`(extra latency in ms, the rule that replaces the answer or None)` for a request."""
        latency = self.plan.latency_ms
        chosen: FaultRule | None = None
        with self._lock:
            for index, rule in enumerate(self.plan.rules):
                if not rule.matches(target):
                    continue
                if rule.kind is FaultKind.LATENCY:
                    if self._take(index, rule, target):
                        latency += rule.latency_ms
                    continue
                if chosen is None and self._take(index, rule, target):
                    chosen = rule
        return latency, chosen

    def _take(self, index: int, rule: FaultRule, target: FaultTarget) -> bool:
        if rule.times is None:
            return True
        key = (index, target.request_key if rule.per_request else "")
        used = self._used.get(key, 0)
        if used >= rule.times:
            return False
        self._used[key] = used + 1
        return True
