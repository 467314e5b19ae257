"""The inventory and gap indexes change how fast a scan is, never what it finds.

`LinearSnapshot` answers every lookup by scanning the whole inventory and every gap, as the
snapshot did before it was indexed; both must give byte-identical findings on the demo tenant and
on a synthetic tenant of 10,000 resources.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property

import pytest

from azaudit.casebook import case_config
from azaudit.catalogue import Check
from azaudit.demo import build_demo_snapshot
from azaudit.engine import evaluate
from azaudit.evaluators.base import ScanConfig
from azaudit.models import JSON, CollectionGap, Finding
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.snapshot import Snapshot, resource_subscription
from benchmarks.synthetic import generate
from tests.catalogue_support import builtin_catalogue


class LinearSnapshot(Snapshot):
    """The same snapshot, answering lookups by a full scan (the reference behaviour)."""

    @cached_property
    def _rows(self) -> list[tuple[str, str, str, Mapping[str, JSON]]]:
        """(type, id, subscription) of every row in lower case, scanned in full by each lookup."""
        return [
            (
                str(r.get("type", "")).lower(),
                str(r.get("id", "")).lower(),
                (resource_subscription(r) or "").lower(),
                r,
            )
            for r in self.resources
        ]

    def gap_for(self, scope: str, source: str) -> CollectionGap | None:
        return next((g for g in self.gaps if g.covers(scope, source)), None)

    def resources_of_type(
        self, types: Iterable[str], subscription_ids: Iterable[str] | None = None
    ) -> list[Mapping[str, JSON]]:
        wanted = {t.lower() for t in types}
        subs = None if subscription_ids is None else {s.lower() for s in subscription_ids}
        return [r for t, _, s, r in self._rows if t in wanted and (subs is None or s in subs)]

    def children_of(self, parent_id: str, child_type: str) -> list[Mapping[str, JSON]]:
        prefix = parent_id.rstrip("/").lower() + "/"
        wanted = child_type.lower()
        return [
            r
            for t, i, _, r in self._rows
            if t == wanted and i.startswith(prefix) and i[len(prefix) :].count("/") == 1
        ]


def _linear(snapshot: Snapshot) -> LinearSnapshot:
    return LinearSnapshot(
        collected_at=snapshot.collected_at,
        tool_version=snapshot.tool_version,
        cloud=snapshot.cloud,
        tenant=snapshot.tenant,
        subscriptions=snapshot.subscriptions,
        resources=snapshot.resources,
        details=snapshot.details,
        graph=snapshot.graph,
        gaps=snapshot.gaps,
    )


def _bytes(findings: Sequence[Finding]) -> bytes:
    rows = [{**f.to_json(), "sub_item": f.sub_item, "severity": f.severity} for f in findings]
    return json.dumps(rows, sort_keys=True).encode("utf-8")


def _config(snapshot: Snapshot) -> ScanConfig:
    return ScanConfig(default_baa_list(), frozenset(default_us_regions()), snapshot.collected_time)


def test_demo_findings_are_byte_identical_with_and_without_the_index() -> None:
    snapshot = build_demo_snapshot()
    checks = builtin_catalogue().checks
    indexed = evaluate(snapshot, checks, _config(snapshot))
    assert indexed
    assert _bytes(indexed) == _bytes(evaluate(_linear(snapshot), checks, _config(snapshot)))


@pytest.fixture(scope="module")
def synthetic() -> Snapshot:
    snapshot = generate(10, 1000)
    assert len(snapshot.resources) == 10_000
    return snapshot


def _lookup_checks() -> tuple[Check, ...]:
    """Every check whose evaluator looks other rows up, plus one of each target kind."""
    lookups = {
        "vm_host_encryption",
        "vm_backup_protected",
        "activity_log_alerts",
        "network_watcher_regions",
    }
    checks = builtin_catalogue().checks
    chosen = [c for c in checks if c.rule.evaluator in lookups]
    chosen += [
        c
        for c in checks
        if c.id
        in {
            "eit_storage_https_only",
            "scope_baa_in_scope_service",
            "residency_resource_location_us",
            "idn_owner_count",
            "idn_mfa_privileged",
            "eit_app_tls12",
        }
    ]
    return tuple(chosen)


def test_synthetic_findings_are_byte_identical_with_and_without_the_index(
    synthetic: Snapshot,
) -> None:
    checks = _lookup_checks()
    assert len(checks) >= 8
    indexed = evaluate(synthetic, checks, _config(synthetic))
    assert len(indexed) > 10_000
    assert _bytes(indexed) == _bytes(evaluate(_linear(synthetic), checks, _config(synthetic)))


def test_the_index_sees_gaps_as_the_scan_does() -> None:
    synthetic = generate(2, 500)
    sub = synthetic.subscription_ids()[1]
    gaps = (
        CollectionGap(f"/subscriptions/{sub}", "resources", "throttled"),
        *(CollectionGap(str(r["id"]), "*", "403") for r in synthetic.resources[::7]),
    )
    with_gaps = Snapshot(
        collected_at=synthetic.collected_at,
        tool_version=synthetic.tool_version,
        cloud=synthetic.cloud,
        tenant=synthetic.tenant,
        subscriptions=synthetic.subscriptions,
        resources=synthetic.resources,
        details=synthetic.details,
        graph=synthetic.graph,
        gaps=gaps,
    )
    checks = _lookup_checks()
    config = case_config()
    assert _bytes(evaluate(with_gaps, checks, config)) == _bytes(
        evaluate(_linear(with_gaps), checks, config)
    )
