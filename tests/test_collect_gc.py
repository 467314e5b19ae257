"""A live collection runs with the cyclic garbage collector paused, and restores it after.

Every answer adds parsed JSON to what the collector holds; with the collector on, each
collection re-traverses all of it. The run leaves almost no cyclic garbage, so it is paused
for the run (reference counting still frees every answer). These tests observe the collector's
state from inside the run (the progress hooks run on the event loop) and after it, also when
the collection fails.
"""

from __future__ import annotations

import gc

import pytest

from azaudit.catalogue import Catalogue
from azaudit.collect.live import CollectionError
from azaudit.collect.progress import ProgressObserver, RequestInfo
from azaudit.emulator import FaultKind, FaultPlan, FaultRule
from azaudit.snapshot import Snapshot
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import collect, deps_for, running, tenant_snapshot


class GcObserver(ProgressObserver):
    """Records whether the garbage collector was on at each answered request."""

    def __init__(self) -> None:
        self.states: list[bool] = []

    def request_done(self, request: RequestInfo) -> None:
        self.states.append(gc.isenabled())


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return builtin_catalogue()


@pytest.fixture(scope="module")
def tenant(catalogue: Catalogue) -> Snapshot:
    return tenant_snapshot(catalogue, storage=2)


pytestmark = pytest.mark.usefixtures("collector_on")


def test_the_collection_runs_with_the_collector_paused_and_restores_it(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    observer = GcObserver()
    with running(tenant) as emulator:
        snapshot = collect(emulator, catalogue, observer=observer)
    assert snapshot.resources and not snapshot.gaps
    assert len(observer.states) > 20
    assert not any(observer.states)
    assert gc.isenabled()


def test_a_paused_collector_stays_off_after_the_collection(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    gc.disable()
    with running(tenant) as emulator:
        collect(emulator, catalogue)
    assert not gc.isenabled()


def test_a_failed_collection_restores_the_collector(tenant: Snapshot, catalogue: Catalogue) -> None:
    observer = GcObserver()
    faults = FaultPlan(rules=(FaultRule(FaultKind.FORBIDDEN, path="/subscriptions"),))
    with running(tenant, faults) as emulator:
        deps, _ = deps_for(emulator)
        with pytest.raises(CollectionError, match="cannot list the subscriptions"):
            collect(emulator, catalogue, observer=observer, deps=deps, all_subscriptions=True)
    assert observer.states and not any(observer.states)
    assert gc.isenabled()


def _garbage_after_collection(catalogue: Catalogue, storage: int) -> tuple[int, int]:
    """Objects of cyclic garbage a collection leaves behind, and its requests."""
    faults = FaultPlan(
        rules=(
            FaultRule(FaultKind.FORBIDDEN, path_regex=r"/providers/.+/providers/"),
            FaultRule(FaultKind.SERVER_ERROR, retry_after_ms=1, per_request=True, times=1),
        )
    )
    observer = GcObserver()
    with running(tenant_snapshot(catalogue, storage=storage), faults) as emulator:
        gc.collect()
        gc.disable()  # nothing collects until the count below
        snapshot = collect(emulator, catalogue, observer=observer)
        garbage = gc.collect()
        gc.enable()
    assert snapshot.gaps  # failures and retries (each 5xx once) were part of the run
    return garbage, len(observer.states)


def test_the_garbage_a_collection_leaves_does_not_grow_with_its_requests(
    catalogue: Catalogue,
) -> None:
    """What the paused collector would have freed is a fixed few hundred objects, not a share
    of every request, also through 403s and retried 5xx answers."""
    small, small_requests = _garbage_after_collection(catalogue, storage=2)
    large, large_requests = _garbage_after_collection(catalogue, storage=60)
    assert large_requests > 4 * small_requests
    assert large < small + (large_requests - small_requests) / 10
