"""Progress output of a live collection (plain, JSON lines, Rich) and `doctor` edge cases."""

from __future__ import annotations

import io
import json

import pytest
from typer.testing import CliRunner

from azaudit.catalogue import Catalogue
from azaudit.cli import app
from azaudit.cli_live import JsonLinesProgress, PlainProgress, RichProgress
from azaudit.collect.doctor import ProbeStatus, run_doctor
from azaudit.collect.options import LiveOptions
from azaudit.emulator import FaultKind, FaultPlan, FaultRule
from azaudit.errors import InputError
from azaudit.snapshot import Snapshot
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import SUB_A, SUB_B, collect, deps_for, running, tenant_snapshot


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return builtin_catalogue()


@pytest.fixture(scope="module")
def tenant(catalogue: Catalogue) -> Snapshot:
    return tenant_snapshot(catalogue, storage=1)


def _faults() -> FaultPlan:
    return FaultPlan(
        rules=(
            FaultRule(FaultKind.THROTTLE, route="graph:users", retry_after_ms=5, times=1),
            FaultRule(FaultKind.FORBIDDEN, subscription=SUB_B),
        )
    )


def test_plain_progress_lines(tenant: Snapshot, catalogue: Catalogue) -> None:
    stream = io.StringIO()
    with running(tenant, _faults()) as emulator:
        collect(emulator, catalogue, PlainProgress(stream))
    lines = stream.getvalue().splitlines()
    assert all(line.startswith("azaudit: ") for line in lines)
    # The unreadable subscription is found while the scope is resolved, before it is announced
    # (only Microsoft Graph's throttled attempt, which does not wait for the scope, may precede).
    scope_line = lines.index("azaudit: 2 subscription(s) in scope")
    assert all("graph GET" in line or "gap:" in line for line in lines[:scope_line])
    assert f"azaudit: subscription sub-aaaa ({SUB_A}): collecting" in lines
    assert any(
        line.startswith(f"azaudit: subscription {SUB_A}: 6 resources, 0 gap(s)") for line in lines
    )
    assert "azaudit: graph GET /graph/v1.0/users: 429" in lines
    assert any(
        line.startswith(f"azaudit: gap: /subscriptions/{SUB_B} *: access denied") for line in lines
    )
    assert lines[-1].startswith("azaudit: collected 6 resources in 2 subscription(s): ")
    assert "(1 throttled, 0 failed, at most " in lines[-1]
    assert " in flight), 1 gap(s)" in lines[-1]


def test_json_lines_progress(tenant: Snapshot, catalogue: Catalogue) -> None:
    stream = io.StringIO()
    with running(tenant, _faults()) as emulator:
        collect(emulator, catalogue, JsonLinesProgress(stream))
    events = [json.loads(line) for line in stream.getvalue().splitlines()]
    by_kind: dict[str, list[dict[str, object]]] = {}
    for event in events:
        by_kind.setdefault(str(event["event"]), []).append(event)
    assert by_kind["scope_resolved"] == [
        {
            "event": "scope_resolved",
            "subscriptions": 2,
            "time": by_kind["scope_resolved"][0]["time"],
        }
    ]
    assert [e["subscription_id"] for e in by_kind["subscription_done"]] == [SUB_A]
    assert by_kind["resources_counted"][0]["count"] == 6
    assert by_kind["request_failed"][0]["status"] == 429
    gap = by_kind["gap"][0]
    assert (gap["scope"], gap["source"], gap["status_code"]) == (
        f"/subscriptions/{SUB_B}",
        "*",
        403,
    )
    done = by_kind["collection_done"][0]
    assert (done["subscriptions"], done["resources"], done["gaps"], done["throttled"]) == (
        2,
        6,
        1,
        1,
    )


def test_rich_progress_renders_a_summary(tenant: Snapshot, catalogue: Catalogue) -> None:
    stream = io.StringIO()
    with running(tenant, _faults()) as emulator, RichProgress(stream) as bar:
        collect(emulator, catalogue, bar)
    output = stream.getvalue()
    assert "gap" in output and f"/subscriptions/{SUB_B}" in output
    assert "collected 6 resources in 2 subscription(s)" in output


def test_doctor_reports_a_credential_that_gets_no_token(tenant: Snapshot) -> None:
    with running(tenant, client_secret="right") as emulator:
        deps, _ = deps_for(emulator, secret="wrong")
        report = run_doctor(LiveOptions(), deps)
    assert not report.ok
    assert [(p.permission, p.status) for p in report.probes] == [
        ("token for ARM", ProbeStatus.MISSING),
        ("token for Microsoft Graph", ProbeStatus.MISSING),
    ]
    assert "AADSTS7000215" in report.probes[0].detail
    assert "wrong" not in report.probes[0].detail.split("AADSTS7000215")[0]
    assert any("AZURE_CLIENT_SECRET" in line for line in report.probes[0].fix)


def test_doctor_flags_an_unregistered_provider_as_an_error(tenant: Snapshot) -> None:
    unregistered = FaultRule(
        FaultKind.NOT_REGISTERED, route="arm.detail:providers/microsoft.security/pricings"
    )
    with running(tenant, FaultPlan(rules=(unregistered,))) as emulator:
        deps, _ = deps_for(emulator)
        report = run_doctor(LiveOptions(subscriptions=(SUB_A,)), deps)
        writes = emulator.write_attempts
    failed = [p for p in report.probes if p.status is not ProbeStatus.OK]
    assert [(p.what, p.status) for p in failed] == [("read Defender plans", ProbeStatus.ERROR)]
    assert (
        f"az provider register --namespace Microsoft.Security --subscription {SUB_A}"
        in (failed[0].fix[0])
    )
    assert writes == 0


def test_doctor_rejects_an_unknown_cloud() -> None:
    result = CliRunner().invoke(app, ["doctor", "--cloud", "Mars"])
    assert isinstance(result.exception, InputError)
    assert "--cloud 'Mars'" in str(result.exception)
