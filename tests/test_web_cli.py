"""`azaudit web-scan`: reports, exit codes and input errors, against local HTTPS sites."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from azaudit.cli_web import web_scan
from azaudit.errors import InputError
from azaudit.snapshot import load_snapshot
from tests.test_web_scan import site_routes, web_findings
from tests.web_support import Sites, loopback_only, serve_sites

app = typer.Typer()
app.command("web-scan")(web_scan)
app.command("unused")(lambda: None)  # a second command keeps `web-scan` a named subcommand
HOSTS = ("clinic.example.test", "mentions.example.test", "broken.example.test")


@pytest.fixture(scope="module")
def sites() -> Iterator[Sites]:
    routes = site_routes()
    with serve_sites({h: routes[h] for h in HOSTS}) as running:
        yield running


def run(sites: Sites, tmp_path: Path, *args: str) -> tuple[int, Path]:
    ca = tmp_path / "ca.pem"
    sites.ca.cert_pem.write_to_path(str(ca))
    out = tmp_path / "out"
    resolve = [f"--resolve={h}:443:127.0.0.1:{p}" for h, p in sites.ports.items()]
    with loopback_only() as refused:
        result = CliRunner().invoke(
            app, ["web-scan", *args, "--out", str(out), "--ca-file", str(ca), *resolve]
        )
    assert refused == []
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, out


def test_failing_site_writes_reports_and_exits_1(sites: Sites, tmp_path: Path) -> None:
    code, out = run(sites, tmp_path, "https://clinic.example.test/")
    assert code == 1
    assert sorted(p.name for p in out.iterdir()) == [
        "report.html",
        "results.json",
        "snapshot.json.gz",
    ]
    results = json.loads((out / "results.json").read_text())
    failing = {
        (f["check_id"], f["resource_name"]) for f in results["findings"] if f["status"] == "FAIL"
    }
    assert failing == {("web_tracker_no_baa", "clinic.example.test")}
    snapshot = json.loads(gzip.decompress((out / "snapshot.json.gz").read_bytes()))
    sites_doc = snapshot["details"]["/"]["web:scan"]["sites"]
    assert [s["url"] for s in sites_doc] == ["https://clinic.example.test/"]
    assert "clinic.example.test" in (out / "report.html").read_text()
    # The kept snapshot (schema-validated on load) re-evaluates to the same findings.
    again = web_findings(load_snapshot(out / "snapshot.json.gz"))
    assert sorted((f.check_id, f.status.value, f.resource_name) for f in again) == sorted(
        (f["check_id"], f["status"], f["resource_name"]) for f in results["findings"]
    )


def test_sites_count_as_phi_so_a_high_tracker_finding_gates_as_critical(
    sites: Sites, tmp_path: Path
) -> None:
    # A web scan has no PHI scope: as in every scan without one, everything is PHI and the
    # high tracker finding is escalated one step, so `--fail-on critical` still fails.
    code, out = run(sites, tmp_path, "https://clinic.example.test/", "--fail-on", "critical")
    assert code == 1
    results = json.loads((out / "results.json").read_text())
    failing = [f for f in results["findings"] if f["status"] == "FAIL"]
    assert failing
    assert {(f["severity"], f["phi"]) for f in failing} == {("critical", True)}
    assert results["phi_scope"]["configured"] is False


def test_fail_on_never_exits_0_with_failing_findings(sites: Sites, tmp_path: Path) -> None:
    code, out = run(sites, tmp_path, "https://clinic.example.test/", "--fail-on", "never")
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert any(f["status"] == "FAIL" for f in results["findings"])


def test_the_result_records_its_evidence_chain(sites: Sites, tmp_path: Path) -> None:
    code, out = run(sites, tmp_path, "https://clinic.example.test/")
    assert code == 1
    results = json.loads((out / "results.json").read_text())
    kept = gzip.decompress((out / "snapshot.json.gz").read_bytes())
    evidence = results["evidence"]
    assert evidence["snapshot_sha256"] == hashlib.sha256(kept).hexdigest()
    assert evidence["scanning_identity"].startswith("none (public websites only")
    # Only the web checks were in force: nothing about an Azure tenant that was not scanned.
    assert {c["family"] for c in results["checks"]} == {"web"}


def test_clean_site_exits_0(sites: Sites, tmp_path: Path) -> None:
    code, _ = run(sites, tmp_path, "https://mentions.example.test/", "--format", "json")
    assert code == 0


def test_strict_exits_3_when_a_site_was_not_scanned(sites: Sites, tmp_path: Path) -> None:
    code, out = run(
        sites,
        tmp_path,
        "https://mentions.example.test/",
        "https://broken.example.test/",
        "--strict",
    )
    assert code == 3
    results = json.loads((out / "results.json").read_text())
    errors = {f["resource_name"] for f in results["findings"] if f["status"] == "ERROR"}
    assert errors == {"broken.example.test"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ftp://clinic.example.test/"], "URL 'ftp://clinic.example.test/': expected an http"),
        (
            ["https://clinic.example.test/", "--resolve", "clinic:x:1.2.3.4"],
            "--resolve 'clinic:x:1.2.3.4': ports must be numbers",
        ),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    sites: Sites, tmp_path: Path, args: list[str], message: str
) -> None:
    with pytest.raises(InputError, match="^" + message.replace("?", r"\?")):
        run(sites, tmp_path, *args)
    assert not (tmp_path / "out").exists()
