"""What an evaluator receives and returns.

An evaluator is a pure function `(ctx, params) -> Iterable[Outcome]`: it reads documents through
`EvalContext` (never the network, the clock or globals) and says PASS/FAIL/... with evidence.
Reading a document that was not collected raises `MissingData`, which the engine turns into an
ERROR finding for exactly that scope: an evaluator cannot accidentally pass on missing data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from azaudit.evaluators.access import ShapeError
from azaudit.models import JSON, Status, TargetKind
from azaudit.reference import BaaList
from azaudit.snapshot import Snapshot, resource_subscription, subscription_scope
from azaudit.sources import INVENTORY


class Outcome(NamedTuple):
    """One verdict from an evaluator, with its evidence.

    `resource_id` (and `resource_type`, `resource_name`) override the target for findings about a
    sub-object, e.g. one NSG rule or one role assignment; they default to the check's target. A
    `resource_name` lets a reader recognise the object (a user's UPN rather than its GUID).

    Immutable like the frozen dataclasses between layers, but a named tuple: evaluators make
    one per finding, and a tuple is built in a fraction of the time a frozen dataclass takes
    (which sets each field through `object.__setattr__`).
    """

    status: Status
    path: str
    observed: JSON
    expected: str
    message: str
    resource_id: str | None = None
    resource_type: str | None = None
    resource_name: str | None = None
    sub_item: str = ""
    """Names the sub-object when the check yields several findings on one resource (the
    operation of an activity-log alert, the region of a missing Network Watcher), so that every
    finding keeps a stable identity across runs."""


def shape_error_outcome(error: ShapeError, **target: str | None) -> Outcome:
    """ERROR for one sub-object (a role holder, an NSG rule) whose evidence has the wrong shape.

    Evaluators that judge independent sub-objects use it so that one unreadable sub-object is
    ERROR for exactly its own finding; `target` carries `resource_id`, `resource_type`, ...
    """
    return Outcome(
        Status.ERROR,
        error.path,
        error.observed,
        error.expected,
        f"cannot evaluate: unexpected data shape at {error.path}: expected {error.expected}, "
        f"got {error.observed}",
        **target,  # type: ignore[arg-type]
    )


class MissingData(Exception):
    """A document an evaluator needs was not collected (a gap) or is absent."""

    def __init__(self, scope: str, source: str, reason: str) -> None:
        super().__init__(f"{source} at {scope}: {reason}")
        self.scope = scope
        self.source = source
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ScanConfig:
    """Organisation settings that evaluators may read (injected, never global)."""

    baa_list: BaaList
    allowed_regions: frozenset[str]
    now: datetime


@dataclass(frozen=True, slots=True)
class EvalContext:
    """The view of a snapshot an evaluator gets for one target.

    Attributes:
        snapshot: the whole snapshot (read-only).
        config: organisation settings.
        kind: what the target is.
        scope_id: ARM id of the target (resource id, `/subscriptions/<id>`, or `/` for the
            tenant).
        subscription_id: the target's subscription, if any.
        resource: the target's resource row (empty for subscription/tenant targets).
    """

    snapshot: Snapshot
    config: ScanConfig
    kind: TargetKind
    scope_id: str
    subscription_id: str | None
    resource: Mapping[str, JSON] = field(default_factory=dict)

    @property
    def now(self) -> datetime:
        """The scan's reference time (injected so that checks stay deterministic)."""
        return self.config.now

    def detail(self, scope: str, source: str) -> JSON:
        """The document `source` of `scope`, or raise `MissingData`."""
        gap = self.snapshot.gap_for(scope, source)
        if gap is not None:
            raise MissingData(scope, source, gap.reason)
        found, body = self.snapshot.detail(scope, source)
        if not found:
            raise MissingData(scope, source, "not collected")
        return body

    def own(self, source: str) -> JSON:
        """The document `source` of the target itself (resource or subscription)."""
        return self.detail(self.scope_id, source)

    def subscription_doc(self, source: str) -> JSON:
        """The document `source` of the target's subscription."""
        if self.subscription_id is None:
            raise MissingData(self.scope_id, source, "target has no subscription")
        return self.detail(subscription_scope(self.subscription_id), source)

    def graph(self, source: str) -> JSON:
        """A tenant-scoped document: Microsoft Graph (`graph:<path>`) or tenant-level ARM."""
        if not source.startswith("graph:"):
            return self.detail("/", source)  # ARM documents of the tenant are stored under "/"
        gap = self.snapshot.gap_for("/", source)
        if gap is not None:
            raise MissingData("/", source, gap.reason)
        found, body = self.snapshot.graph_doc(source)
        if not found:
            raise MissingData("/", source, "not collected")
        return body

    def graph_values(self, source: str) -> list[Any]:
        """The `value` list of a Graph collection document."""
        return list_values(self.graph(source), source)

    def resources_of_type(
        self, *types: str, subscription_id: str | None = None
    ) -> list[Mapping[str, JSON]]:
        """Inventory rows of the given types (in one subscription, or all).

        Raises `MissingData` if the inventory of a subscription in question was not collected,
        so that "no vault found" is never confused with "could not list vaults".
        """
        subscriptions = (
            [subscription_id] if subscription_id is not None else self.snapshot.subscription_ids()
        )
        for sub in subscriptions:
            gap = self.snapshot.gap_for(subscription_scope(sub), INVENTORY)
            if gap is not None:
                raise MissingData(subscription_scope(sub), INVENTORY, gap.reason)
        return self.snapshot.resources_of_type(types, subscriptions)

    def child_resources(self, parent_id: str, child_type: str) -> list[Mapping[str, JSON]]:
        """Inventory rows of `child_type` directly below `parent_id` in the target's subscription
        (a VM's extensions). Raises `MissingData` if that inventory was not collected."""
        sub = self.subscription_id
        if sub is not None:
            gap = self.snapshot.gap_for(subscription_scope(sub), INVENTORY)
            if gap is not None:
                raise MissingData(subscription_scope(sub), INVENTORY, gap.reason)
        return [
            row
            for row in self.snapshot.children_of(parent_id, child_type)
            if sub is None or (resource_subscription(row) or "").lower() == sub.lower()
        ]


def list_values(body: JSON, source: str) -> list[Any]:
    """The `value` array of an ARM or Graph list body; an unknown shape raises ValueError."""
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return list(body["value"])
    raise ValueError(f"{source}: expected an object with a 'value' array")


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter an evaluator accepts (validated when the catalogue loads)."""

    types: tuple[type, ...]
    required: bool = True
    doc: str = ""


EvaluatorFunc = Callable[[EvalContext, Mapping[str, Any]], Iterable[Outcome]]


@dataclass(frozen=True, slots=True)
class EvaluatorSpec:
    """A named, parameterised evaluator that checks can reference from YAML."""

    name: str
    func: EvaluatorFunc
    params: Mapping[str, Param]
    targets: frozenset[TargetKind]
    doc: str

    def validate(self, params: Mapping[str, Any]) -> Iterator[str]:
        """Problems with `params` for this evaluator, as short sentences."""
        for key in params:
            if key not in self.params:
                yield f"unknown parameter {key!r} (accepted: {', '.join(sorted(self.params))})"
        for key, spec in self.params.items():
            if key not in params:
                if spec.required:
                    yield f"missing required parameter {key!r}"
                continue
            value = params[key]
            if isinstance(value, bool) and bool not in spec.types:
                yield f"parameter {key!r}: expected {_names(spec.types)}, got a boolean"
            elif not isinstance(value, spec.types):
                got = type(value).__name__
                yield f"parameter {key!r}: expected {_names(spec.types)}, got {got}"


def _names(types: tuple[type, ...]) -> str:
    return " or ".join(t.__name__ for t in types)


def passed(condition: bool) -> Status:
    """PASS when `condition` holds, else FAIL."""
    return Status.PASS if condition else Status.FAIL
