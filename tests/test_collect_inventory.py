"""The inventory through Resource Graph: parallel pages, and no subscription silently missing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from azaudit.casebook import case_config
from azaudit.catalogue import Catalogue
from azaudit.emulator import FaultKind, FaultPlan, FaultRule
from azaudit.engine import evaluate
from azaudit.models import Status
from azaudit.snapshot import Snapshot, subscription_scope
from azaudit.sources import INVENTORY
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import SUB_A, SUB_B, SUB_C, collect, running, tenant_snapshot


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return builtin_catalogue()


@pytest.fixture(scope="module")
def tenant(catalogue: Catalogue) -> Snapshot:
    return tenant_snapshot(catalogue, subscriptions=(SUB_A, SUB_B, SUB_C), storage=9)


def _same(left: Snapshot, right: Snapshot) -> None:
    assert left.gaps == right.gaps == ()
    assert left.resources == right.resources
    assert dict(left.details) == dict(right.details)
    assert left.subscriptions == right.subscriptions


def test_parallel_pages_return_the_same_snapshot_as_sequential_paging(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    # 14 rows per subscription at 4 rows per page: SUB_A..C each get a query of their own
    # whose 4 pages are fetched at once.
    with running(tenant, arg_page_size=4) as emulator:
        sequential = collect(emulator, catalogue, parallel_inventory=False)
        emulator.reset_stats()
        parallel = collect(emulator, catalogue, inventory_page_rows=4)
        pages = [r for r in emulator.requests if r.route == "arg.query"]
    _same(parallel, sequential)
    assert len(parallel.resources) == len(tenant.resources)
    # Two count queries, then 3 subscriptions x ceil(14 / 4) pages.
    assert len(pages) == 2 + 3 * 4


def test_small_subscriptions_share_a_query_within_the_page_size(
    catalogue: Catalogue,
) -> None:
    small = tenant_snapshot(catalogue, subscriptions=(SUB_A, SUB_B, SUB_C), storage=1)
    with running(small) as emulator:
        snapshot = collect(emulator, catalogue, inventory_page_rows=12)
        queries = [r for r in emulator.requests if r.route == "arg.query"]
    assert snapshot.gaps == ()
    assert len(snapshot.resources) == len(small.resources)
    # 6 rows each, 12 per query: SUB_A+B in one query, SUB_C in another (after two counts).
    assert len(queries) == 2 + 2


def test_without_counts_the_inventory_is_paged_in_sequence(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    # Both count queries fail for good (their 5 attempts each): the inventory query still runs.
    counted = FaultRule(FaultKind.SERVER_ERROR, family="arg", times=10, status=500)
    with running(tenant, FaultPlan(rules=(counted,)), arg_page_size=4) as emulator:
        snapshot = collect(emulator, catalogue, inventory_page_rows=4)
    assert snapshot.gaps == ()
    assert len(snapshot.resources) == len(tenant.resources)


def test_a_readable_subscription_left_out_of_resource_graph_is_a_gap(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    with running(tenant, arg_omitted_subscriptions=(SUB_B,)) as emulator:
        snapshot = collect(emulator, catalogue)
    gaps = [(g.scope, g.source, g.error_code) for g in snapshot.gaps]
    assert gaps == [(subscription_scope(SUB_B), INVENTORY, "IncompleteInventory")]
    reason = snapshot.gaps[0].reason
    assert "Resource Graph holds 0 of the 5 resource groups ARM lists" in reason
    # Never "no resources, all clean": every resource check is ERROR for SUB_B.
    findings = evaluate(snapshot, catalogue.checks, case_config())
    mine = [f for f in findings if f.subscription_id == SUB_B]
    assert mine
    resource_checks = {c.id for c in catalogue.checks if c.meta.target.value == "resource"}
    assert {f.status for f in mine if f.check_id in resource_checks} == {Status.ERROR}


def test_a_subscription_without_resource_groups_is_empty_not_a_gap(
    catalogue: Catalogue,
) -> None:
    tenant = tenant_snapshot(catalogue, subscriptions=(SUB_A, SUB_B), storage=1)
    empty = replace(
        tenant,
        resources=tuple(
            r for r in tenant.resources if not str(r["id"]).startswith(f"/subscriptions/{SUB_B}/")
        ),
    )
    with running(empty) as emulator:
        snapshot = collect(emulator, catalogue)
    assert snapshot.gaps == ()
    assert {str(r["subscriptionId"]) for r in snapshot.resources} == {SUB_A}
    assert SUB_B in snapshot.subscription_ids()


def test_pages_shorter_than_asked_are_completed(tenant: Snapshot, catalogue: Catalogue) -> None:
    # The server pages at 3 rows whatever $top asks: each page's range is read to its end.
    with running(tenant, arg_page_size=3) as emulator:
        snapshot = collect(emulator, catalogue, inventory_page_rows=5)
    assert snapshot.gaps == ()
    assert len(snapshot.resources) == len(tenant.resources)


@pytest.mark.parametrize("parallel", [True, False])
def test_a_short_final_page_is_a_gap(
    tenant: Snapshot, catalogue: Catalogue, parallel: bool
) -> None:
    # Resource Graph announces one row more than it ever returns.
    with running(tenant, arg_unreturned_rows=1) as emulator:
        snapshot = collect(emulator, catalogue, parallel_inventory=parallel)
    inventory = [g for g in snapshot.gaps if g.source == INVENTORY]
    assert {g.scope for g in inventory} == {subscription_scope(s) for s in (SUB_A, SUB_B, SUB_C)}
    assert {g.error_code for g in inventory} == {"IncompleteResult"}
    assert snapshot.resources == ()
