"""The collection runs on uvloop's event loop where installed, and collects the same on both."""

from __future__ import annotations

import asyncio

import pytest

from azaudit.catalogue import Catalogue, load_catalogue
from azaudit.collect.live import event_loop_factory
from azaudit.collect.progress import ProgressObserver
from azaudit.emulator import FaultKind, FaultPlan, FaultRule
from azaudit.snapshot import Snapshot
from tests.collect_support import collect, deps_for, running, tenant_snapshot, without_odata

WEB_CONFIG = "arm.detail:config/web"
uvloop = pytest.importorskip("uvloop", reason="uvloop is a dependency where it is available")


class LoopObserver(ProgressObserver):
    """Remembers which event loop the collection's callbacks ran on."""

    def __init__(self) -> None:
        self.loops: set[type[asyncio.AbstractEventLoop]] = set()

    def scope_resolved(self, subscriptions: int) -> None:
        self.loops.add(type(asyncio.get_running_loop()))


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue()


@pytest.fixture(scope="module")
def tenant(catalogue: Catalogue) -> Snapshot:
    return tenant_snapshot(catalogue, storage=2)


def test_the_default_loop_is_uvloop_and_asyncio_can_be_chosen() -> None:
    assert event_loop_factory() is uvloop.new_event_loop
    assert event_loop_factory("uvloop") is uvloop.new_event_loop
    assert event_loop_factory("asyncio") is None  # asyncio.Runner's own loop


@pytest.mark.parametrize("choice", ["auto", "asyncio"])
def test_both_loops_collect_the_same_snapshot_through_throttling_and_dropped_connections(
    tenant: Snapshot, catalogue: Catalogue, choice: str
) -> None:
    faults = FaultPlan(
        rules=(
            FaultRule(FaultKind.THROTTLE, route=WEB_CONFIG, retry_after_ms=50, times=2),
            FaultRule(FaultKind.DISCONNECT, route="graph:directoryroles", times=1),
        )
    )
    observer = LoopObserver()
    with running(tenant, faults) as emulator:
        deps, _ = deps_for(emulator, event_loop=choice)
        snapshot = collect(emulator, catalogue, observer=observer, deps=deps)
        statuses = emulator.stats().by_status
    expected = asyncio.BaseEventLoop if choice == "asyncio" else uvloop.Loop
    assert len(observer.loops) == 1
    assert issubclass(observer.loops.pop(), expected)
    assert statuses[429] == 2  # retried after the hinted delay, on either loop
    assert snapshot.gaps == ()
    assert dict(snapshot.details) == dict(tenant.details)
    assert without_odata(dict(snapshot.graph)) == dict(tenant.graph)
