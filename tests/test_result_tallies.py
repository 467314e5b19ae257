"""The summary's counted-once figures agree with the same figures computed finding by finding.

`result.summarise` counts the findings once into cells (`tallies.py`) and sums every figure from
them; `order_findings` sorts group by group. These tests compute the same figures the plain way
(every finding walked, one stable sort on the whole key) on the demo tenant, with a PHI scope,
unscored findings and shuffled input, and require identical results.
"""

from __future__ import annotations

import dataclasses
import functools
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from azaudit.demo import build_demo_snapshot
from azaudit.engine import evaluate
from azaudit.evaluators.base import ScanConfig
from azaudit.models import CheckMeta, Finding, ScanResult, Severity, Status
from azaudit.phi import apply_phi_scope, parse_phi_scope
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.result import build_result, order_findings, resummarise
from azaudit.risk import weighted_posture
from tests.catalogue_support import builtin_catalogue

_STATUS_ORDER = [Status.FAIL, Status.ERROR, Status.MANUAL, Status.WAIVED, Status.PASS]


@functools.cache
def _demo() -> tuple[ScanResult, tuple[Finding, ...]]:
    snapshot = build_demo_snapshot()
    catalogue = builtin_catalogue()
    config = ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=snapshot.collected_time,
    )
    raw = evaluate(snapshot, catalogue.checks, config)
    production = snapshot.subscriptions[0]["subscriptionId"]
    scope = parse_phi_scope([production], [], [])
    severities = {c.id: c.meta.severity for c in catalogue.checks}
    scored = apply_phi_scope(raw, snapshot, scope, severities)
    # Some findings left unscored (no PHI flag, no effective severity), as a caller may pass.
    mixed = tuple(f if i % 5 else f._replace(phi=None) for i, f in enumerate(scored))
    result = build_result(snapshot, catalogue, mixed, config, "2026-11-02T08:00:00Z")
    return result, tuple(raw)


def _plain_order(findings: Iterable[Finding], metas: Mapping[str, CheckMeta]) -> list[Finding]:
    def key(f: Finding) -> tuple[Any, ...]:
        meta = metas[f.check_id]
        own = f.severity if f.severity is not None else meta.severity
        status = _STATUS_ORDER.index(f.status) if f.status in _STATUS_ORDER else 5
        return (
            status,
            -meta.severity.rank,
            f.check_id,
            -own.rank,
            f.phi is False,
            f.resource_id.lower(),
            f.sub_item,
        )

    return sorted(findings, key=key)


def _counts(findings: Iterable[Finding]) -> dict[str, int]:
    counter = Counter(f.status for f in findings)
    return {s.value: counter.get(s, 0) for s in Status}


def _failing(findings: Iterable[Finding], metas: Mapping[str, CheckMeta]) -> dict[str, int]:
    counter = Counter(
        f.severity or metas[f.check_id].severity for f in findings if f.status is Status.FAIL
    )
    return {s.value: counter.get(s, 0) for s in Severity}


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ordering_is_one_stable_sort_on_the_whole_key(seed: int) -> None:
    result, _ = _demo()
    metas = {c.id: c for c in result.checks}
    shuffled = list(result.findings)
    random.Random(seed).shuffle(shuffled)
    # Duplicates of the same key keep their input order, as in a stable sort.
    shuffled += shuffled[:50]
    ordered = order_findings(shuffled, metas)
    expected = _plain_order(shuffled, metas)
    assert [id(f) for f in ordered] == [id(f) for f in expected]


def test_every_subscription_and_the_phi_scope_summed_from_cells_match_their_findings() -> None:
    result, _ = _demo()
    metas = {c.id: c for c in result.checks}
    summary = result.summary
    known = {s.subscription_id.lower() for s in result.subscriptions}
    for entry in summary["subscriptions"]:
        own = [
            f
            for f in result.findings
            if (f.subscription_id or "").lower() == entry["subscription_id"].lower()
        ]
        assert entry["counts"] == _counts(own)
        assert entry["posture"] == weighted_posture(own, metas)[0]
        assert entry["failing_by_severity"] == _failing(own, metas)
    tenant = [f for f in result.findings if (f.subscription_id or "").lower() not in known]
    assert tenant, "the demo has tenant-wide findings"
    assert summary["tenant_wide"]["counts"] == _counts(tenant)
    assert summary["tenant_wide"]["posture"] == weighted_posture(tenant, metas)[0]
    inside = [f for f in result.findings if f.phi is not False]
    outside = [f for f in result.findings if f.phi is False]
    assert inside and outside, "the scope splits the demo"
    for block, found in (
        (summary["phi"]["in_scope"], inside),
        (summary["phi"]["out_of_scope"], outside),
    ):
        assert block["counts"] == _counts(found)
        assert block["posture"] == weighted_posture(found, metas)[0]
        assert block["failing_by_severity"] == _failing(found, metas)


def test_overall_family_safeguard_and_check_figures_match_their_findings() -> None:
    result, _ = _demo()
    metas = {c.id: c for c in result.checks}
    summary = result.summary
    overall, families = weighted_posture(result.findings, metas)
    assert summary["posture"] == overall
    assert summary["counts"] == _counts(result.findings)
    assert summary["failing_by_severity"] == _failing(result.findings, metas)
    for family in summary["families"]:
        found = [f for f in result.findings if metas[f.check_id].family == family["family"]]
        assert family["counts"] == _counts(found)
        assert family["posture"] == families.get(family["family"])
    for safeguard in summary["safeguards"]:
        members = [
            c for c in result.checks if c.primary_citation.safeguard == safeguard["safeguard"]
        ]
        found = [f for m in members for f in result.findings if f.check_id == m.id]
        assert safeguard["counts"] == _counts(found)
        assert safeguard["posture"] == weighted_posture(found, metas)[0]
    for check in summary["checks"]:
        found = [f for f in result.findings if f.check_id == check["check_id"]]
        assert check["counts"] == _counts(found)
        assert check["failing_by_severity"] == _failing(found, metas)
    assert summary["resources_evaluated"] == len({f.resource_id.lower() for f in result.findings})


def test_resummarising_gives_the_same_summary() -> None:
    result, _ = _demo()
    again = resummarise(dataclasses.replace(result, summary={}), builtin_catalogue().safeguards)
    assert again.summary == result.summary
    assert again.findings == result.findings
