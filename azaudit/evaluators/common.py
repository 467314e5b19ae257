"""General-purpose evaluators, and the reading and wording helpers every evaluator module shares.

The evaluators: JMESPath expressions, allowed values, TLS floors, residency, BAA scope, manual
attestation. The helpers live here once so that every module reads documents the same way (an
unknown shape is an ERROR, never a silent "not set") and words its evidence the same way.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import ShapeError, strict_search
from azaudit.evaluators.base import EvalContext, EvaluatorSpec, Outcome, Param, passed
from azaudit.models import JSON, Status, TargetKind
from azaudit.reference import normalise_region

ALL_TARGETS = frozenset(TargetKind)
RESOURCE_ONLY = frozenset({TargetKind.RESOURCE})
SUBSCRIPTION_ONLY = frozenset({TargetKind.SUBSCRIPTION})
TENANT_ONLY = frozenset({TargetKind.TENANT})
RESOURCE_OR_SUBSCRIPTION = frozenset({TargetKind.RESOURCE, TargetKind.SUBSCRIPTION})

SOURCE_PARAM = Param((str,), required=False, doc="document to read; default the resource")
"""The `source` parameter of every evaluator that reads through `document()`."""


def show_value(value: JSON) -> str:
    """A property value as a finding message shows it: JSON-like, strings quoted, null unset."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return repr(value)
    return str(value)


def as_object(value: JSON, what: str) -> Mapping[str, Any]:
    """`value` as an object, or ValueError naming `what` (an unknown shape is an ERROR)."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{what}: expected a JSON object, got {type(value).__name__}")
    return value


def resource_properties(ctx: EvalContext) -> Mapping[str, Any]:
    """The target resource row's `properties` object (anything else is an unknown shape)."""
    return as_object(ctx.resource.get("properties"), "properties")


def document(ctx: EvalContext, source: str | None) -> JSON:
    """The document a rule reads: the target's resource row, or one of its detail documents."""
    if source is None or source == "resource":
        if ctx.kind is TargetKind.RESOURCE:
            return ctx.resource
        raise ValueError("source 'resource' needs a resource target")
    body = ctx.graph(source) if source.startswith("graph:") else ctx.own(source)
    if not isinstance(body, dict):
        # A property path over a list or scalar would read as "not set" and FAIL; an unknown
        # shape must surface as ERROR instead.
        raise ValueError(f"{source}: expected a JSON object, got {type(body).__name__}")
    return body


def search(path: str, doc: JSON) -> JSON:
    """Strict JMESPath search (the language Azure CLI users know from `--query`).

    A field read from a value that is not an object, or an array element missing a projected
    field, raises `ShapeError` (ERROR) instead of reading as "not set" (see `access.py`).
    """
    return strict_search(path, doc)


def _expression(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    doc = document(ctx, params.get("source"))
    observed = search(params["path"], doc)
    verdict = search(params["expression"], doc)
    ok = verdict is True
    if ok:
        message = f"{params['path']} is {show_value(observed)} as required"
    else:
        message = f"{params['path']} is {show_value(observed)}; expected {params['expected']}"
    yield Outcome(passed(ok), params["path"], observed, params["expected"], message)


def _value_in(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    doc = document(ctx, params.get("source"))
    observed = search(params["path"], doc)
    allowed = [str(v).lower() for v in params["allowed"]]
    ok = observed is not None and str(observed).lower() in allowed
    expected = "one of " + ", ".join(str(v) for v in params["allowed"])
    message = f"{params['path']} is {show_value(observed)}" + (
        "" if ok else f"; expected {expected}"
    )
    yield Outcome(passed(ok), params["path"], observed, expected, message)


_TLS_RE = re.compile(r"(\d)[._]?(\d)")


def tls_number(value: JSON) -> float | None:
    """`TLS1_2`, `1.2`, `TLSv1.2`, `Tls12` and `TLS12` all mean 1.2; None if unrecognised."""
    if value is None:
        return None
    match = _TLS_RE.search(str(value))
    if match is None:
        return None
    return float(f"{match.group(1)}.{match.group(2)}")


def tls_shortfall(path: str, value: JSON, number: float | None, minimum: float) -> str | None:
    """How the TLS setting at `path` falls short of `minimum`, or None when it meets it.

    `number` is `value` read as a TLS version by the caller's parser (services spell versions
    differently). An unset value falls short: the service default may allow older TLS.
    """
    if value is None:
        return f"{path} is not set (the service default may allow older TLS)"
    if number is None:
        return f"{path} is {show_value(value)}, not a recognised TLS version"
    if number < minimum:
        return f"{path} is {show_value(value)}"
    return None


def _min_tls_version(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    doc = document(ctx, params.get("source"))
    minimum = tls_number(params["minimum"])
    if minimum is None:
        raise ValueError(f"minimum {params['minimum']!r} is not a TLS version")
    paths = [params["path"], *list(params.get("also", []))]
    expected = f"TLS {minimum:.1f} or later"
    observed = {path: search(path, doc) for path in paths}
    shortfalls = (tls_shortfall(p, v, tls_number(v), minimum) for p, v in observed.items())
    problems = [s for s in shortfalls if s is not None]
    shown_path = ", ".join(paths)
    shown = observed[paths[0]] if len(paths) == 1 else observed
    if problems:
        message = "; ".join(problems) + f"; expected {expected}"
    else:
        message = ", ".join(f"{p} is {show_value(v)}" for p, v in observed.items())
    yield Outcome(passed(not problems), shown_path, shown, expected, message)


def _location_in_allowed(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    doc = document(ctx, params.get("source"))
    path = params.get("path", "location")
    observed = search(path, doc)
    allowed = ctx.config.allowed_regions
    if type(observed) is str and observed:  # one region: the verdict is the same for every row
        status, message = _one_region_verdict(path, observed, allowed)
        yield Outcome(status, path, observed, _REGION_EXPECTED, message)
        return
    values = observed if isinstance(observed, list) else [observed]
    if not values or all(v in (None, "") for v in values):
        if params.get("required", False) is True:
            # The check's type always reports this property (a Cosmos DB account's regions, a
            # geo-redundant account's secondary): its absence is an unknown shape, not "no region".
            raise ShapeError(path, "the region(s), which this type always reports", "absent")
        yield Outcome(
            Status.NOT_APPLICABLE,
            path,
            observed,
            _REGION_EXPECTED,
            "no location (not region-bound)",
        )
        return
    status, message = _region_verdict(path, observed, values, allowed)
    yield Outcome(status, path, observed, _REGION_EXPECTED, message)


_REGION_EXPECTED = "an allowed (US) region"


def _region_verdict(
    path: str, observed: JSON, values: list[Any], allowed: frozenset[str]
) -> tuple[Status, str]:
    """Status and message for the region(s) `values` read at `path` (at least one present)."""
    normalised = [normalise_region(str(v)) for v in values if v not in (None, "")]
    if normalised == ["global"]:
        return (
            Status.NOT_APPLICABLE,
            "global resource: residency is set by the service, not a region",
        )
    outside = [v for v in normalised if v not in allowed and v != "global"]
    if outside:
        message = f"{path} includes non-allowed region(s): {', '.join(outside)}"
    else:
        message = f"{path} is {show_value(observed)}, inside the allowed regions"
    return passed(not outside), message


@functools.lru_cache(maxsize=1024)
def _one_region_verdict(path: str, region: str, allowed: frozenset[str]) -> tuple[Status, str]:
    """`_region_verdict` of one region name, computed once per distinct name (a tenant's
    resources sit in a handful of regions)."""
    return _region_verdict(path, region, [region], allowed)


def _baa_in_scope(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    resource_type = str(ctx.resource.get("type", ""))
    mapping, service = ctx.config.baa_list.service_for_type(resource_type)
    expected = "a service covered by the Microsoft HIPAA BAA"
    if mapping is None or service is None:
        yield Outcome(
            Status.MANUAL,
            "type",
            resource_type,
            expected,
            f"{resource_type} is not in the BAA list's type map: confirm BAA coverage with your "
            "legal team and add it with --baa-list",
        )
        return
    observed = f"{resource_type} ({service.name})"
    if service.in_scope is True:
        qualifier = (
            ""
            if service.confidence in ("high", "organisation")
            else (f" (presumed; confidence {service.confidence})")
        )
        yield Outcome(
            Status.PASS, "type", observed, expected, f"{service.name} is in BAA scope{qualifier}"
        )
    elif service.in_scope is False:
        note = f": {mapping.note}" if mapping.note else ""
        yield Outcome(
            Status.FAIL,
            "type",
            observed,
            expected,
            f"{service.name} is not covered by the Microsoft HIPAA BAA{note}; keep PHI out of it",
        )
    else:
        yield Outcome(
            Status.MANUAL,
            "type",
            observed,
            expected,
            f"BAA coverage of {service.name} is not verified: confirm with your legal team",
        )


def _manual(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    yield Outcome(Status.MANUAL, "", None, "attested by the organisation", params["attest"])


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "expression",
        _expression,
        {
            "expression": Param((str,), doc="JMESPath that must evaluate to true"),
            "path": Param((str,), doc="JMESPath of the property reported as evidence"),
            "expected": Param((str,), doc="the expected value, as a reader would write it"),
            "source": SOURCE_PARAM,
        },
        ALL_TARGETS,
        "PASS when a JMESPath expression over the document is exactly true.",
    ),
    EvaluatorSpec(
        "value_in",
        _value_in,
        {
            "path": Param((str,)),
            "allowed": Param((list,)),
            "source": SOURCE_PARAM,
        },
        ALL_TARGETS,
        "PASS when the property is one of the allowed values (case-insensitive).",
    ),
    EvaluatorSpec(
        "min_tls_version",
        _min_tls_version,
        {
            "path": Param((str,)),
            "minimum": Param((str,)),
            "also": Param((list,), required=False, doc="more paths that must meet the floor"),
            "source": SOURCE_PARAM,
        },
        ALL_TARGETS,
        "PASS when every TLS version property is at least `minimum`; unset fails.",
    ),
    EvaluatorSpec(
        "location_in_allowed",
        _location_in_allowed,
        {
            "path": Param((str,), required=False),
            "required": Param(
                (bool,),
                required=False,
                doc="the property is always reported: absent is an ERROR, not NOT_APPLICABLE",
            ),
            "source": SOURCE_PARAM,
        },
        RESOURCE_ONLY,
        "PASS when the location(s) at `path` are all in the allowed regions; global is N/A.",
    ),
    EvaluatorSpec(
        "baa_in_scope",
        _baa_in_scope,
        {},
        RESOURCE_ONLY,
        "PASS when the resource's service is covered by the BAA list in force; unknown is MANUAL.",
    ),
    EvaluatorSpec(
        "manual",
        _manual,
        {"attest": Param((str,), doc="what the organisation must attest")},
        TENANT_ONLY,
        "Always MANUAL: the control cannot be observed in Azure and needs attestation.",
    ),
)
