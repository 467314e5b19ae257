"""The evaluation engine: snapshot + catalogue -> findings. Pure: no I/O, no clock, no globals.

Fail-closed rules live here, once, for every check:
- a subscription whose inventory was not collected gets one ERROR finding per resource check;
- a required document that is missing or covered by a gap gives ERROR for that scope;
- an evaluator that meets data of an unknown shape gives ERROR, never PASS, naming the path;
- an unexpected exception inside one check gives ERROR findings for that check, never a crash;
- checks not evaluated before the deadline give ERROR findings saying so.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from azaudit.catalogue import Check, source_scope_kind
from azaudit.evaluators import get_evaluator
from azaudit.evaluators.access import ShapeError, strict_search
from azaudit.evaluators.base import EvalContext, MissingData, Outcome, ScanConfig
from azaudit.gc_pause import paused_gc
from azaudit.models import JSON, Finding, Severity, Status, TargetKind
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
    targets = _Targets(snapshot, config)
    # Evaluation allocates a finding per check and target and makes no reference cycles worth
    # collecting; left on, the cyclic collector re-traverses the whole snapshot and every finding
    # so far at each full collection, which grows faster than the tenant.
    with paused_gc():
        for check in checks:
            if deadline is not None and clock() >= deadline:
                findings.extend(_not_evaluated(snapshot, check))
                continue
            if check.meta.target is TargetKind.RESOURCE:
                _resource_check(snapshot, _Plan.of(check), targets, findings)
            else:
                findings.extend(evaluate_check(snapshot, check, config))
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
        found: list[Finding] = []
        _resource_check(snapshot, _Plan.of(check), _Targets(snapshot, config), found)
        yield from found
    elif kind is TargetKind.SUBSCRIPTION:
        plan = _Plan.of(check)
        for sub in snapshot.subscriptions:
            sub_id = str(sub["subscriptionId"])
            scope = subscription_scope(sub_id)
            ctx = EvalContext(snapshot, config, kind, scope, sub_id, resource={})
            target: _Target = (
                scope,
                SUBSCRIPTION_RESOURCE_TYPE,
                _subscription_name(sub),
                sub_id,
                None,
            )
            found = []
            _run(plan, ctx, target, found)
            yield from found
    else:
        plan = _Plan.of(check)
        ctx = EvalContext(snapshot, config, kind, "/", None, resource={})
        name = str(snapshot.tenant.get("displayName") or snapshot.tenant_id or "tenant")
        tenant: _Target = (tenant_resource_id(snapshot), TENANT_RESOURCE_TYPE, name, None, None)
        found = []
        _run(plan, ctx, tenant, found)
        yield from found


_Target = tuple[str, str, str, str | None, str | None]
"""What every finding on one target repeats: (resource id, type, name, subscription, location)."""


class _Targets:
    """The `_Target` and `EvalContext` of each inventory row, built once per scan rather than
    once per check and row (both are immutable, so every check can share them).

    Checks of the same resource types (a dozen storage checks, say) share one list of those
    rows' targets, built at the first of them.
    """

    __slots__ = ("_config", "_known", "_lists", "_snapshot")

    def __init__(self, snapshot: Snapshot, config: ScanConfig) -> None:
        self._snapshot = snapshot
        self._config = config
        self._known: dict[int, tuple[Mapping[str, JSON], _Target, EvalContext]] = {}
        self._lists: dict[frozenset[str], list[tuple[_Target, EvalContext]]] = {}

    def of_types(self, wanted: frozenset[str]) -> list[tuple[_Target, EvalContext]]:
        """Target and context of every row of the `wanted` types (lower case; `*`: all), in
        inventory order."""
        known = self._lists.get(wanted)
        if known is None:
            snapshot = self._snapshot
            rows = snapshot.resources if "*" in wanted else snapshot.resources_of_type(wanted)
            known = self._lists[wanted] = [self.of(row) for row in rows]
        return known

    def of(self, resource: Mapping[str, JSON]) -> tuple[_Target, EvalContext]:
        known = self._known.get(id(resource))
        # The row itself is kept beside its target, so its id cannot be reused while cached.
        if known is not None and known[0] is resource:
            return known[1], known[2]
        target = (
            str(resource["id"]),
            str(resource.get("type", "")),
            str(resource.get("name", "")),
            resource_subscription(resource),
            _location(resource),
        )
        ctx = EvalContext(
            self._snapshot, self._config, TargetKind.RESOURCE, target[0], target[3], resource
        )
        self._known[id(resource)] = (resource, target, ctx)
        return target, ctx


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the engine needs of one check, looked up once per check instead of per target."""

    check: Check
    check_id: str
    severity: Severity
    func: Callable[[EvalContext, Mapping[str, Any]], Iterable[Outcome]] | None
    params: Mapping[str, Any]
    requires: tuple[tuple[TargetKind, str], ...]
    not_applicable: Outcome
    texts: dict[str, str]
    """One copy of each message, expected value and path the check's findings repeat (a check
    words most of its findings alike: at 50,000 resources this keeps ~50 MB of copies out)."""

    @classmethod
    def of(cls, check: Check) -> _Plan:
        spec = get_evaluator(check.rule.evaluator)
        kind = check.meta.target
        return cls(
            check=check,
            check_id=check.id,
            severity=check.meta.severity,
            func=spec.func if spec is not None else None,
            params=check.rule.params,
            requires=tuple((source_scope_kind(kind, s), s) for s in check.requires),
            not_applicable=Outcome(
                Status.NOT_APPLICABLE, "", None, "", f"not applicable: {check.applies_if}"
            ),
            texts={},
        )


def _resource_check(snapshot: Snapshot, plan: _Plan, targets: _Targets, out: list[Finding]) -> None:
    check = plan.check
    for sub in snapshot.subscriptions:
        sub_id = str(sub["subscriptionId"])
        scope = subscription_scope(sub_id)
        gap = snapshot.gap_for(scope, INVENTORY)
        if gap is not None:
            out.append(
                Finding(
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
            )
    for target, ctx in targets.of_types(frozenset(t.lower() for t in check.meta.resource_types)):
        _run(plan, ctx, target, out)


def _applies(check: Check, resource: Mapping[str, JSON]) -> bool:
    """Whether the check's `applies_if` holds (a wrongly shaped field raises `ShapeError`)."""
    return check.applies_if is None or strict_search(check.applies_if, resource) is True


def _run(plan: _Plan, ctx: EvalContext, target: _Target, out: list[Finding]) -> None:
    """Append the findings of one check on one target to `out`.

    Every outcome is collected before any is appended: an evaluator that fails half-way gives
    one ERROR finding, never some findings and then an ERROR.
    """
    check = plan.check
    try:
        if (
            check.applies_if is not None
            and ctx.kind is TargetKind.RESOURCE
            and not _applies(check, ctx.resource)
        ):
            out.append(_finding(plan, ctx, plan.not_applicable, target))
            return
        for scope_kind, source in plan.requires:
            if scope_kind is TargetKind.TENANT:
                ctx.graph(source)
            elif scope_kind is TargetKind.SUBSCRIPTION:
                ctx.subscription_doc(source)
            else:
                ctx.own(source)
        if plan.func is None:  # the catalogue loader rejects this; keep the engine total anyway
            raise ValueError(f"unknown evaluator {check.rule.evaluator!r}")
        outcomes = list(plan.func(ctx, plan.params))
    except MissingData as missing:
        outcome = Outcome(
            Status.ERROR,
            missing.source,
            None,
            "data collected",
            f"cannot evaluate: {missing.source} at {missing.scope}: {missing.reason}",
        )
        out.append(_finding(plan, ctx, outcome, target))
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
        out.append(_finding(plan, ctx, outcome, target))
        return
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        outcome = Outcome(
            Status.ERROR,
            "",
            None,
            "data in the documented Azure shape",
            f"cannot evaluate: unexpected data shape ({type(exc).__name__}: {exc})",
        )
        out.append(_finding(plan, ctx, outcome, target))
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
        out.append(_finding(plan, ctx, outcome, target))
        return
    if not outcomes:
        outcomes = [
            Outcome(Status.NOT_APPLICABLE, "", None, "", "nothing to evaluate for this scope")
        ]
    for outcome in outcomes:
        out.append(_finding(plan, ctx, outcome, target))


def _finding(plan: _Plan, ctx: EvalContext, outcome: Outcome, target: _Target) -> Finding:
    resource_id, rtype, name, _, location = target
    # Every field of the outcome at once (one unpacking instead of a lookup per field).
    status, path, observed, expected, message, own_id, own_type, own_name, sub_item = outcome
    if own_id:
        resource_id = own_id
        name = own_name or own_id.rstrip("/").rsplit("/", 1)[-1]
    elif own_name:
        name = own_name
    if observed is not None and type(observed) not in _SCALARS:
        observed = _jsonable(observed)
    # One copy of each text the check's findings repeat (see `_Plan.texts`); an outcome's
    # texts are plain strings (a str subclass would be kept as it is).
    shared = plan.texts.setdefault
    # Every field in `Finding._fields` order, built as the tuple it is (the named tuple's own
    # `__new__` adds a Python call per finding); tests/test_engine.py pins the order.
    return _new_finding(
        Finding,
        (
            plan.check_id,
            status,
            resource_id,
            own_type or rtype,
            name,
            ctx.subscription_id,
            location,
            shared(path, path) if type(path) is str else path,
            observed,
            shared(expected, expected) if type(expected) is str else expected,
            shared(message, message) if type(message) is str else message,
            sub_item,
            plan.severity,
            None,  # phi: set by PHI scoring
            None,  # waiver_id: set by waivers
        ),
    )


_new_finding = tuple.__new__


_SCALARS = frozenset({str, int, float, bool})
"""Types of an observed value that are kept as they are (no copy needed)."""


def _short(exc: BaseException, limit: int = 300) -> str:
    text = str(exc)
    return text if len(text) <= limit else text[:limit] + "..."


def _jsonable(value: JSON) -> JSON:
    # Observed values are mostly the snapshot's own dicts and lists of plain JSON: their exact
    # types are tested first (an `isinstance` test against an ABC costs several times more).
    kind = type(value)
    if kind is dict:
        return {
            key if type(key) is str else str(key): _jsonable(item) for key, item in value.items()
        }
    if kind is list:
        return [_jsonable(item) for item in value]
    if value is None or kind in _SCALARS or isinstance(value, str | int | float):
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
