"""The evaluation engine: snapshot + catalogue -> findings. Pure: no I/O, no clock, no globals.

Fail-closed rules live here, once, for every check:
- a subscription whose inventory was not collected gets one ERROR finding per resource check;
- a required document that is missing or covered by a gap gives ERROR for that scope;
- an evaluator that meets data of an unknown shape gives ERROR, never PASS.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import jmespath

from azaudit.catalogue import Check, source_scope_kind
from azaudit.evaluators import get_evaluator
from azaudit.evaluators.base import EvalContext, MissingData, Outcome, ScanConfig
from azaudit.models import JSON, Finding, Status, TargetKind
from azaudit.snapshot import Snapshot, resource_subscription, subscription_scope
from azaudit.sources import INVENTORY

TENANT_RESOURCE_TYPE = "Microsoft.Entra/tenant"
SUBSCRIPTION_RESOURCE_TYPE = "Microsoft.Resources/subscriptions"


def tenant_resource_id(snapshot: Snapshot) -> str:
    """The id findings about the Entra tenant carry."""
    return f"/tenants/{snapshot.tenant_id or 'unknown'}"


def evaluate(snapshot: Snapshot, checks: Iterable[Check], config: ScanConfig) -> list[Finding]:
    """Run every check against the snapshot, in catalogue order."""
    findings: list[Finding] = []
    for check in checks:
        findings.extend(evaluate_check(snapshot, check, config))
    return findings


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
            )
    for resource in snapshot.resources:
        if "*" not in wanted and str(resource.get("type", "")).lower() not in wanted:
            continue
        rid = str(resource["id"])
        ctx = EvalContext(
            snapshot, config, TargetKind.RESOURCE, rid, resource_subscription(resource), resource
        )
        if check.applies_if is not None and jmespath.search(check.applies_if, resource) is not True:
            yield _finding(
                check,
                ctx,
                Outcome(Status.NOT_APPLICABLE, "", None, "", f"not applicable: {check.applies_if}"),
                str(resource.get("type", "")),
                str(resource.get("name", "")),
                _location(resource),
            )
            continue
        yield from _run(
            check,
            ctx,
            str(resource.get("type", "")),
            str(resource.get("name", "")),
            _location(resource),
        )


def _run(
    check: Check, ctx: EvalContext, rtype: str, name: str, location: str | None
) -> Iterator[Finding]:
    try:
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
    )


def _jsonable(value: JSON) -> JSON:
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
