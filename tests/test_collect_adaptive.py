"""The adaptive concurrency limit, against the emulator's simulation of ARM's read budget."""

from __future__ import annotations

import dataclasses

import pytest

from azaudit.catalogue import Catalogue
from azaudit.collect.progress import CollectionStats, ProgressObserver
from azaudit.collect.throttle import ThrottleSettings
from azaudit.emulator import FaultPlan, LimitMode
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import (
    FAST_RETRY,
    SUB_A,
    collect,
    deps_for,
    running,
    tenant_snapshot,
)

LATENCY = FaultPlan(latency_ms=50)
"""A round trip long enough that this machine's own jitter does not look like queueing."""


class LimitLog(ProgressObserver):
    """Remembers every change of the limit and the final totals."""

    def __init__(self) -> None:
        self.changes: list[tuple[int, str]] = []
        self.stats: CollectionStats | None = None

    def concurrency_changed(self, limit: int, reason: str) -> None:
        self.changes.append((limit, reason))

    def collection_done(self, stats: CollectionStats) -> None:
        self.stats = stats


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return builtin_catalogue()


def _grew_after(changes: list[tuple[int, str]], index: int) -> bool:
    """Whether the limit grew again at some point after `changes[index]` (a back-off)."""
    return any(changes[j][0] > changes[j - 1][0] for j in range(index + 1, len(changes)))


@pytest.mark.parametrize(
    ("mode", "signal"), [(LimitMode.ENFORCE, "throttled"), (LimitMode.REPORT, "low budget")]
)
def test_backs_off_on_throttling_and_recovers(
    catalogue: Catalogue, mode: LimitMode, signal: str
) -> None:
    # One subscription whose read budget (30, refilled at 30/s) runs out early in the scan,
    # even on a slow machine, and refills while it goes on.
    tenant = tenant_snapshot(catalogue, subscriptions=(SUB_A,), storage=200)
    log = LimitLog()
    # Under `enforce` the pacer is told of no watermark, so that the emulator answers 429s;
    # under `report` it spaces requests below the refill rate, so the budget recovers.
    pacing = (
        ThrottleSettings(low_watermark=1)
        if mode is LimitMode.ENFORCE
        else ThrottleSettings(low_watermark=10, refill_per_second=15.0)
    )
    with running(tenant, LATENCY, limits=mode, arm_bucket=30, arm_refill_per_s=30.0) as emulator:
        deps, _ = deps_for(emulator, throttle=pacing)
        # Retries enough that a request meeting an empty bucket on a slow, busy machine still
        # gets through once it refills: this test is about the limit, not retry exhaustion.
        retry = dataclasses.replace(FAST_RETRY, total=12)
        snapshot = collect(
            emulator, catalogue, observer=log, deps=deps, concurrency=64, retry=retry
        )
        statuses = [r.status for r in emulator.requests if r.family == "arm"]
    assert snapshot.gaps == ()
    assert len(snapshot.resources) == len(tenant.resources)
    assert log.changes and log.changes[0][1] == "slow start"
    backed_off = [i for i, (_, reason) in enumerate(log.changes) if reason == signal]
    assert backed_off, log.changes
    first = backed_off[0]
    assert log.changes[first][0] < max(limit for limit, _ in log.changes[:first])
    # ...and the limit grows again once the budget refills.
    assert _grew_after(log.changes, first), log.changes
    assert all(limit <= 64 for limit, _ in log.changes)
    assert (429 in statuses) is (mode is LimitMode.ENFORCE)
    assert log.stats is not None and log.stats.peak_concurrency > 16


def test_concurrency_is_a_ceiling(catalogue: Catalogue) -> None:
    tenant = tenant_snapshot(catalogue, subscriptions=(SUB_A,), storage=30)
    log = LimitLog()
    with running(tenant, LATENCY, limits=LimitMode.UNLIMITED) as emulator:
        collect(emulator, catalogue, observer=log, concurrency=20)
    assert log.changes
    assert max(limit for limit, _ in log.changes) == 20
    assert log.stats is not None and log.stats.peak_concurrency == 20
