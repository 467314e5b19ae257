"""Failures become gaps for exactly their scope; throttling and 5xx are retried; nothing leaks."""

from __future__ import annotations

import io
import json
import logging
import time

import pytest

from azaudit.catalogue import Catalogue
from azaudit.cli_live import JsonLinesProgress
from azaudit.collect.options import RetrySettings
from azaudit.collect.throttle import ThrottleSettings
from azaudit.emulator import Emulator, FaultKind, FaultPlan, FaultRule
from azaudit.errors import InputError
from azaudit.snapshot import Snapshot, dump_snapshot, subscription_scope
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import SUB_A, SUB_B, collect, deps_for, running, tenant_snapshot

WEB_CONFIG = "arm.detail:config/web"


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return builtin_catalogue()


@pytest.fixture(scope="module")
def tenant(catalogue: Catalogue) -> Snapshot:
    return tenant_snapshot(catalogue, storage=2)


def _attempts(emulator: Emulator, route: str) -> int:
    return sum(1 for r in emulator.requests if r.route == route)


def test_throttling_is_retried_after_the_hinted_delay(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    throttle = FaultRule(
        FaultKind.THROTTLE, route=WEB_CONFIG, retry_after_ms=250, times=2, per_request=True
    )
    with running(tenant, FaultPlan(rules=(throttle,))) as emulator:
        started = time.monotonic()
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
        elapsed = time.monotonic() - started
        throttled = [r for r in emulator.requests if r.status == 429]
    assert snapshot.gaps == ()
    assert len(throttled) == 2
    assert _attempts(emulator, WEB_CONFIG) == 3
    # Two waits of the retry-after-ms hint, one after the other.
    assert elapsed >= 0.5
    web = next(k for k in snapshot.details if k.endswith("/sites/portal"))
    assert snapshot.details[web]["config/web"] == tenant.details[web]["config/web"]


def test_throttling_with_retry_after_seconds_on_graph(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    throttle = FaultRule(FaultKind.THROTTLE, route="graph:users", retry_after_s=1, times=1)
    with running(tenant, FaultPlan(rules=(throttle,))) as emulator:
        started = time.monotonic()
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
        elapsed = time.monotonic() - started
    assert snapshot.gaps == ()
    assert elapsed >= 1.0
    assert snapshot.graph["graph:users"] == tenant.graph["graph:users"]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_to_success(
    tenant: Snapshot, catalogue: Catalogue, status: int
) -> None:
    flaky = FaultRule(FaultKind.SERVER_ERROR, route=WEB_CONFIG, status=status, times=2)
    with running(tenant, FaultPlan(rules=(flaky,))) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
        assert _attempts(emulator, WEB_CONFIG) == 3
    assert snapshot.gaps == ()


def test_dropped_connections_are_retried(tenant: Snapshot, catalogue: Catalogue) -> None:
    drop = FaultRule(FaultKind.DISCONNECT, route="graph:directoryroles", times=2)
    with running(tenant, FaultPlan(rules=(drop,))) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
    assert snapshot.gaps == ()
    assert snapshot.graph["graph:directoryRoles"] == tenant.graph["graph:directoryRoles"]


def test_exhausted_retries_become_a_gap_for_that_document_only(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    forever = FaultRule(FaultKind.THROTTLE, route=WEB_CONFIG, retry_after_ms=5)
    with running(tenant, FaultPlan(rules=(forever,))) as emulator:
        snapshot = collect(emulator, catalogue)
        attempts = _attempts(emulator, WEB_CONFIG)
    assert [(g.source, g.status_code) for g in snapshot.gaps] == [
        ("config/web", 429),
        ("config/web", 429),
    ]
    assert all(g.scope.endswith("/providers/Microsoft.Web/sites/portal") for g in snapshot.gaps)
    assert all(g.reason.startswith("throttled; retries exhausted") for g in snapshot.gaps)
    assert attempts == 2 * 5  # two sites, 1 + 4 retries each
    assert len(snapshot.resources) == len(tenant.resources)


def test_forbidden_subscription_is_a_gap_and_the_others_are_collected(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    forbidden = FaultRule(FaultKind.FORBIDDEN, subscription=SUB_B)
    with running(tenant, FaultPlan(rules=(forbidden,))) as emulator:
        snapshot = collect(emulator, catalogue)
        queried = [r for r in emulator.requests if r.family == "arg"]
    assert [(g.scope, g.source, g.status_code, g.error_code) for g in snapshot.gaps] == [
        (subscription_scope(SUB_B), "*", 403, "AuthorizationFailed")
    ]
    assert "access denied" in snapshot.gaps[0].reason
    # The unreadable subscription stays in scope (so every check reports ERROR for it)...
    assert snapshot.subscription_ids() == [SUB_A, SUB_B]
    # ...but nothing is read below it, and Resource Graph's inventory query does not name it
    # (the count queries, sent while the scope is verified, do: their 403 only means that the
    # inventory is paged in sequence).
    assert {str(r["subscriptionId"]) for r in snapshot.resources} == {SUB_A}
    assert not any(
        scope.lower().startswith(f"/subscriptions/{SUB_B}") for scope in snapshot.details
    )
    inventory = [r for r in queried if b"order by id" in r.body]
    assert [r.status for r in inventory] == [200]
    assert SUB_B.encode() not in inventory[0].body


def test_unknown_subscription_stops_with_one_clear_error(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    ghost = "dddddddd-0000-4000-8000-000000000004"
    with running(tenant) as emulator, pytest.raises(InputError) as excinfo:
        collect(emulator, catalogue, subscriptions=(SUB_A, ghost))
    message = str(excinfo.value)
    assert message.startswith(f"--subscription {ghost}: no such subscription")
    assert "HTTP 404 SubscriptionNotFound" in message
    assert "\n" not in message


def test_graph_forbidden_is_a_gap_per_graph_source(tenant: Snapshot, catalogue: Catalogue) -> None:
    denied = FaultRule(FaultKind.FORBIDDEN, route="graph:identity/conditionalaccess/policies")
    with running(tenant, FaultPlan(rules=(denied,))) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
    assert [(g.scope, g.source, g.status_code, g.error_code) for g in snapshot.gaps] == [
        ("/", "graph:identity/conditionalAccess/policies", 403, "Authorization_RequestDenied")
    ]
    assert "graph:identity/conditionalAccess/policies" not in snapshot.graph
    assert "graph:users" in snapshot.graph


def test_provider_not_registered_is_a_gap_and_never_registered(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    unregistered = FaultRule(
        FaultKind.NOT_REGISTERED, route="arm.detail:providers/microsoft.security/pricings"
    )
    with running(tenant, FaultPlan(rules=(unregistered,))) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
        stats = emulator.stats()
    assert [(g.source, g.status_code, g.error_code) for g in snapshot.gaps] == [
        ("providers/Microsoft.Security/pricings", 409, "MissingSubscriptionRegistration")
    ]
    assert "resource provider not registered" in snapshot.gaps[0].reason
    # azure-mgmt-core's default pipeline would POST .../providers/Microsoft.Security/register.
    assert stats.write_attempts == 0
    assert {r.method for r in emulator.requests} <= {"GET", "POST"}
    assert {r.route for r in emulator.requests if r.method == "POST"} <= {
        "arg.query",
        "token.issue",
    }


@pytest.mark.parametrize(
    ("rule", "source"),
    [
        (FaultRule(FaultKind.MALFORMED, route="graph:users"), "graph:users"),
        (FaultRule(FaultKind.MALFORMED, family="arg"), "resources"),
        (FaultRule(FaultKind.MALFORMED, route=WEB_CONFIG), "config/web"),
    ],
)
def test_malformed_json_is_a_gap(
    tenant: Snapshot, catalogue: Catalogue, rule: FaultRule, source: str
) -> None:
    with running(tenant, FaultPlan(rules=(rule,))) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
    assert [(g.source, g.error_code) for g in snapshot.gaps] == [(source, "MalformedJson")]
    assert snapshot.gaps[0].reason == "malformed JSON in the response body"


def test_not_found_detail_is_recorded_as_a_gap_not_as_absence(
    tenant: Snapshot, catalogue: Catalogue
) -> None:
    missing = FaultRule(FaultKind.NOT_FOUND, route="arm.detail:auditingsettings/default")
    with running(tenant, FaultPlan(rules=(missing,))) as emulator:
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,))
    assert [(g.source, g.status_code) for g in snapshot.gaps] == [("auditingSettings/default", 404)]
    assert snapshot.gaps[0].reason.startswith("not found (HTTP 404 ResourceNotFound)")


def test_no_token_or_secret_in_logs_progress_or_snapshot(
    tenant: Snapshot, catalogue: Catalogue, caplog: pytest.LogCaptureFixture
) -> None:
    throttle = FaultRule(FaultKind.THROTTLE, route=WEB_CONFIG, retry_after_ms=5, times=1)
    denied = FaultRule(FaultKind.FORBIDDEN, route="graph:users")
    progress = io.StringIO()
    caplog.set_level(logging.DEBUG)
    with running(tenant, FaultPlan(rules=(throttle, denied))) as emulator:
        deps, factory = deps_for(emulator)
        snapshot = collect(emulator, catalogue, JsonLinesProgress(progress), deps)
        secret = emulator.environment()["AZURE_CLIENT_SECRET"]
        stats = emulator.stats()
    tokens = factory.tokens
    assert tokens, "the credential issued no token"
    events = [json.loads(line) for line in progress.getvalue().splitlines()]
    assert {e["event"] for e in events} >= {"request_failed", "gap", "collection_done"}
    outputs = {
        "logs": "\n".join(f"{r.getMessage()} {r.args!r}" for r in caplog.records),
        "progress": progress.getvalue(),
        "snapshot": dump_snapshot(snapshot).decode("utf-8"),
    }
    assert caplog.records, "expected azure-core's HTTP logging to have run"
    for name, text in outputs.items():
        for token in tokens:
            assert token not in text, f"a bearer token leaked into the {name}"
        assert secret not in text, f"the client secret leaked into the {name}"
    assert "Authorization" not in outputs["logs"] or "REDACTED" in outputs["logs"]
    assert stats.write_attempts == 0


def test_low_remaining_read_budget_spaces_requests(tenant: Snapshot, catalogue: Catalogue) -> None:
    # The emulator reports ARM's real bucket (250 reads, `x-ms-ratelimit-remaining-...`); a
    # watermark far above it makes every subscription "low" so that pacing is visible.
    # Pacing only ever adds time, so a lower bound on the paced run is robust on a busy machine
    # (comparing against an unpaced run is not); the spacing arithmetic itself is unit-tested
    # with a fake clock in test_collect_parts.py.
    careful = ThrottleSettings(low_watermark=10_000, refill_per_second=1000.0, max_spacing=1.0)
    with running(tenant) as emulator:
        deps, _ = deps_for(emulator, throttle=careful)
        started = time.monotonic()
        snapshot = collect(emulator, catalogue, deps=deps, subscriptions=(SUB_A,))
        elapsed = time.monotonic() - started
        arm_reads = sum(1 for r in emulator.requests if r.family == "arm")
    assert snapshot.gaps == ()
    # About 40 ms between the reads of the subscription (10000 / 250 remaining / 1000 per s).
    assert arm_reads >= 15
    assert elapsed >= 0.03 * (arm_reads - 2)


def test_resource_graph_throttling_is_retried(tenant: Snapshot, catalogue: Catalogue) -> None:
    throttle = FaultRule(FaultKind.THROTTLE, family="arg", retry_after_ms=200, times=1)
    with running(tenant, FaultPlan(rules=(throttle,))) as emulator:
        started = time.monotonic()
        snapshot = collect(emulator, catalogue)
        elapsed = time.monotonic() - started
        queries = [r.status for r in emulator.requests if r.family == "arg"]
    assert snapshot.gaps == ()
    # One of the three queries (two counts, one inventory) was throttled, then retried.
    assert sorted(queries) == [200, 200, 200, 429]
    assert elapsed >= 0.2
    assert len(snapshot.resources) == len(tenant.resources)


def test_hung_connection_times_out_and_is_retried(tenant: Snapshot, catalogue: Catalogue) -> None:
    hang = FaultRule(FaultKind.TIMEOUT, route=WEB_CONFIG, hang_seconds=3.0, times=1)
    retry = RetrySettings(total=3, backoff_factor=0.01, read_timeout=0.5)
    with running(tenant, FaultPlan(rules=(hang,))) as emulator:
        started = time.monotonic()
        snapshot = collect(emulator, catalogue, subscriptions=(SUB_A,), retry=retry)
        elapsed = time.monotonic() - started
    assert snapshot.gaps == ()
    assert 0.5 <= elapsed < 2.5
