"""Live collection against the local emulator: completeness, paging, scope, batching, deadline."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import pytest

from azaudit.casebook import case_config
from azaudit.catalogue import Catalogue
from azaudit.collect.live import CollectionError
from azaudit.collect.plan import build_plan
from azaudit.emulator import FaultKind, FaultPlan, FaultRule
from azaudit.engine import evaluate
from azaudit.errors import InputError
from azaudit.models import JSON, Status
from azaudit.snapshot import Snapshot, subscription_scope
from azaudit.sources import INVENTORY
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import (
    SUB_A,
    SUB_B,
    SUB_C,
    collect,
    deps_for,
    directory_user,
    running,
    tenant_snapshot,
    without_odata,
)

ROLES = "graph:directoryRoles"
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"
MEMBERS_ROUTE = "graph:directoryroles/{id}/members"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return builtin_catalogue()


@pytest.fixture(scope="module")
def tenant(catalogue: Catalogue) -> Snapshot:
    return tenant_snapshot(catalogue)


def test_collects_every_planned_document_exactly(tenant: Snapshot, catalogue: Catalogue) -> None:
    with running(tenant) as emulator:
        snapshot = collect(emulator, catalogue)
        stats = emulator.stats()
    assert snapshot.gaps == ()
    assert [s["subscriptionId"] for s in snapshot.subscriptions] == [SUB_A, SUB_B]
    assert sorted(str(r["id"]) for r in snapshot.resources) == sorted(
        str(r["id"]) for r in tenant.resources
    )
    # Rows are stored raw, as Resource Graph returns them (it adds its own columns).
    row = next(r for r in snapshot.resources if str(r["id"]).endswith("/st000"))
    assert row["properties"] == {"supportsHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2"}
    assert row["resourceGroup"] == "rg-data"
    assert row["subscriptionId"] == SUB_A
    assert dict(snapshot.details) == dict(tenant.details)
    assert without_odata(dict(snapshot.graph)) == dict(tenant.graph)
    assert snapshot.tenant == {"tenantId": tenant.tenant_id, "displayName": "Contoso Health"}
    assert snapshot.cloud["name"] == "AzureCloud"
    assert stats.write_attempts == 0
    assert set(stats.by_family) <= {"token", "arm", "arg", "graph"}


def test_follows_every_page_of_arm_resource_graph_and_graph(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    with running(tenant, arm_page_size=2, graph_page_size=2, arg_page_size=3) as emulator:
        snapshot = collect(emulator, catalogue, parallel_inventory=False)
        requests = emulator.requests
    assert snapshot.gaps == ()
    assert dict(snapshot.details) == dict(tenant.details)
    assert without_odata(dict(snapshot.graph)) == dict(tenant.graph)
    assert len(snapshot.resources) == len(tenant.resources)
    arm_pages = [r for r in requests if r.family == "arm" and "skiptoken" in r.query.lower()]
    graph_pages = [r for r in requests if r.family == "graph" and "skiptoken" in r.query.lower()]
    arg_queries = [r for r in requests if r.route == "arg.query"]
    # 5 items per subscription list at 2 per page: 2 follow-up pages per list.
    assert len(arm_pages) >= 2 * len(build_plan(catalogue.checks).subscription_sources)
    assert len(graph_pages) >= 3  # 7 users at 2 per page
    # 2 subscriptions x 8 resources at 3 rows per page, in one batch: 6 queries (sequential
    # paging by $skipToken), after the two count queries (rows and resource groups).
    assert len(arg_queries) == 2 + 6


def test_resource_graph_batches_subscriptions(catalogue: Catalogue) -> None:
    snapshot = tenant_snapshot(catalogue, subscriptions=(SUB_A, SUB_B, SUB_C), storage=1)
    with running(snapshot) as emulator:
        collected = collect(emulator, catalogue, arg_batch_size=2)
        queries = [r for r in emulator.requests if r.route == "arg.query"]
    assert collected.gaps == ()
    # Per batch of two subscriptions, two count queries (rows, resource groups); then two
    # inventory queries of at most two subscriptions each.
    assert len(queries) == 2 * 2 + 2
    assert len(collected.resources) == len(snapshot.resources)


def test_all_subscriptions_lists_every_page(tenant: Snapshot, catalogue: Catalogue) -> None:
    with running(tenant, arm_page_size=1) as emulator:
        snapshot = collect(emulator, catalogue, all_subscriptions=True)
        listing = [r for r in emulator.requests if r.route == "arm.subscriptions.list"]
    assert snapshot.gaps == ()
    assert sorted(snapshot.subscription_ids()) == sorted([SUB_A, SUB_B])
    assert len(listing) == 2


def test_management_group_scope_uses_its_descendants(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    with running(tenant, management_groups={"phi": [SUB_B]}) as emulator:
        snapshot = collect(emulator, catalogue, management_group="phi")
        routes = {r.route for r in emulator.requests}
    assert snapshot.subscription_ids() == [SUB_B]
    assert "arm.mg.descendants" in routes
    assert snapshot.gaps == ()
    assert {str(r["subscriptionId"]) for r in snapshot.resources} == {SUB_B}


def test_unknown_management_group_stops_with_one_clear_error(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    with running(tenant) as emulator, pytest.raises(CollectionError) as excinfo:
        collect(emulator, catalogue, management_group="nope")
    assert "management group 'nope'" in str(excinfo.value)
    assert "access denied (HTTP 403 AuthorizationFailed)" in str(excinfo.value)


def test_deadline_turns_outstanding_documents_into_gaps(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    slow = FaultRule(FaultKind.LATENCY, route="arm.detail:config/web", latency_ms=10000)
    with running(tenant, FaultPlan(rules=(slow,))) as emulator:
        started = time.monotonic()
        snapshot = collect(emulator, catalogue, timeout=3.0)
        elapsed = time.monotonic() - started
    assert elapsed < 7.0
    late = list(snapshot.gaps)
    assert {g.source for g in late} == {"config/web"}
    assert {g.error_code for g in late} == {"DeadlineExceeded"}
    assert all("--timeout deadline (3 s)" in g.reason for g in late)
    # Everything else arrived.
    assert len(snapshot.resources) == len(tenant.resources)
    assert snapshot.graph.keys() == tenant.graph.keys()


def test_deadline_while_verifying_subscriptions_leaves_no_subscription_looking_empty(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    # SUB_A is verified at once, SUB_B's subscription document hangs past the deadline: the
    # collection never reaches the inventory or any document of SUB_A (Microsoft Graph does
    # not wait for the scope).
    slow = FaultRule(
        FaultKind.LATENCY, route="arm.subscriptions.get", subscription=SUB_B, latency_ms=5000
    )
    with running(tenant, FaultPlan(rules=(slow,))) as emulator:
        snapshot = collect(emulator, catalogue, timeout=1.5)
    gaps = {(g.scope, g.source) for g in snapshot.gaps}
    assert {g.error_code for g in snapshot.gaps} == {"DeadlineExceeded"}
    plan = build_plan(catalogue.checks)
    assert gaps == {
        (subscription_scope(SUB_B), "*"),
        (subscription_scope(SUB_A), INVENTORY),
        *((subscription_scope(SUB_A), s.name) for s in plan.subscription_sources),
    }
    assert snapshot.graph.keys() == tenant.graph.keys()
    # Every resource check reports ERROR for SUB_A instead of finding no resource there.
    findings = evaluate(snapshot, catalogue.checks, case_config())
    resource_checks = {c.id for c in catalogue.checks if c.meta.target.value == "resource"}
    erroring = {
        f.check_id
        for f in findings
        if f.status is Status.ERROR and f.subscription_id == SUB_A and f.check_id in resource_checks
    }
    assert erroring == resource_checks
    # Only tenant-level (Microsoft Graph) checks have evidence to pass or fail.
    assert not [f for f in findings if f.status in (Status.PASS, Status.FAIL) and f.subscription_id]


def test_a_row_repeated_by_resource_graph_is_stored_once(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    first = tenant.resources[0]
    repeated = replace(tenant, resources=(*tenant.resources, {**first, "id": first["id"].upper()}))
    with running(repeated, arg_page_size=3) as emulator:
        snapshot = collect(emulator, catalogue)
    assert snapshot.gaps == ()
    ids = [str(r["id"]).lower() for r in snapshot.resources]
    assert sorted(ids) == sorted(str(r["id"]).lower() for r in tenant.resources)


def test_wrong_client_secret_stops_before_any_request(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    with running(tenant, client_secret="the-right-one") as emulator:
        deps, _ = deps_for(emulator, secret="a-wrong-one")
        with pytest.raises(CollectionError) as excinfo:
            collect(emulator, catalogue, deps=deps)
        families = {r.family for r in emulator.requests}
    message = str(excinfo.value)
    assert message.startswith("cannot get a token for Azure Resource Manager")
    assert "azaudit doctor" in message
    assert "a-wrong-one" not in message
    assert families == {"token"}


def test_inventory_gap_when_resource_graph_fails(tenant: Snapshot, catalogue: Catalogue) -> None:
    broken = FaultRule(FaultKind.SERVER_ERROR, family="arg", status=500)
    with running(tenant, FaultPlan(rules=(broken,))) as emulator:
        snapshot = collect(emulator, catalogue)
        arg_attempts = [r for r in emulator.requests if r.family == "arg"]
    inventory = [g for g in snapshot.gaps if g.source == INVENTORY]
    assert {g.scope for g in inventory} == {subscription_scope(SUB_A), subscription_scope(SUB_B)}
    assert {g.status_code for g in inventory} == {500}
    assert snapshot.resources == ()
    # Retried before giving up (the query is a POST, retried because it only reads): the two
    # count queries and the inventory query, 1 + 4 attempts each.
    assert len(arg_attempts) == 3 * 5
    # Subscription-level documents do not depend on the inventory.
    assert snapshot.details[subscription_scope(SUB_A)]


def test_rejects_malformed_options_before_any_request(catalogue: Catalogue) -> None:
    from azaudit.collect.live import collect_live
    from azaudit.collect.options import LiveOptions

    with pytest.raises(InputError, match="--subscription 'not-a-guid'"):
        collect_live(LiveOptions(subscriptions=("not-a-guid",)), catalogue)
    with pytest.raises(InputError, match="--cloud 'Mars'"):
        collect_live(LiveOptions(subscriptions=(SUB_A,), cloud="Mars"), catalogue)


# -- directory roles: members read per role, past Graph's $expand cap ---------------------------


def _member(index: int) -> dict[str, JSON]:
    return {"@odata.type": "#microsoft.graph.user", **directory_user(index)}


def _large_role_tenant(catalogue: Catalogue) -> Snapshot:
    """One subscription; 150 Global Administrators (far past $expand's 20) and 3 readers."""
    base = tenant_snapshot(catalogue, subscriptions=(SUB_A,), storage=1)
    roles: list[JSON] = [
        {
            "id": "a0000000-0000-4000-8000-000000000001",
            "displayName": "Global Administrator",
            "roleTemplateId": GLOBAL_ADMIN,
            "members": [_member(i) for i in range(150)],
        },
        {
            "id": "b0000000-0000-4000-8000-000000000002",
            "displayName": "Directory Readers",
            "roleTemplateId": DIRECTORY_READERS,
            "members": [_member(i) for i in range(3)],
        },
    ]
    return replace(base, graph={**base.graph, ROLES: {"value": roles}})


def _role_checks(catalogue: Catalogue) -> set[str]:
    return {c.meta.id for c in catalogue.checks if ROLES in c.requires}


def test_every_member_of_a_large_role_is_read_page_by_page(catalogue: Catalogue) -> None:
    tenant = _large_role_tenant(catalogue)
    with running(tenant, graph_page_size=7) as emulator:
        snapshot = collect(emulator, catalogue)
        requests = emulator.requests
    assert snapshot.gaps == ()
    assert snapshot.graph[ROLES] == tenant.graph[ROLES]
    by_name = {r["displayName"]: r for r in snapshot.graph[ROLES]["value"]}
    assert len(by_name["Global Administrator"]["members"]) == 150
    # Every page of every role's member list, and never the truncating $expand.
    member_pages = [r for r in requests if r.route == MEMBERS_ROUTE]
    assert len(member_pages) == math.ceil(150 / 7) + math.ceil(3 / 7)
    assert all("$select=" in r.query for r in member_pages)
    # No multi-valued relationship is expanded (Graph truncates those); the single `principal`
    # of each eligibility instance is not truncated.
    assert not [
        r
        for r in requests
        if r.family == "graph"
        and "expand" in r.query.lower()
        and not r.query.lower().startswith("$expand=principal(")
    ]
    # The checks count what was really there.
    findings = evaluate(snapshot, catalogue.checks, case_config())
    admins = next(f for f in findings if f.check_id == "idn_global_admin_count")
    assert admins.status is Status.FAIL
    assert isinstance(admins.observed, dict) and len(admins.observed["users"]) == 150


LARGE_ROLE_MEMBERS = "/graph/v1.0/directoryroles/a0000000-0000-4000-8000-000000000001/members"


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (FaultRule(FaultKind.FORBIDDEN, path=LARGE_ROLE_MEMBERS), 403),
        (FaultRule(FaultKind.THROTTLE, path=LARGE_ROLE_MEMBERS, retry_after_ms=5), 429),
        (FaultRule(FaultKind.MALFORMED, path=LARGE_ROLE_MEMBERS), 200),
    ],
    ids=["forbidden", "retries-exhausted", "malformed"],
)
def test_one_role_whose_members_cannot_be_read_makes_the_roles_a_gap(
    catalogue: Catalogue, fault: FaultRule, status: int
) -> None:
    tenant = _large_role_tenant(catalogue)
    with running(tenant, FaultPlan(rules=(fault,)), graph_page_size=7) as emulator:
        snapshot = collect(emulator, catalogue)
    assert [(g.scope, g.source, g.status_code) for g in snapshot.gaps] == [("/", ROLES, status)]
    assert "members of directoryRoles 'Global Administrator'" in snapshot.gaps[0].reason
    # The other role is readable, yet no partial document is stored.
    assert ROLES not in snapshot.graph
    # The checks that read roles report ERROR for the tenant, never PASS or a short count.
    findings = evaluate(snapshot, catalogue.checks, case_config())
    reading_roles = _role_checks(catalogue)
    assert "idn_global_admin_count" in reading_roles
    verdicts = {f.check_id: f.status for f in findings if f.check_id in reading_roles}
    assert verdicts.keys() == reading_roles
    assert set(verdicts.values()) == {Status.ERROR}
    # Checks that also read other sources judge what those prove, and say the roles are unknown.
    privileged_mfa = [f for f in findings if f.check_id == "idn_mfa_privileged"]
    assert any(f.status is Status.ERROR for f in privileged_mfa)
