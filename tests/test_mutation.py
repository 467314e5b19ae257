"""No odd shape of the evidence turns a failing verdict into a PASS, for any evaluator.

For every evaluator, the demo tenant's FAIL and ERROR findings are the inputs. The fields the
evaluator actually reads while judging them are recorded; Hypothesis then picks one of those
fields and deletes it, nulls it or gives it a value of another JSON type. Whatever it picks, the
re-evaluated target must not PASS where it failed: each finding that was FAIL or ERROR is not
PASS, and a target that had a failing finding still has one unless it has no PASS at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azaudit.casebook import case_config
from azaudit.catalogue import Check
from azaudit.demo import build_demo_snapshot
from azaudit.engine import evaluate, evaluate_check
from azaudit.evaluators.base import ScanConfig
from azaudit.models import Finding, Status, TargetKind
from azaudit.snapshot import Snapshot
from tests.catalogue_support import builtin_catalogue

FieldPath = tuple[str | int, ...]
FAILING = (Status.FAIL, Status.ERROR)


class _Recording(dict[str, Any]):
    """A JSON object that notes the path of every key read from it."""

    __slots__ = ("_log", "_path")

    def __init__(self, data: dict[str, Any], path: FieldPath, log: set[FieldPath]) -> None:
        super().__init__(data)
        self._path = path
        self._log = log

    def __getitem__(self, key: str) -> Any:
        self._log.add((*self._path, key))
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._log.add((*self._path, key))
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            self._log.add((*self._path, key))
        return super().__contains__(key)


def _wrap(value: Any, path: FieldPath, log: set[FieldPath]) -> Any:
    if isinstance(value, dict):
        return _Recording({k: _wrap(v, (*path, k), log) for k, v in value.items()}, path, log)
    if isinstance(value, list):
        return [_wrap(v, (*path, i), log) for i, v in enumerate(value)]
    return value


def _snapshot(document: dict[str, Any]) -> Snapshot:
    return Snapshot(
        collected_at=document["collected_at"],
        tool_version=document["tool"]["version"],
        cloud=document["cloud"],
        tenant=document["tenant"],
        subscriptions=tuple(document["subscriptions"]),
        resources=tuple(document["resources"]),
        details=document["details"],
        graph=document["graph"],
        gaps=DEMO.gaps,
    )


DEMO = build_demo_snapshot()
DOCUMENT: dict[str, Any] = DEMO.to_json()
CONFIG: ScanConfig = ScanConfig(
    case_config().baa_list, case_config().allowed_regions, DEMO.collected_time
)
CHECKS = builtin_catalogue().checks


@dataclass(frozen=True)
class Target:
    """One failing (check, scope) of the demo and the fields judging it reads."""

    check: Check
    scope: str
    findings: tuple[Finding, ...]
    reads: tuple[FieldPath, ...]


def _scope_of(check: Check, finding: Finding) -> str:
    if check.meta.target is TargetKind.TENANT:
        return "/"
    if check.meta.target is TargetKind.SUBSCRIPTION:
        return str(finding.subscription_id)
    # A finding about a sub-object (an NSG rule, a subnet) belongs to the row it lies below.
    rid = finding.resource_id.lower()
    for row in DOCUMENT["resources"]:
        own = str(row["id"]).lower()
        if rid == own or rid.startswith(own + "/"):
            return own
    return rid


def _of_scope(check: Check, scope: str, findings: list[Finding]) -> tuple[Finding, ...]:
    if check.meta.target is TargetKind.TENANT:
        return tuple(findings)
    if check.meta.target is TargetKind.SUBSCRIPTION:
        return tuple(f for f in findings if f.subscription_id == scope)
    # Resource checks: the target and its sub-objects (NSG rules, subnets) share its id prefix.
    return tuple(f for f in findings if f.resource_id.lower().startswith(scope))


def _recorded_reads(check: Check) -> set[FieldPath]:
    log: set[FieldPath] = set()
    wrapped = {
        **DOCUMENT,
        "subscriptions": _wrap(DOCUMENT["subscriptions"], ("subscriptions",), log),
        "resources": _wrap(DOCUMENT["resources"], ("resources",), log),
        "details": {
            scope: {name: _wrap(body, ("details", scope, name), log) for name, body in docs.items()}
            for scope, docs in DOCUMENT["details"].items()
        },
        "graph": {
            name: _wrap(body, ("graph", name), log) for name, body in DOCUMENT["graph"].items()
        },
    }
    snapshot = _snapshot(wrapped)
    log.clear()  # building the indexes reads every row; only the check's reads count
    list(evaluate_check(snapshot, check, CONFIG))
    return log


_LOADER_CHECKED = ("id", "type")
"""Required strings the snapshot loader validates: a mutation of them never reaches a check."""
_ENGINE_READS = ("id", "type", "name", "location", "subscriptionId")


def _targets() -> dict[str, list[Target]]:
    findings = evaluate(DEMO, CHECKS, CONFIG)
    by_evaluator: dict[str, list[Target]] = {}
    for check in CHECKS:
        own = [f for f in findings if f.check_id == check.id]
        failing = sorted({_scope_of(check, f) for f in own if f.status in FAILING})
        if not failing:
            continue
        reads = sorted(
            (p for p in _recorded_reads(check) if p[:1] != ("subscriptions",) or len(p) > 3),
            key=repr,
        )
        types = {t.lower() for t in check.meta.resource_types}
        for scope in failing:
            if check.meta.target is TargetKind.RESOURCE:
                rows = [
                    i for i, r in enumerate(DOCUMENT["resources"]) if str(r["id"]).lower() == scope
                ]
                # Other targets of the same check are judged separately: their fields are not
                # this target's evidence.
                peers = {
                    i
                    for i, r in enumerate(DOCUMENT["resources"])
                    if str(r["type"]).lower() in types and i not in rows
                }
                # A resource check reads its own row, the documents of its scope, Graph and the
                # rows it looks up; the engine's own reads of every row (id, type, name, location,
                # subscription) are not the evaluator's, except on the target's row.
                mine = [
                    p
                    for p in reads
                    if (p[0] == "resources" and p[1] in rows and p[2] not in _LOADER_CHECKED)
                    or (p[0] == "details" and str(p[1]).lower().startswith(scope))
                    or p[0] == "graph"
                    or (
                        p[0] == "resources"
                        and p[1] not in peers
                        and len(p) > 2
                        and p[2] not in _ENGINE_READS
                    )
                ]
            else:
                mine = [
                    p
                    for p in reads
                    if p[0] != "resources" or (len(p) > 2 and p[2] not in _LOADER_CHECKED)
                ]
            if mine:
                target = Target(check, scope, _of_scope(check, scope, own), tuple(mine))
                by_evaluator.setdefault(check.rule.evaluator, []).append(target)
    return by_evaluator


TARGETS = _targets()

MUTATIONS = ("delete", "null", "retype")

ABSENT_MEANS_OFF = frozenset({"cors"})
"""Fields Microsoft documents as absent (or null) when the feature is off, where off is the
compliant state: a site without `cors` allows no cross-origin requests
(https://learn.microsoft.com/rest/api/appservice/web-apps/get-configuration). Deleting or
nulling them may PASS; giving them another type never may."""


def _other_type(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else 0
    if isinstance(value, str):
        return 7
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return {"value": value}
    if isinstance(value, dict):
        return "object"
    return 7


def _mutated(path: FieldPath, how: str) -> dict[str, Any] | None:
    """`DOCUMENT` with the field at `path` mutated (containers on the path copied), or None."""
    root: dict[str, Any] = dict(DOCUMENT)
    node: Any = root
    for key in path[:-1]:
        child = node[key] if isinstance(node, dict) else node[int(key)]
        copied = dict(child) if isinstance(child, dict) else list(child)
        node[key] = copied
        node = copied
    last = path[-1]
    if isinstance(node, dict) and last not in node:
        return None  # read but absent: deleting or nulling an absent key changes nothing
    if how == "delete":
        if not isinstance(node, dict):
            return None
        del node[last]
    elif how == "null":
        node[last] = None
    else:
        node[last] = _other_type(node[last])
    return root


def _assert_not_turned_pass(target: Target, after: tuple[Finding, ...], what: str) -> None:
    before = {f.identity: f.status for f in target.findings}
    for finding in after:
        if before.get(finding.identity) in FAILING:
            assert finding.status is not Status.PASS, (what, finding.message)
    statuses = {f.status for f in after}
    assert not (Status.PASS in statuses and not statuses & set(FAILING)), (
        what,
        [(f.status.value, f.message) for f in after],
    )


@pytest.mark.parametrize("evaluator", sorted(TARGETS))
def test_no_mutation_of_a_field_an_evaluator_reads_turns_a_failure_into_a_pass(
    evaluator: str,
) -> None:
    targets = TARGETS[evaluator]

    @settings(
        max_examples=50,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(st.data())
    def run(data: st.DataObject) -> None:
        target = data.draw(st.sampled_from(targets), label="target")
        path = data.draw(st.sampled_from(target.reads), label="field")
        how = data.draw(st.sampled_from(MUTATIONS), label="mutation")
        if how != "retype" and path[-1] in ABSENT_MEANS_OFF:
            return
        document = _mutated(path, how)
        if document is None:
            return
        findings = list(evaluate_check(_snapshot(document), target.check, CONFIG))
        after = _of_scope(target.check, target.scope, findings)
        _assert_not_turned_pass(target, after, f"{target.check.id} {how} {path}")

    run()


def test_every_evaluator_with_a_failing_demo_input_is_covered() -> None:
    covered = set(TARGETS)
    evaluators = {c.rule.evaluator for c in CHECKS}
    # Evaluators the demo only ever passes (or that read nothing) cannot be mutated from a failure.
    assert len(covered) >= len(evaluators) * 2 // 3, sorted(evaluators - covered)
