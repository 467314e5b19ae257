"""What the evaluator tests share: the built-in checks, and running one on a tiny case snapshot.

Every evaluator test goes through `run_case`, the same path `azaudit checks test` takes, so that a
test exercises the engine's ERROR handling and target filtering and not only the evaluator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from azaudit.casebook import case_config, run_case
from azaudit.catalogue import Case, Check, Rule
from azaudit.engine import evaluate_check
from azaudit.models import CollectionGap, Finding, Status
from azaudit.snapshot import Snapshot
from tests.catalogue_support import builtin_catalogue

CATALOGUE = builtin_catalogue()
"""The built-in catalogue, loaded once per test process."""


def builtin_check(check_id: str) -> Check:
    """The built-in check `check_id` (a missing id fails the test that asks for it)."""
    check = CATALOGUE.get(check_id)
    assert check is not None, check_id
    return check


def with_params(check: Check, params: Mapping[str, Any]) -> Check:
    """`check` with its rule's parameters replaced by exactly `params` (same evaluator)."""
    return replace(check, rule=Rule(check.rule.evaluator, params))


def run_check(check: Check, body: dict[str, Any], **params: Any) -> list[Finding]:
    """The findings of `check` on the case `body`; `params` override single rule parameters.

    `body` is an inline case as a check's YAML writes it (`resource`, `details`, `resources`,
    `scopes`, `graph`, `gaps`); the expected status is irrelevant here, tests assert on findings.
    """
    if params:
        check = with_params(check, {**check.rule.params, **params})
    return list(run_case(check, Case("test", Status.PASS, body)).findings)


def statuses(findings: list[Finding]) -> list[Status]:
    """The status of each finding, in order."""
    return [f.status for f in findings]


def estate_snapshot(
    subscription_ids: Iterable[str],
    resources: Iterable[Mapping[str, Any]],
    details: Mapping[str, Mapping[str, Any]],
    gaps: Iterable[CollectionGap] = (),
) -> Snapshot:
    """A snapshot of several targets, for what one case's single resource cannot show (a
    shared index serving every target alike)."""
    return Snapshot(
        collected_at="2026-11-01T00:00:00Z",
        tool_version="test",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": "tenant-1"},
        subscriptions=tuple({"subscriptionId": sub} for sub in subscription_ids),
        resources=tuple(resources),
        details=details,
        graph={},
        gaps=tuple(gaps),
    )


def evaluate_on(snapshot: Snapshot, check: Check) -> list[Finding]:
    """The findings of `check` on a whole snapshot, under the cases' configuration."""
    return list(evaluate_check(snapshot, check, case_config()))
