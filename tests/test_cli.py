"""The command line end to end: demo scan, reports, exit codes, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from html import unescape
from pathlib import Path
from typing import Any

import pytest

from azaudit.demo import build_demo_snapshot
from azaudit.models import CollectionGap
from azaudit.snapshot import Snapshot, write_snapshot


def azaudit(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # Should a live scan ever start by mistake, it finds no credential and no endpoint beyond
    # 127.0.0.1 (never the managed-identity endpoint).
    env = {
        **os.environ,
        "COLUMNS": "200",
        "NO_COLOR": "1",
        "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential",
        "AZAUDIT_ARM_ENDPOINT": "https://127.0.0.1:9",
        "AZAUDIT_GRAPH_ENDPOINT": "https://127.0.0.1:9",
        "AZAUDIT_AUTHORITY_HOST": "https://127.0.0.1:9",
    }
    for name in ("AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_TENANT_ID"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "azaudit", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def demo_scan(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("demo") / "report"
    proc = azaudit("scan", "--demo", "--out", str(out))
    return out, proc


def _results(out: Path) -> dict[str, Any]:
    return json.loads((out / "results.json").read_text())  # type: ignore[no-any-return]


def test_demo_scan_writes_both_reports_and_exits_1_on_high_findings(
    demo_scan: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, proc = demo_scan
    assert proc.returncode == 1, proc.stderr
    assert (out / "report.html").stat().st_size > 10_000
    results = _results(out)
    assert results["schema_version"] == 2
    assert results["summary"]["counts"]["FAIL"] > 0
    assert "Reports written to" in proc.stdout
    assert proc.stderr == ""


def test_known_failing_resource_appears_with_citation_and_remediation(
    demo_scan: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = demo_scan
    results = _results(out)
    failing = [
        f
        for f in results["findings"]
        if f["check_id"] == "eit_storage_https_only" and f["status"] == "FAIL"
    ]
    assert failing, "the demo tenant has a storage account that allows plain HTTP"
    finding = failing[0]
    assert finding["property_path"] == "properties.supportsHttpsTrafficOnly"
    assert finding["observed"] is False
    check = next(c for c in results["checks"] if c["id"] == "eit_storage_https_only")
    assert check["hipaa"][0]["citation"] == "164.312(e)(1)"
    html = (out / "report.html").read_text()
    assert finding["resource_id"] in html
    assert "164.312(e)(1)" in html
    assert "--https-only true" in html
    assert "404c3081-a854-4457-ae30-26a93ef643f9" in html


def test_report_names_the_baa_list_source_and_version(
    demo_scan: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, _ = demo_scan
    baa = _results(out)["scan"]["baa_list"]
    assert baa["version"].startswith("2026-02")
    assert baa["verified"] is False
    html = (out / "report.html").read_text()
    # The report escapes text (quotes become character references); compare the text itself.
    assert baa["version"] in unescape(html)


def test_snapshot_scan_reproduces_the_demo_findings(tmp_path: Path) -> None:
    snap_file = tmp_path / "demo.json.gz"
    write_snapshot(build_demo_snapshot(), snap_file)
    a = azaudit("scan", "--snapshot", str(snap_file), "--out", str(tmp_path / "a"))
    b = azaudit("scan", "--demo", "--out", str(tmp_path / "b"))
    assert a.returncode == b.returncode
    assert _results(tmp_path / "a")["findings"] == _results(tmp_path / "b")["findings"]


def test_fail_on_threshold_and_never(tmp_path: Path) -> None:
    proc = azaudit(
        "scan", "--demo", "--fail-on", "never", "--format", "json", "--out", str(tmp_path)
    )
    assert proc.returncode == 0
    assert not (tmp_path / "report.html").exists()
    assert (tmp_path / "results.json").exists()


def _gapped_snapshot(tmp_path: Path) -> Path:
    demo = build_demo_snapshot()
    first = demo.subscription_ids()[0]
    gapped = Snapshot(
        collected_at=demo.collected_at,
        tool_version=demo.tool_version,
        cloud=demo.cloud,
        tenant=demo.tenant,
        subscriptions=demo.subscriptions,
        resources=tuple(r for r in demo.resources if first.lower() not in str(r["id"]).lower()),
        details=demo.details,
        graph=demo.graph,
        gaps=(
            *demo.gaps,
            CollectionGap(f"/subscriptions/{first}", "resources", "403 AuthorizationFailed", 403),
        ),
    )
    path = tmp_path / "gapped.json"
    write_snapshot(gapped, path)
    return path


def test_strict_exits_3_on_incomplete_coverage(tmp_path: Path) -> None:
    path = _gapped_snapshot(tmp_path)
    strict = azaudit("scan", "--snapshot", str(path), "--strict", "--out", str(tmp_path / "s"))
    assert strict.returncode == 3, strict.stdout + strict.stderr
    lenient = azaudit(
        "scan", "--snapshot", str(path), "--fail-on", "never", "--out", str(tmp_path / "l")
    )
    assert lenient.returncode == 0
    results = _results(tmp_path / "l")
    assert results["summary"]["coverage"]["complete"] is False
    errors = [f for f in results["findings"] if f["status"] == "ERROR"]
    assert any("403 AuthorizationFailed" in f["message"] for f in errors)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["scan"], "choose exactly one of --demo, --snapshot FILE"),
        (["scan", "--demo", "--snapshot", "x.json"], "choose exactly one of"),
        (["scan", "--demo", "--fail-on", "urgent"], "Invalid value for '--fail-on'"),
        (["scan", "--demo", "--bogus"], "No such option: --bogus"),
        (
            ["scan", "--demo", "--check", "no_such_check"],
            "--check: unknown check id(s) 'no_such_check'",
        ),
        (
            ["scan", "--demo", "--allowed-regions", ","],
            "--allowed-regions: expected a comma-separated",
        ),
        (["checks", "show", "no_such_check"], "unknown check id 'no_such_check'"),
        (
            [
                "scan",
                "--all-subscriptions",
                "--subscription",
                "0" * 8 + "-0000-0000-0000-" + "0" * 12,
            ],
            "choose exactly one of --subscription, --all-subscriptions or --management-group "
            "(got --subscription, --all-subscriptions)",
        ),
        (
            ["scan", "--management-group", "mg", "-s", "0" * 8 + "-0000-0000-0000-" + "0" * 12],
            "(got --subscription, --management-group)",
        ),
        (["scan", "--management-group", ""], "--management-group '': expected a management group"),
        (["checks", "list", "--family", "nope"], "--family: unknown family 'nope'"),
        (
            ["scan", "--demo", "--allowed-regions", "eastus,narnia"],
            "--allowed-regions: unknown region 'narnia'; expected ARM location names",
        ),
        (["scan", "--demo", "--phi-tag", "phi"], "--phi-tag 'phi': expected KEY=VALUE"),
        (
            ["scan", "--demo", "--phi-subscription", "prod"],
            "--phi-subscription 'prod': expected a subscription id",
        ),
        (
            ["scan", "--demo", "--phi-resource-group", "a/b/c"],
            "--phi-resource-group 'a/b/c': expected a resource group name or",
        ),
    ],
)
def test_bad_usage_is_one_line_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    out = tmp_path / "out"
    proc = azaudit(*args, "--out", str(out)) if args[0] == "scan" else azaudit(*args)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("azaudit: error: ")
    assert message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"schema_version": 1, "tool": {"version": "x"}', "invalid JSON at line 1"),
        (b'{"schema_version": 7}', "schema_version: unsupported value 7; expected 1"),
        (b"\x1f\x8b\x08\x00garbage", "truncated or corrupt gzip data"),
        (b"[]", "top level: expected a JSON object"),
    ],
)
def test_bad_snapshot_is_one_line_exit_2_and_nothing_written(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    out = tmp_path / "out"
    proc = azaudit("scan", "--snapshot", str(path), "--out", str(out))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"azaudit: error: {path}")
    assert message in line
    assert not out.exists()


def test_bad_baa_list_is_one_line_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "baa.json"
    path.write_text(
        json.dumps({"source": "Legal", "version": "2026-10", "services": [{"id": "x"}]})
    )
    proc = azaudit("scan", "--demo", "--baa-list", str(path), "--out", str(tmp_path / "o"))
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert "services[0].in_scope: expected true, false or null" in line


def test_baa_list_override_changes_verdicts_and_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "baa.json"
    path.write_text(
        json.dumps(
            {
                "source": "Northwind legal review",
                "version": "2026-10-01",
                "services": [{"id": "storage_blobs", "name": "Storage", "in_scope": False}],
            }
        )
    )
    out = tmp_path / "o"
    proc = azaudit(
        "scan",
        "--demo",
        "--baa-list",
        str(path),
        "--check",
        "scope_baa_in_scope_service",
        "--out",
        str(out),
    )
    assert proc.returncode in (0, 1), proc.stderr
    results = _results(out)
    assert results["scan"]["baa_list"]["source"] == "Northwind legal review"
    storage = [
        f
        for f in results["findings"]
        if f["resource_type"].lower() == "microsoft.storage/storageaccounts"
    ]
    assert storage
    assert all(f["status"] == "FAIL" for f in storage)
    others = [f for f in results["findings"] if f not in storage]
    assert all(f["status"] == "MANUAL" for f in others)
    assert "Northwind legal review" in (out / "report.html").read_text()


def test_out_must_be_a_directory(tmp_path: Path) -> None:
    target = tmp_path / "file"
    target.write_text("x")
    proc = azaudit("scan", "--demo", "--out", str(target))
    assert proc.returncode == 2
    assert "exists and is not a directory" in proc.stderr


def test_checks_list_filters_and_show(tmp_path: Path) -> None:
    listed = azaudit("checks", "list", "--citation", "164.312(e)")
    assert listed.returncode == 0
    assert "eit_storage_https_only" in listed.stdout
    assert "scope_baa_in_scope_service" not in listed.stdout
    high = azaudit("checks", "list", "--severity", "high", "--family", "encryption_in_transit")
    assert "eit_app_tls12" in high.stdout
    assert "residency_resource_location_us" not in high.stdout
    shown = azaudit("checks", "show", "eit_storage_https_only")
    assert shown.returncode == 0
    assert "45 CFR 164.312(e)(1) Transmission security" in shown.stdout
    assert "az storage account update" in shown.stdout


def test_checks_test_runs_every_inline_case() -> None:
    proc = azaudit("checks", "test")
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")


def test_version() -> None:
    proc = azaudit("--version")
    assert proc.returncode == 0
    assert proc.stdout.startswith("azaudit ")


CUSTOM_CHECK = """\
id: org_storage_tagged
title: Storage accounts carry a data-classification tag
severity: low
hipaa: ["164.308(a)(1)(ii)(A)"]
rationale: Without a classification tag nobody knows which accounts hold PHI.
remediation:
  summary: Tag the account.
  cli: az storage account update -g <rg> -n <account> --tags data-classification=phi
target: {kind: resource, types: [Microsoft.Storage/storageAccounts]}
rule:
  expression: "tags.\\"data-classification\\" != null"
  path: tags."data-classification"
  expected: a data-classification tag
cases:
  - {name: tagged, expect: PASS, resource: {tags: {data-classification: phi}}}
  - {name: untagged, expect: FAIL, resource: {tags: {}}}
"""


def _checks_dir(tmp_path: Path, text: str | bytes) -> list[str]:
    directory = tmp_path / "our-checks"
    directory.mkdir()
    path = directory / "org_storage_tagged.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return ["--checks-dir", str(directory)]


def _baa_list(tmp_path: Path, services: list[dict[str, Any]]) -> list[str]:
    path = tmp_path / "baa.json"
    path.write_text(json.dumps({"source": "Legal", "version": "2026-10", "services": services}))
    return ["--baa-list", str(path)]


def _file_in_the_way(tmp_path: Path) -> list[str]:
    (tmp_path / "file").write_text("x")
    return ["--out", str(tmp_path / "file" / "report")]


def _waivers(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return ["--waivers", str(path)]


def _config(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "azaudit.toml"
    path.write_text(text)
    return ["--config", str(path)]


def _directory_in_a_report_place(tmp_path: Path) -> list[str]:
    (tmp_path / "out" / "results.json").mkdir(parents=True)
    return []


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (
            lambda d: _checks_dir(d, CUSTOM_CHECK.encode() + b"\xff\xfe"),
            "org_storage_tagged.yaml: not UTF-8 text, expected a YAML check file",
        ),
        (
            lambda d: _checks_dir(d, CUSTOM_CHECK.replace("rule:", "apply_if: 'false'\nrule:")),
            "org_storage_tagged.yaml: apply_if: unknown field; expected one of aliases, "
            "applies_if,",
        ),
        (
            lambda d: _checks_dir(d, CUSTOM_CHECK.replace("types:", "type:")),
            "org_storage_tagged.yaml: target.type: unknown field; expected one of kind, types",
        ),
        (
            lambda d: _checks_dir(
                d, CUSTOM_CHECK.replace("expect: FAIL,", "expect: FAIL, resurce: {},")
            ),
            "org_storage_tagged.yaml: cases[1].resurce: unknown field",
        ),
        (
            lambda d: _checks_dir(
                d, CUSTOM_CHECK.replace('tags."data-classification"', "tags.data-classification")
            ),
            "rule.path: invalid JMESPath 'tags.data-classification' at character 10: "
            "Unknown token '-'",
        ),
        (
            lambda d: _baa_list(d, [{"id": "marketplace", "in_scope": False}]),
            "services[0].id: unknown service 'marketplace'; expected an id of the shipped list",
        ),
        (
            lambda d: _baa_list(
                d,
                [
                    {"id": "storage_blobs", "in_scope": True},
                    {"id": "storage_blobs", "in_scope": False},
                ],
            ),
            "services[1].id: service 'storage_blobs' is listed twice",
        ),
        (lambda d: ["--baa-list", str(d)], "is a directory, expected a JSON file"),
        (_file_in_the_way, "report: cannot create it, "),
        (
            lambda d: _waivers(d, "waivers:\n  - id: W-1\n    check: kv_rbac_model\n"),
            "waivers.yaml: waivers[0].justification: expected a non-empty text",
        ),
        (lambda d: _waivers(d, "waivers: [\n"), "waivers.yaml: invalid YAML at line 2"),
        (
            lambda d: _config(d, "[scan]\nstrict = 'yes'\n"),
            "azaudit.toml: scan.strict: expected true or false, got 'yes'",
        ),
        (_directory_in_a_report_place, "out: cannot write the reports: "),
    ],
)
def test_bad_input_files_are_one_line_exit_2_and_nothing_written(
    tmp_path: Path, setup: Callable[[Path], list[str]], message: str
) -> None:
    args = setup(tmp_path)
    out = ["--out", str(tmp_path / "out")] if "--out" not in args else []
    proc = azaudit("scan", "--demo", *args, *out)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("azaudit: error: ")
    assert message in line
    assert proc.stdout == ""
    assert not (tmp_path / "out" / "report.html").exists()
    assert not list(tmp_path.rglob("*.tmp"))


def test_own_checks_are_validated_and_used(tmp_path: Path) -> None:
    extra = _checks_dir(tmp_path, CUSTOM_CHECK)
    tested = azaudit("checks", "test", *extra)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    out = tmp_path / "out"
    proc = azaudit("scan", "--demo", *extra, "--check", "org_storage_tagged", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    results = _results(out)
    assert [c["id"] for c in results["checks"]] == ["org_storage_tagged"]
    assert results["checks"][0]["origin"] == extra[1]
    assert {f["status"] for f in results["findings"]} == {"PASS"}


def test_checks_list_accepts_the_citation_label_and_rejects_unknown_paragraphs() -> None:
    bare = azaudit("checks", "list", "--citation", "164.312(e)")
    label = azaudit("checks", "list", "--citation", "45 CFR 164.312(e)")
    assert label.returncode == 0
    assert label.stdout == bare.stdout
    unknown = azaudit("checks", "list", "--citation", "164.999")
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines() == [
        "azaudit: error: --citation: no paragraph of the citation table starts with '164.999'; "
        "expected e.g. 164.312(e) (see checks/citations.yaml)"
    ]


def test_checks_show_prints_the_rule_as_json() -> None:
    shown = azaudit("checks", "show", "eit_app_tls12")
    assert shown.returncode == 0
    (rule,) = [line for line in shown.stdout.splitlines() if line.startswith("  rule:")]
    name, params = rule.split(None, 2)[1:]
    assert name == "min_tls_version"
    assert json.loads(params)["minimum"] == "1.2"


def test_scan_help_lists_every_exit_code() -> None:
    proc = azaudit("scan", "--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for code in ("0 no failing finding", "1 failing findings", "2 usage or input error",
                 "3 incomplete coverage", "130 interrupted"):  # fmt: skip
        assert code in text, code


def test_console_says_when_no_phi_scope_is_configured(
    demo_scan: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    _, proc = demo_scan
    assert (
        "PHI scope: NOT CONFIGURED - every finding is treated as PHI (fail closed)" in proc.stdout
    )


def test_phi_scope_and_waivers_from_the_command_line(tmp_path: Path) -> None:
    clinical = "6e3b9f02-5d71-4a8c-9c14-0b7e2a6d8c52"
    waivers = _waivers(
        tmp_path,
        "waivers:\n"
        "  - {id: W-1, check: net_nsg_mgmt_ports_open, resource: '*/nsg-pacs-gw-eus/*', "
        "justification: vendor, approver: CISO, ticket: SEC-1, expires: 2999-01-01}\n"
        "  - {id: W-2, check: net_nsg_mgmt_ports_open, resource: '*/nsg-dev-vms-eus/*', "
        "justification: sandbox, approver: CISO, ticket: SEC-2, expires: 2000-01-01}\n"
        "  - {id: W-3, check: net_nsg_mgmt_ports_open, resource: '*/no-such-nsg/*', "
        "justification: gone, approver: CISO, ticket: SEC-3, expires: 2999-01-01}\n",
    )
    out = tmp_path / "out"
    proc = azaudit(
        "scan", "--demo", "--check", "net_nsg_mgmt_ports_open", "--phi-subscription", clinical,
        *waivers, "--format", "json", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr  # the dev SSH rule (expired waiver) is high
    lines = proc.stdout.splitlines()
    assert any(line.startswith("PHI scope: ") and "outside: " in line for line in lines)
    assert "Waivers: 1 active (1 finding(s) WAIVED), 1 expired, 1 matched nothing" in lines
    summary = _results(out)["summary"]
    counts = summary["counts"]
    assert (counts["FAIL"], counts["WAIVED"]) == (1, 1)
    phi = summary["phi"]
    assert sum(phi["in_scope"]["failing_by_severity"].values()) == 0
    assert sum(phi["out_of_scope"]["failing_by_severity"].values()) == 1


def test_stale_reports_are_replaced_with_one_warning(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("report of an earlier scan")
    proc = azaudit("scan", "--demo", "--check", "kv_rbac_model", "--format", "json",
                   "--fail-on", "never", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        f"azaudit: warning: --out {out}: removed report.html left there by an earlier scan "
        "(not written by this one)"
    ]
    assert sorted(p.name for p in out.iterdir()) == ["results.json"]
