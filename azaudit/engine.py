"""The evaluation engine: snapshot + catalogue -> findings. Pure: no I/O, no clock, no globals.

Fail-closed rules live here, once, for every check:
- a subscription whose inventory was not collected gets one ERROR finding per resource check;
- a required document that is missing or covered by a gap gives ERROR for that scope;
- an evaluator that meets data of an unknown shape gives ERROR, never PASS, naming the path;
- an unexpected exception inside one check gives ERROR findings for that check, never a crash;
- checks not evaluated before the deadline give ERROR findings saying so.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable, Iterator, Mapping

from azaudit.catalogue import Check, source_scope_kind
from azaudit.evaluators import get_evaluator
from azaudit.evaluators.access import ShapeError, strict_search
from azaudit.evaluators.base import EvalContext, MissingData, Outcome, ScanConfig
from azaudit.models import JSON, Finding, Status, TargetKind
from azaudit.snapshot import Snapshot, resource_subscription, subscription_scope
from azaudit.sources import INVENTORY

TENANT_RESOURCE_TYPE = "Microsoft.Entra/tenant"
SUBSCRIPTION_RESOURCE_TYPE = "Microsoft.Resources/subscriptions"


def tenant_resource_id(snapshot: Snapshot) -> str:
    """The id findings about the Entra tenant carry."""
    return f"/tenants/{snapshot.tenant_id or 'unknown'}"


def evaluate(
    snapshot: Snapshot,
    checks: Iterable[Check],
    config: ScanConfig,
    *,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[Finding]:
    """Run every check against the snapshot, in catalogue order.

    Args:
        deadline: a `clock()` reading after which no further check starts; each check not
            evaluated by then gives ERROR findings that say so (coverage is incomplete, never
            silently missing).
        clock: the monotonic clock `deadline` refers to (injected so that tests are exact).
    """
    findings: list[Finding] = []
    # Evaluation allocates a finding per check and target and makes no reference cycles worth
    # collecting; left on, the cyclic collector re-traverses the whole snapshot and every finding
    # so far at each full collection, which grows faster than the tenant.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for check in checks:
            if deadline is not None and clock() >= deadline:
                findings.extend(_not_evaluated(snapshot, check))
                continue
            findings.extend(evaluate_check(snapshot, check, config))
    finally:
        if collecting:
            gc.enable()
    return findings


def _not_evaluated(snapshot: Snapshot, check: Check) -> Iterator[Finding]:
    """ERROR findings for a check the deadline left unevaluated: per subscription, or tenant."""
    message = "not evaluated: the scan's time limit was reached before this check ran"
    scopes: list[tuple[str, str, str, str | None]]
    if check.meta.target is TargetKind.TENANT:
        scopes = [(tenant_resource_id(snapshot), TENANT_RESOURCE_TYPE, "tenant", None)]
    else:
        scopes = [
            (
                subscription_scope(str(sub["subscriptionId"])),
                SUBSCRIPTION_RESOURCE_TYPE,
                _subscription_name(sub),
                str(sub["subscriptionId"]),
            )
            for sub in snapshot.subscriptions
        ]
    for rid, rtype, name, sub_id in scopes:
        yield Finding(
            check_id=check.id,
            status=Status.ERROR,
            resource_id=rid,
            resource_type=rtype,
            resource_name=name,
            subscription_id=sub_id,
            location=None,
            property_path="",
            observed=None,
            expected="check evaluated within the time limit",
            message=message,
            severity=check.meta.severity,
        )


def evaluate_check(snapshot: Snapshot, check: Check, config: ScanConfig) -> Iterator[Finding]:
    """All findings of one check."""
    kind = check.meta.target
    if kind is TargetKind.RESOURCE:
        yield from _resource_check(snapshot, check, config)
    elif kind is TargetKind.SUBSCRIPTION:
        for sub in snapshot.subscriptions:
            sub_id = str(sub["subscriptionId"])
            ctx = EvalContext(
                snapshot, config, kind, subscription_scope(sub_id), sub_id, resource={}
            )
            yield from _run(check, ctx, SUBSCRIPTION_RESOURCE_TYPE, _subscription_name(sub), None)
    else:
        ctx = EvalContext(snapshot, config, kind, "/", None, resource={})
        name = str(snapshot.tenant.get("displayName") or snapshot.tenant_id or "tenant")
        yield from _run(check, ctx, TENANT_RESOURCE_TYPE, name, None)


def _resource_check(snapshot: Snapshot, check: Check, config: ScanConfig) -> Iterator[Finding]:
    wanted = {t.lower() for t in check.meta.resource_types}
    for sub in snapshot.subscriptions:
        sub_id = str(sub["subscriptionId"])
        scope = subscription_scope(sub_id)
        gap = snapshot.gap_for(scope, INVENTORY)
        if gap is not None:
            yield Finding(
                check_id=check.id,
                status=Status.ERROR,
                resource_id=scope,
                resource_type=SUBSCRIPTION_RESOURCE_TYPE,
                resource_name=_subscription_name(sub),
                subscription_id=sub_id,
                location=None,
                property_path="",
                observed=None,
                expected="resource inventory collected",
                message=f"inventory of the subscription could not be collected: {gap.reason}",
                severity=check.meta.severity,
            )
    targets = snapshot.resources if "*" in wanted else snapshot.resources_of_type(wanted, None)
    for resource in targets:
        rid = str(resource["id"])
        ctx = EvalContext(
            snapshot, config, TargetKind.RESOURCE, rid, resource_subscription(resource), resource
        )
        yield from _run(
            check,
            ctx,
            str(resource.get("type", "")),
            str(resource.get("name", "")),
            _location(resource),
        )


def _applies(check: Check, resource: Mapping[str, JSON]) -> bool:
    """Whether the check's `applies_if` holds (a wrongly shaped field raises `ShapeError`)."""
    return check.applies_if is None or strict_search(check.applies_if, resource) is True


def _run(
    check: Check, ctx: EvalContext, rtype: str, name: str, location: str | None
) -> Iterator[Finding]:
    try:
        if ctx.kind is TargetKind.RESOURCE and not _applies(check, ctx.resource):
            outcome = Outcome(
                Status.NOT_APPLICABLE, "", None, "", f"not applicable: {check.applies_if}"
            )
            yield _finding(check, ctx, outcome, rtype, name, location)
            return
        for source in check.requires:
            _require(check, ctx, source)
        spec = get_evaluator(check.rule.evaluator)
        if spec is None:  # the catalogue loader rejects this; keep the engine total anyway
            raise ValueError(f"unknown evaluator {check.rule.evaluator!r}")
        outcomes = list(spec.func(ctx, check.rule.params))
    except MissingData as missing:
        outcome = Outcome(
            Status.ERROR,
            missing.source,
            None,
            "data collected",
            f"cannot evaluate: {missing.source} at {missing.scope}: {missing.reason}",
        )
        yield _finding(check, ctx, outcome, rtype, name, location)
        return
    except ShapeError as shape:
        outcome = Outcome(
            Status.ERROR,
            shape.path,
            shape.observed,
            shape.expected,
            f"cannot evaluate: unexpected data shape at {shape.path}: expected {shape.expected}, "
            f"got {shape.observed}",
        )
        yield _finding(check, ctx, outcome, rtype, name, location)
        return
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        outcome = Outcome(
            Status.ERROR,
            "",
            None,
            "data in the documented Azure shape",
            f"cannot evaluate: unexpected data shape ({type(exc).__name__}: {exc})",
        )
        yield _finding(check, ctx, outcome, rtype, name, location)
        return
    except Exception as exc:  # one check's failure must not end the scan
        outcome = Outcome(
            Status.ERROR,
            "",
            None,
            "the check evaluated without an internal error",
            f"cannot evaluate: internal error in evaluator {check.rule.evaluator!r} "
            f"({type(exc).__name__}: {_short(exc)})",
        )
        yield _finding(check, ctx, outcome, rtype, name, location)
        return
    if not outcomes:
        outcomes = [
            Outcome(Status.NOT_APPLICABLE, "", None, "", "nothing to evaluate for this scope")
        ]
    for outcome in outcomes:
        yield _finding(check, ctx, outcome, rtype, name, location)


def _require(check: Check, ctx: EvalContext, source: str) -> None:
    scope_kind = source_scope_kind(check.meta.target, source)
    if scope_kind is TargetKind.TENANT:
        ctx.graph(source)
    elif scope_kind is TargetKind.SUBSCRIPTION:
        ctx.subscription_doc(source)
    else:
        ctx.own(source)


def _finding(
    check: Check, ctx: EvalContext, outcome: Outcome, rtype: str, name: str, location: str | None
) -> Finding:
    resource_id = outcome.resource_id or (
        ctx.scope_id
        if ctx.kind is not TargetKind.TENANT
        else f"/tenants/{ctx.snapshot.tenant_id or 'unknown'}"
    )
    if outcome.resource_name:
        name = outcome.resource_name
    elif outcome.resource_id:
        name = outcome.resource_id.rstrip("/").rsplit("/", 1)[-1]
    return Finding(
        check_id=check.id,
        status=outcome.status,
        resource_id=resource_id,
        resource_type=outcome.resource_type or rtype,
        resource_name=name,
        subscription_id=ctx.subscription_id,
        location=location,
        property_path=outcome.path,
        observed=_jsonable(outcome.observed),
        expected=outcome.expected,
        message=outcome.message,
        sub_item=outcome.sub_item,
        severity=check.meta.severity,
    )


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "..."


def _jsonable(value: JSON) -> JSON:
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _subscription_name(sub: Mapping[str, JSON]) -> str:
    return str(sub.get("displayName") or sub.get("subscriptionId"))


def _location(resource: Mapping[str, JSON]) -> str | None:
    loc = resource.get("location")
    return str(loc) if loc else None
