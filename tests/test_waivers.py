"""Waivers: active, expired, unmatched and invalid files; ERROR is never waived."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from azaudit.demo.org import CLINICAL, DEV
from azaudit.errors import InputError
from azaudit.models import Finding, Status
from azaudit.waivers import Waiver, apply_waivers, load_waivers
from tests.catalogue_support import builtin_catalogue
from tests.test_phi import SNAPSHOT, demo_findings

CATALOGUE = builtin_catalogue()
TODAY = dt.date(2026, 11, 2)
PACS_RULE = (
    f"{CLINICAL.scope}/resourceGroups/rg-clinical-network-eus/providers/Microsoft.Network/"
    "networkSecurityGroups/nsg-pacs-gw-eus/securityRules/Allow-RDP-Vendor-Temp"
)
DEV_SSH = (
    f"{DEV.scope}/resourceGroups/rg-dev-network-eus/providers/Microsoft.Network/"
    "networkSecurityGroups/nsg-dev-vms-eus/securityRules/AllowSSH"
)
DEV_APP = (
    f"{DEV.scope}/resourceGroups/rg-dev-analytics-eus/providers/Microsoft.Web/sites/"
    "app-nw-dev-etl-api"
)

VALID = f"""\
waivers:
  - id: W-1
    check: net_nsg_mgmt_ports_open
    resource: {PACS_RULE}
    justification: PACS vendor maintenance window, source restricted by the vendor VPN
    approver: CISO
    ticket: SEC-101
    expires: 2026-12-31
  - id: W-2
    check: net_nsg_mgmt_ports_open
    resource: "*/nsg-dev-vms-eus/securityRules/*"
    justification: sandbox
    approver: CISO
    ticket: SEC-102
    expires: 2026-10-31
  - id: W-3
    check: eit_storage_https_only
    resource: /subscriptions/00000000-0000-0000-0000-000000000000/*
    justification: decommissioned
    approver: CISO
    ticket: SEC-103
    expires: 2027-01-31
  - id: W-4
    check: eit_app_tls12
    resource: {DEV_APP}
    justification: legacy client
    approver: CISO
    ticket: SEC-104
    expires: 2027-01-31
  - id: W-5
    check: ear_disk_cmk
    tag: environment=production
    justification: platform-managed keys accepted for production disks
    approver: CISO
    ticket: SEC-105
    expires: "2027-06-30"
"""


def _resolve(check_id: str) -> str | None:
    check = CATALOGUE.get(check_id)
    return check.id if check is not None else None


def _load(tmp_path: Path, text: str) -> tuple[Waiver, ...]:
    path = tmp_path / "waivers.yaml"
    path.write_text(text)
    return load_waivers(path, _resolve)


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    return list(demo_findings())


def test_active_expired_unmatched_and_error(tmp_path: Path, findings: list[Finding]) -> None:
    waivers = _load(tmp_path, VALID)
    outcome = apply_waivers(findings, waivers, SNAPSHOT, TODAY)
    by_key = {(f.check_id, f.resource_id): f for f in outcome.findings}
    pacs = by_key[("net_nsg_mgmt_ports_open", PACS_RULE)]
    assert (pacs.status, pacs.waiver_id) == (Status.WAIVED, "W-1")
    ssh = by_key[("net_nsg_mgmt_ports_open", DEV_SSH)]
    assert (ssh.status, ssh.waiver_id) == (Status.FAIL, None)  # W-2 expired yesterday
    app = by_key[("eit_app_tls12", DEV_APP)]
    assert (app.status, app.waiver_id) == (Status.ERROR, None)  # unknown is never accepted
    states = {w.id: (w.state, w.matched, w.errors) for w in outcome.waivers}
    assert states["W-1"] == ("active", 1, 0)
    assert states["W-2"] == ("expired", 0, 0)
    assert states["W-3"] == ("unmatched", 0, 0)
    assert states["W-4"] == ("active", 0, 1)
    # Tag selector: production disks without CMK (clinical, portal, platform) are waived.
    cmk = [f for f in outcome.findings if f.check_id == "ear_disk_cmk" and f.waiver_id == "W-5"]
    assert cmk and all(f.status is Status.WAIVED for f in cmk)
    assert states["W-5"] == ("active", len(cmk), 0)
    dev_cmk = [
        f
        for f in outcome.findings
        if f.check_id == "ear_disk_cmk" and f.subscription_id == DEV.subscription_id
    ]
    assert dev_cmk and all(f.status is not Status.WAIVED for f in dev_cmk)
    waived = sum(1 for f in outcome.findings if f.status is Status.WAIVED)
    assert waived == 1 + len(cmk)
    # Nothing else changed.
    assert len(outcome.findings) == len(findings)
    assert sum(1 for f in findings if f.status is Status.FAIL) == waived + sum(
        1 for f in outcome.findings if f.status is Status.FAIL
    )


def test_expiry_day_is_inclusive(tmp_path: Path, findings: list[Finding]) -> None:
    waivers = _load(tmp_path, VALID)
    on_the_day = apply_waivers(findings, waivers, SNAPSHOT, dt.date(2026, 10, 31))
    assert {w.id: w.state for w in on_the_day.waivers}["W-2"] == "active"


def test_the_check_is_recorded_by_its_canonical_id(tmp_path: Path) -> None:
    path = tmp_path / "waivers.yaml"
    path.write_text(FIRST.replace("net_nsg_mgmt_ports_open", "old_rdp_check"))
    (waiver,) = load_waivers(path, {"old_rdp_check": "net_nsg_mgmt_ports_open"}.get)
    assert waiver.check_id == "net_nsg_mgmt_ports_open"
    assert waiver.expires == dt.date(2026, 12, 31)


FIRST = VALID.split("  - id: W-2")[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            FIRST.replace("    ticket: SEC-101\n", ""),
            "waivers[0].ticket: expected a non-empty text",
        ),
        (
            FIRST.replace("2026-12-31", "next year"),
            "waivers[0].expires: expected a date YYYY-MM-DD",
        ),
        (FIRST.replace("2026-12-31", "2026-02-30"), "waivers[0].expires: expected a date"),
        (
            FIRST.replace("check: net_nsg_mgmt_ports_open", "check: no_such_check"),
            "waivers[0].check: unknown check id 'no_such_check'",
        ),
        (
            FIRST.replace("    approver:", "    approved_by: x\n    approver:"),
            "waivers[0].approved_by: unknown field",
        ),
        (FIRST.replace(f"    resource: {PACS_RULE}\n", ""), "waivers[0]: expected a selector"),
        (
            FIRST.replace(f"    resource: {PACS_RULE}\n", "    tag: environment\n"),
            "waivers[0].tag: expected KEY=VALUE",
        ),
        (FIRST + FIRST.removeprefix("waivers:\n"), "waivers[1].id: 'W-1' is used twice"),
        ("- id: W-1\n", "top level: expected a mapping with one key 'waivers'"),
        ("waivers: [\n", "invalid YAML at line 2"),
    ],
)
def test_invalid_file_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(InputError) as excinfo:
        _load(tmp_path, text)
    line = str(excinfo.value)
    assert "\n" not in line
    assert line.startswith(f"--waivers {tmp_path / 'waivers.yaml'}: ")
    assert message in line
    assert "Traceback" not in line and "yaml." not in line


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_waivers(tmp_path / "absent.yaml", _resolve)
