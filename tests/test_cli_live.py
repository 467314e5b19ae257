"""`azaudit scan` against live Azure (the emulator serving the demo tenant) and `azaudit doctor`."""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from azaudit.cli import app
from azaudit.collect.options import LiveDeps
from azaudit.demo import DEMO_NOW, build_demo_snapshot
from azaudit.emulator import Emulator, FaultKind, FaultPlan, FaultRule
from azaudit.errors import InputError
from azaudit.snapshot import Snapshot, subscription_scope, write_snapshot
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import deps_for
from tests.web_support import without_web_scan

DEMO = build_demo_snapshot()
CATALOGUE = builtin_catalogue()
FORBIDDEN_SUB = DEMO.subscription_ids()[1]


def _results(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text())  # type: ignore[no-any-return]


def _scan(deps: LiveDeps, out: Path, *args: str) -> Any:
    runner = CliRunner()
    subscriptions = [a for s in DEMO.subscription_ids() for a in ("--subscription", s)]
    return runner.invoke(
        app,
        ["scan", *subscriptions, "--out", str(out), "--log-format", "json", *args],
        obj=deps,
    )


def _comparable(finding: dict[str, Any]) -> dict[str, Any]:
    """A finding without the gap's wording (a live 403 carries Azure's own error message)."""
    if finding["status"] != "ERROR":
        return finding
    return {k: v for k, v in finding.items() if k != "message"}


@pytest.fixture(scope="module")
def demo_results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    # The demo as a live collection without --web sees it: no recorded web scan.
    out = tmp_path_factory.mktemp("demo")
    snapshot = out / "demo-without-web.json"
    write_snapshot(without_web_scan(DEMO), snapshot)
    result = CliRunner().invoke(
        app, ["scan", "--snapshot", str(snapshot), "--out", str(out), "--format", "json"]
    )
    assert result.exit_code in {0, 1}, result.output
    return _results(out)


@pytest.fixture(scope="module")
def live_scan(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Any, list[str], int, str]:
    out = tmp_path_factory.mktemp("live")
    with Emulator(DEMO, arm_page_size=5, graph_page_size=3, arg_page_size=50) as emulator:
        # Collected "at" the demo's moment, so ages (last sign-in, key age) compare alike.
        deps, factory = deps_for(emulator, clock=lambda: DEMO_NOW)
        result = _scan(deps, out)
        writes = emulator.write_attempts
        secret = emulator.environment()["AZURE_CLIENT_SECRET"]
    return out, result, factory.tokens, writes, secret


def test_live_scan_of_the_demo_tenant_matches_the_demo_scan(
    live_scan: tuple[Path, Any, list[str], int, str], demo_results: dict[str, Any]
) -> None:
    out, result, _, writes, _ = live_scan
    assert result.exit_code == 1, result.output  # the demo tenant has high-severity failures
    live = _results(out)
    assert live["scan"]["collected_at"] == DEMO.collected_at
    assert [_comparable(f) for f in live["findings"]] == [
        _comparable(f) for f in demo_results["findings"]
    ]
    assert live["summary"]["counts"] == demo_results["summary"]["counts"]
    assert writes == 0


def test_live_scan_writes_a_snapshot_that_reproduces_its_findings(
    live_scan: tuple[Path, Any, list[str], int, str], tmp_path: Path
) -> None:
    out, result, _, _, _ = live_scan
    snapshot_file = out / "snapshot.json.gz"
    assert f"Reports written to {out}/ (report.html, results.json, snapshot.json.gz)" in (
        result.output
    )
    document = json.loads(gzip.decompress(snapshot_file.read_bytes()))
    assert document["schema_version"] == 1
    assert sorted(s["subscriptionId"] for s in document["subscriptions"]) == sorted(
        DEMO.subscription_ids()
    )
    again = CliRunner().invoke(
        app, ["scan", "--snapshot", str(snapshot_file), "--out", str(tmp_path), "--format", "json"]
    )
    assert again.exit_code == 1, again.output
    assert _results(tmp_path)["findings"] == _results(out)["findings"]


def test_no_token_or_secret_in_any_output(
    live_scan: tuple[Path, Any, list[str], int, str],
) -> None:
    out, result, tokens, _, secret = live_scan
    assert tokens
    texts = {"console": result.output}
    for path in out.iterdir():
        data = path.read_bytes()
        texts[path.name] = (gzip.decompress(data) if path.suffix == ".gz" else data).decode()
    for name, text in texts.items():
        for token in tokens:
            assert token not in text, f"a token leaked into {name}"
        assert secret not in text, f"the client secret leaked into {name}"


def test_json_progress_lines(live_scan: tuple[Path, Any, list[str], int, str]) -> None:
    _, result, _, _, _ = live_scan
    events = [json.loads(line) for line in result.output.splitlines() if line.startswith('{"')]
    kinds = [e["event"] for e in events]
    # Microsoft Graph does not wait for the scope: only its events may come first.
    assert kinds.index("scope_resolved") < kinds.index("subscription_started")
    assert kinds.count("subscription_done") == len(DEMO.subscriptions)
    assert kinds[-1] == "collection_done"
    assert events[-1]["resources"] == len(DEMO.resources)


def test_forbidden_subscription_gives_errors_for_it_and_exit_3_with_strict(
    tmp_path: Path,
) -> None:
    plan = FaultPlan(rules=(FaultRule(FaultKind.FORBIDDEN, subscription=FORBIDDEN_SUB),))
    with Emulator(DEMO, plan) as emulator:
        deps, _ = deps_for(emulator)
        result = _scan(deps, tmp_path, "--strict", "--fail-on", "never")
    assert result.exit_code == 3, result.output
    results = _results(tmp_path)
    assert results["summary"]["coverage"]["complete"] is False
    mine = [f for f in results["findings"] if f["subscription_id"] == FORBIDDEN_SUB]
    others = [f for f in results["findings"] if f["subscription_id"] not in {None, FORBIDDEN_SUB}]
    assert mine and {f["status"] for f in mine} == {"ERROR"}
    assert all("access denied (HTTP 403 AuthorizationFailed)" in f["message"] for f in mine)
    assert {"PASS", "FAIL"} <= {f["status"] for f in others}
    gaps = results["collection_gaps"]
    assert {(g["scope"], g["source"]) for g in gaps} >= {(subscription_scope(FORBIDDEN_SUB), "*")}


def test_graph_forbidden_makes_identity_checks_error_never_pass(tmp_path: Path) -> None:
    plan = FaultPlan(rules=(FaultRule(FaultKind.FORBIDDEN, family="graph"),))
    with Emulator(DEMO, plan) as emulator:
        deps, _ = deps_for(emulator)
        result = _scan(deps, tmp_path, "--fail-on", "never")
    assert result.exit_code == 0, result.output
    results = _results(tmp_path)
    graph_checks = {
        c["id"]
        for c in results["checks"]
        if any(r.startswith("graph:") for r in _requires(c["id"]))
    }
    assert graph_checks
    statuses = {f["status"] for f in results["findings"] if f["check_id"] in graph_checks}
    assert statuses == {"ERROR"}


@functools.cache
def _requires(check_id: str) -> tuple[str, ...]:
    check = CATALOGUE.get(check_id)
    assert check is not None
    return check.requires


def test_doctor_all_ok(tmp_path: Path) -> None:
    with Emulator(DEMO) as emulator:
        deps, _ = deps_for(emulator)
        result = CliRunner().invoke(app, ["doctor"], obj=deps)
    assert result.exit_code == 0, result.output
    assert "MISSING" not in result.output
    assert "All " in result.output and "checks passed." in result.output
    for permission in ("Reader", "Security Reader", "Policy.Read.All", "Directory.Read.All"):
        assert permission in result.output


def test_doctor_reports_missing_graph_permission_with_the_grant_commands() -> None:
    plan = FaultPlan(
        rules=(
            FaultRule(FaultKind.FORBIDDEN, route="graph:identity/conditionalaccess/policies"),
            FaultRule(FaultKind.FORBIDDEN, route="graph:policies/*"),
            FaultRule(
                FaultKind.FORBIDDEN,
                route="arm.detail:providers/microsoft.security/*",
                subscription=FORBIDDEN_SUB,
            ),
        )
    )
    with Emulator(DEMO, plan) as emulator:
        deps, _ = deps_for(emulator)
        result = CliRunner().invoke(app, ["doctor", "--subscription", FORBIDDEN_SUB], obj=deps)
        app_id = emulator.environment()["AZURE_CLIENT_ID"]
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    missing = [line for line in lines if line.startswith("MISSING")]
    assert len(missing) == 4, result.output
    assert sum("Policy.Read.All" in line for line in missing) == 2
    assert sum("Security Reader" in line for line in missing) == 2
    assert not any(line.startswith("MISSING") and "AuditLog" in line for line in lines)
    # The identity is read from the token's claims (appid, oid) to make exact commands.
    assert (
        f"az ad app permission add --id {app_id} --api 00000003-0000-0000-c000-000000000000 "
        "--api-permissions 246dd0d5-5bd0-4def-940b-0421030a5b68=Role" in result.output
    )
    assert f"az ad app permission admin-consent --id {app_id}" in result.output
    assert re.search(
        r"az role assignment create --assignee-object-id [0-9a-f-]{36} "
        r'--assignee-principal-type ServicePrincipal --role "Security Reader" '
        rf"--scope /subscriptions/{FORBIDDEN_SUB}",
        result.output,
    )
    # Permission probes (one for the tenant's Entra diagnostic settings) and one detail read per
    # detail source on this subscription.
    assert "4 of 41 checks failed." in result.output


def test_subprocess_scan_with_environment_credentials(tmp_path: Path) -> None:
    """The real entry point: DefaultAzureCredential limited to the environment credential."""
    with Emulator(DEMO) as emulator:
        env = {
            **os.environ,
            **emulator.environment(),
            "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
            "NO_COLOR": "1",
        }
        sub = DEMO.subscription_ids()[0]
        proc = subprocess.run(
            [sys.executable, "-m", "azaudit", "scan", "--subscription", sub, "--out",
             str(tmp_path), "--log-format", "plain", "--format", "json"],
            capture_output=True, text=True, env=env, timeout=120, check=False,
        )  # fmt: skip
        families = {r.family for r in emulator.requests}
    assert proc.returncode in {0, 1}, proc.stderr
    assert "azaudit: 1 subscription(s) in scope" in proc.stderr
    assert "collected " in proc.stderr
    assert families == {"token", "arm", "arg", "graph"}
    snapshot: Snapshot = build_demo_snapshot()
    results = _results(tmp_path)
    assert {f["subscription_id"] for f in results["findings"]} <= {sub, None}
    assert snapshot.tenant_id in json.dumps(results["scan"])


def test_bad_subscription_id_is_a_usage_error() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "azaudit", "scan", "--subscription", "prod", "--out", "/tmp/x"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "azaudit: error: --subscription 'prod': expected a subscription id (a GUID such as "
        "00000000-0000-0000-0000-000000000000)"
    ]


def test_ctrl_c_during_a_scan_exits_130_with_one_line_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with Emulator(DEMO, FaultPlan(latency_ms=300)) as emulator:
        env = {
            **os.environ,
            **emulator.environment(),
            "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
            "NO_COLOR": "1",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "azaudit", "scan", "--all-subscriptions", "--out", str(out),
             "--log-format", "plain"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            # Python only turns SIGINT into KeyboardInterrupt when it is not ignored.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )  # fmt: skip
        assert proc.stderr is not None
        first = proc.stderr.readline()  # collection is under way
        proc.send_signal(signal.SIGINT)
        stdout, rest = proc.communicate(timeout=60)
    assert "subscription(s) in scope" in first
    assert proc.returncode == 130
    assert "Traceback" not in rest
    assert rest.strip().splitlines()[-1] == "azaudit: interrupted"
    assert stdout == ""
    assert not out.exists()


def test_unwritable_out_stops_a_live_scan_before_any_request(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    out = tmp_path / "file" / "report"
    with Emulator(DEMO) as emulator:
        deps, _ = deps_for(emulator)
        result = _scan(deps, out)
        requests = list(emulator.requests)
    # `main()` turns this error into one line and exit code 2 (tests/test_cli.py).
    assert isinstance(result.exception, InputError)
    assert str(result.exception) == (
        f"--out {out}: cannot create it, {tmp_path / 'file'} is not a directory"
    )
    assert requests == []


def _scan_process(emulator: Emulator, out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **emulator.environment(),
        "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
        "NO_COLOR": "1",
    }
    return subprocess.run(
        [sys.executable, "-m", "azaudit", "scan", "--out", str(out), *args],
        capture_output=True, text=True, env=env, timeout=180, check=False,
    )  # fmt: skip


def test_unknown_subscription_is_one_line_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    ghost = "dddddddd-0000-4000-8000-000000000004"
    out = tmp_path / "out"
    with Emulator(DEMO) as emulator:
        proc = _scan_process(emulator, out, "-s", DEMO.subscription_ids()[0], "-s", ghost,
                             "--log-format", "plain")  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    assert errors[0].startswith(f"azaudit: error: --subscription {ghost}: no such subscription")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not out.exists()


def test_subscription_left_out_of_resource_graph_is_an_error_and_exit_3_with_strict(
    tmp_path: Path,
) -> None:
    omitted = DEMO.subscription_ids()[0]
    with Emulator(DEMO, arg_omitted_subscriptions=(omitted,)) as emulator:
        deps, _ = deps_for(emulator)
        result = _scan(deps, tmp_path, "--strict", "--fail-on", "never")
    assert result.exit_code == 3, result.output
    results = _results(tmp_path)
    gaps = {(g["scope"], g["source"], g["error_code"]) for g in results["collection_gaps"]}
    assert (subscription_scope(omitted), "resources", "IncompleteInventory") in gaps
    mine = [f for f in results["findings"] if f["subscription_id"] == omitted]
    resource_checks = {c.id for c in CATALOGUE.checks if c.meta.target.value == "resource"}
    assert {f["status"] for f in mine if f["check_id"] in resource_checks} == {"ERROR"}


def test_every_stderr_line_is_json_including_azure_identity(tmp_path: Path) -> None:
    # Only the Microsoft Graph token is refused: azure-identity logs the failure of its chain.
    refused = FaultRule(
        FaultKind.FORBIDDEN,
        family="token",
        body_contains="graph.microsoft.com",
        message="AADSTS65001: The user or administrator has not consented to use the "
        "application.\nTrace ID: 0000\nCorrelation ID: 0000",
    )
    with Emulator(DEMO, FaultPlan(rules=(refused,))) as emulator:
        proc = _scan_process(emulator, tmp_path, "-s", DEMO.subscription_ids()[0],
                             "--log-format", "json", "--format", "json")  # fmt: skip
    assert proc.returncode in {0, 1}, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines
    records = [json.loads(line) for line in lines]  # every line parses
    assert all(isinstance(r, dict) and "event" in r for r in records)
    logged = [r for r in records if r["event"] == "log"]
    assert any(r["logger"].startswith("azure.identity") for r in logged), logged
    assert any(r["event"] == "gap" and r["source"].startswith("graph:") for r in records)


def test_an_echoed_percent_encoded_token_never_reaches_any_output(tmp_path: Path) -> None:
    echo = "The access token 'Bearer%20{token_pct}' is not valid here (raw: {token})."
    plan = FaultPlan(
        rules=(
            FaultRule(FaultKind.FORBIDDEN, route="arm.detail:config/web", message=echo),
            FaultRule(FaultKind.FORBIDDEN, route="graph:users", message=echo),
        )
    )
    with Emulator(DEMO, plan) as emulator:
        deps, factory = deps_for(emulator)
        result = _scan(deps, tmp_path, "--fail-on", "never")
    assert result.exit_code == 0, result.output
    results = _results(tmp_path)
    echoed = [g for g in results["collection_gaps"] if "is not valid here" in g["reason"]]
    assert echoed  # the message arrived, and was kept, minus the token
    assert all("[redacted]" in g["reason"] for g in echoed)
    texts = {"console": result.output}
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        texts[path.name] = (gzip.decompress(data) if path.suffix == ".gz" else data).decode()
    assert factory.tokens
    for token in factory.tokens:
        forms = {
            token,
            "".join(f"%{byte:02X}" for byte in token.encode()),
            token.split(".")[2],  # the signature alone
        }
        for name, text in texts.items():
            for form in forms:
                assert form not in text, f"a token leaked into {name}"


def test_doctor_probes_the_per_resource_reads_a_scan_makes() -> None:
    # Listing resources works; reading a web app's config/web is denied (a custom role or a
    # deny assignment): the scan would report ERROR for every web app, so doctor must not pass.
    plan = FaultPlan(rules=(FaultRule(FaultKind.FORBIDDEN, route="arm.detail:config/web"),))
    with Emulator(DEMO, plan) as emulator:
        deps, _ = deps_for(emulator)
        result = CliRunner().invoke(app, ["doctor"], obj=deps)
        reads = {r.route for r in emulator.requests if r.method == "GET"}
    assert result.exit_code == 1, result.output
    missing = [line for line in result.output.splitlines() if line.startswith("MISSING")]
    assert missing and all("read config/web of microsoft.web/sites" in m for m in missing)
    assert all("access denied (HTTP 403 AuthorizationFailed)" in m for m in missing)
    assert '--role "Reader" --scope /subscriptions/' in result.output
    assert "checks passed" not in result.output
    # Other detail sources were probed too, and passed.
    assert "arm.detail:transparentdataencryption/current" in reads
    ok = [line for line in result.output.splitlines() if line.startswith("OK")]
    assert any("read auditingSettings/default of microsoft.sql/servers" in line for line in ok)
