"""The scan pipeline end to end, in process: request in, result, files and exit code out."""

from __future__ import annotations

import gzip
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from azaudit import __version__
from azaudit.cli import app
from azaudit.collect.options import LiveOptions, LogFormat
from azaudit.demo import DEMO_NOW, build_demo_snapshot
from azaudit.demo.org import CLINICAL, DEV, PLATFORM
from azaudit.emulator import Emulator
from azaudit.errors import InputError
from azaudit.models import Status
from azaudit.phi import PhiScope
from azaudit.pipeline import (
    DemoSource,
    LiveSource,
    ScanOutcome,
    ScanRequest,
    SnapshotSource,
    allowed_regions,
    catalogue_version,
    run_scan,
)
from azaudit.render import OutputFormat
from azaudit.result import ExitCode, FailOn
from azaudit.snapshot import dump_snapshot, load_snapshot, write_snapshot
from tests.catalogue_support import builtin_catalogue
from tests.collect_support import deps_for

DEMO = build_demo_snapshot()
CLOCK = datetime(2026, 11, 2, 7, 30, tzinfo=UTC)
JSON_ONLY = (OutputFormat.JSON,)


def _scan(request: ScanRequest, deps: object = None) -> ScanOutcome:
    return run_scan(request, deps, clock=lambda: CLOCK)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> ScanOutcome:
    out = tmp_path_factory.mktemp("demo")
    return _scan(ScanRequest(DemoSource(), out=out, formats=JSON_ONLY))


def test_demo_outcome_files_exit_code_and_unconfigured_phi_scope(demo: ScanOutcome) -> None:
    (path,) = demo.files
    assert path.name == "results.json"
    assert json.loads(path.read_text())["summary"] == demo.result.summary
    assert demo.exit_code is ExitCode.FINDINGS
    assert demo.result.generated_at == "2026-11-02T07:30:00Z"
    assert demo.result.phi_scope.configured is False
    assert all(f.phi is True and f.severity is not None for f in demo.result.findings)


def test_evidence_chain_of_the_demo(demo: ScanOutcome) -> None:
    evidence = demo.result.evidence
    assert evidence is not None
    assert evidence.snapshot_sha256 == hashlib.sha256(dump_snapshot(DEMO)).hexdigest()
    assert evidence.scanning_identity == "demo tenant"
    assert evidence.tool_version == __version__
    catalogue = builtin_catalogue()
    digest = hashlib.sha256(b"".join(c.path.read_bytes() for c in catalogue.checks))
    assert evidence.catalogue_version == digest.hexdigest() == catalogue_version(catalogue)


def test_a_kept_snapshot_has_the_same_evidence_hash(demo: ScanOutcome, tmp_path: Path) -> None:
    path = tmp_path / "kept.json.gz"
    write_snapshot(DEMO, path)
    outcome = _scan(ScanRequest(SnapshotSource(path), out=tmp_path / "o", formats=JSON_ONLY))
    assert outcome.result.evidence is not None and demo.result.evidence is not None
    assert outcome.result.evidence.snapshot_sha256 == demo.result.evidence.snapshot_sha256
    # What an auditor recomputes from the kept file:
    assert (
        hashlib.sha256(gzip.decompress(path.read_bytes())).hexdigest()
        == outcome.result.evidence.snapshot_sha256
    )
    assert outcome.result.evidence.scanning_identity == "unknown"


def test_waivers_are_applied_before_the_summaries(tmp_path: Path) -> None:
    rule = (
        f"{CLINICAL.scope}/resourceGroups/rg-clinical-network-eus/providers/Microsoft.Network/"
        "networkSecurityGroups/nsg-pacs-gw-eus/securityRules/Allow-RDP-Vendor-Temp"
    )
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text(
        "waivers:\n"
        f"  - {{id: W-7, check: net_nsg_mgmt_ports_open, resource: '{rule}', justification: "
        "vendor window, approver: CISO, ticket: SEC-7, expires: 2026-11-30}\n"
        "  - {id: W-8, check: net_nsg_mgmt_ports_open, resource: '*/nothing-here', "
        "justification: gone, approver: CISO, ticket: SEC-8, expires: 2026-11-30}\n"
    )
    request = ScanRequest(
        DemoSource(),
        out=tmp_path / "o",
        formats=JSON_ONLY,
        only_checks=("net_nsg_mgmt_ports_open",),
        waivers=waivers,
    )
    result = _scan(request).result
    assert result.summary["counts"]["WAIVED"] == 1
    assert result.summary["counts"]["FAIL"] == 1  # the dev SSH rule
    assert [(w.id, w.state, w.matched) for w in result.waivers] == [
        ("W-7", "active", 1),
        ("W-8", "unmatched", 0),
    ]
    (waived,) = [f for f in result.findings if f.status is Status.WAIVED]
    assert (waived.resource_id, waived.waiver_id) == (rule, "W-7")


@pytest.mark.parametrize(
    ("phi", "code"),
    [
        # RDP open on the PHI imaging gateway escalates high -> critical: a critical gate fails.
        (PhiScope(subscriptions=(CLINICAL.subscription_id,)), ExitCode.FINDINGS),
        (PhiScope(subscriptions=(DEV.subscription_id,)), ExitCode.FINDINGS),
        # Neither open rule is in PHI scope: both stay high, below the gate.
        (PhiScope(subscriptions=(PLATFORM.subscription_id,)), ExitCode.OK),
    ],
)
def test_fail_on_judges_the_effective_severity(
    tmp_path: Path, phi: PhiScope, code: ExitCode
) -> None:
    request = ScanRequest(
        DemoSource(),
        out=tmp_path,
        formats=JSON_ONLY,
        only_checks=("net_nsg_mgmt_ports_open",),
        fail_on=FailOn.CRITICAL,
        phi=phi,
    )
    assert _scan(request).exit_code is code


def test_stale_reports_of_an_earlier_scan_are_removed_with_a_warning(tmp_path: Path) -> None:
    (tmp_path / "report.html").write_text("an earlier scan")
    (tmp_path / "snapshot.json.gz").write_bytes(b"an earlier live scan")
    (tmp_path / "README.txt").write_text("not ours")
    request = ScanRequest(
        DemoSource(), out=tmp_path, formats=JSON_ONLY, only_checks=("kv_rbac_model",)
    )
    outcome = _scan(request)
    assert outcome.warnings == (
        f"--out {tmp_path}: removed report.html, snapshot.json.gz left there by an earlier "
        "scan (not written by this one)",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.txt", "results.json"]


def test_allowed_regions_are_checked_against_the_known_list() -> None:
    assert allowed_regions(["East US 2", "centralus"]) == {"eastus2", "centralus"}
    assert "westeurope" in allowed_regions(["westeurope"])  # known, even if not in the US
    with pytest.raises(InputError) as excinfo:
        allowed_regions(["eastus", "narnia"])
    assert str(excinfo.value).startswith("--allowed-regions: unknown region 'narnia'; expected")
    with pytest.raises(InputError, match="expected a comma-separated list"):
        allowed_regions([])


def test_a_web_scan_needs_a_live_source(tmp_path: Path) -> None:
    # The demo and a kept snapshot are evaluated with the web scan they recorded.
    request = ScanRequest(DemoSource(), out=tmp_path / "o", web=True)
    with pytest.raises(InputError, match=r"^--web: a web scan runs with a live scan only"):
        _scan(request)
    assert not (tmp_path / "o").exists()


# -- live: the snapshot is evidence and is written first ----------------------------------------


def test_live_snapshot_is_kept_when_the_reports_cannot_be_written(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "results.json").mkdir(parents=True)  # a real fault the reports meet after collection
    sub = CLINICAL.subscription_id
    with Emulator(DEMO) as emulator:
        deps, _ = deps_for(emulator, clock=lambda: DEMO_NOW)
        result = CliRunner().invoke(
            app, ["scan", "-s", sub, "--out", str(out), "--log-format", "json"], obj=deps
        )
    assert isinstance(result.exception, InputError), result.output
    message = str(result.exception)
    assert message.startswith(f"--out {out}: cannot write the reports: ")
    assert message.endswith(f"(the collected snapshot is kept in {out / 'snapshot.json.gz'})")
    kept = load_snapshot(out / "snapshot.json.gz")
    assert kept.subscription_ids() == [sub]
    assert not (out / "report.html").exists()
    assert sorted(p.name for p in out.iterdir()) == ["results.json", "snapshot.json.gz"]


def test_live_evidence_names_the_identity_from_the_token_claims(tmp_path: Path) -> None:
    options = LiveOptions(subscriptions=(CLINICAL.subscription_id,))
    with Emulator(DEMO) as emulator:
        deps, factory = deps_for(emulator, clock=lambda: DEMO_NOW)
        client_id = emulator.environment()["AZURE_CLIENT_ID"]
        outcome = _scan(
            ScanRequest(LiveSource(options, LogFormat.JSON), out=tmp_path, formats=JSON_ONLY),
            deps,
        )
    evidence = outcome.result.evidence
    assert evidence is not None and evidence.scanning_identity is not None
    assert f"appid={client_id}" in evidence.scanning_identity
    assert "oid=" in evidence.scanning_identity
    assert factory.tokens and not any(t in evidence.scanning_identity for t in factory.tokens)
    written = gzip.decompress((tmp_path / "snapshot.json.gz").read_bytes())
    assert evidence.snapshot_sha256 == hashlib.sha256(written).hexdigest()
    assert [p.name for p in outcome.files] == ["results.json", "snapshot.json.gz"]


_OPTIONAL_STACKS = ("sqlalchemy", "aiohttp", "azaudit.history.store", "azaudit.deliver.mail")
"""What only history, a web crawl, live collection or mail delivery need."""

_SCAN_AND_LIST_LOADED = """
import sys
from azaudit.cli import app
try:
    app(sys.argv[1:])
except SystemExit as done:
    print("exit", done.code)
print("loaded", *[m for m in {stacks!r} if m in sys.modules])
"""


@pytest.mark.parametrize(
    ("extra", "loaded"),
    [
        ((), ""),
        (("--history", "{tmp}/history.db"), "sqlalchemy azaudit.history.store"),
    ],
    ids=["plain", "with history"],
)
def test_a_scan_loads_the_history_mail_and_http_stacks_only_when_it_uses_them(
    tmp_path: Path, extra: tuple[str, ...], loaded: str
) -> None:
    """Every scan pays for what it imports: the history store, e-mail delivery and the HTTP
    client stay out of a scan that records, mails and crawls nothing."""
    out = tmp_path / "report"
    args = ["scan", "--demo", "--out", str(out), "--format", "json"]
    args += [a.format(tmp=tmp_path) for a in extra]
    script = _SCAN_AND_LIST_LOADED.format(stacks=_OPTIONAL_STACKS)
    run = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, check=True
    )
    lines = run.stdout.splitlines()
    assert lines[-2] == f"exit {int(ExitCode.FINDINGS)}"
    assert lines[-1] == f"loaded {loaded}".strip()
    assert (out / "results.json").is_file()
