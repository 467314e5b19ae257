"""The break-glass scan setting: file, environment and option, validation, and a real demo scan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from azaudit.cli import app
from azaudit.config import merge, to_request
from azaudit.demo.identity import USERS
from azaudit.errors import InputError

BG = "9f4b2c1e-6d3a-4e8b-a7c5-2b1d0e9f8a76"


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("AZAUDIT_")}


def test_the_setting_comes_from_file_environment_and_option(tmp_path: Path) -> None:
    config = tmp_path / "azaudit.toml"
    config.write_text(f'[scan]\ndemo = true\nbreak_glass_accounts = ["{BG}", "bg2@contoso.com"]\n')
    from_file = to_request(merge({}, {}, config, tmp_path))
    assert from_file.break_glass_accounts == (BG, "bg2@contoso.com")
    env = {"AZAUDIT_BREAK_GLASS_ACCOUNTS": f"{BG}, bg3@contoso.com"}
    from_env = to_request(merge({}, env, config, tmp_path))
    assert from_env.break_glass_accounts == (BG, "bg3@contoso.com")
    option = {"scan.break_glass_accounts": ("bg4@contoso.com",)}
    assert to_request(merge(option, env, config, tmp_path)).break_glass_accounts == (
        "bg4@contoso.com",
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    assert to_request(merge({"scan.demo": True}, {}, None, elsewhere)).break_glass_accounts == ()


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("file", r"azaudit.toml: scan.break_glass_accounts: expected object ids .* got 'admin'"),
        ("env", r"^AZAUDIT_BREAK_GLASS_ACCOUNTS: scan.break_glass_accounts: .* got 'admin'"),
        ("option", r"^--break-glass-account: scan.break_glass_accounts: .* got 'admin'"),
    ],
)
def test_an_invalid_account_is_one_line_naming_where_it_came_from(
    tmp_path: Path, where: str, message: str
) -> None:
    config = tmp_path / "azaudit.toml"
    config.write_text(
        '[scan]\ndemo = true\nbreak_glass_accounts = ["admin"]\n' if where == "file" else ""
    )
    env = {"AZAUDIT_BREAK_GLASS_ACCOUNTS": "admin"} if where == "env" else {}
    options = {"scan.break_glass_accounts": ("admin",)} if where == "option" else {}
    with pytest.raises(InputError, match=message):
        to_request(merge({"scan.demo": True, **options}, env, config, tmp_path))


def test_a_non_list_in_the_file_is_rejected(tmp_path: Path) -> None:
    config = tmp_path / "azaudit.toml"
    config.write_text(f'[scan]\nbreak_glass_accounts = "{BG}"\n')
    with pytest.raises(InputError, match="break_glass_accounts: expected a list of strings"):
        merge({}, {}, config, tmp_path)


def test_config_show_lists_the_accounts_and_their_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZAUDIT_BREAK_GLASS_ACCOUNTS", BG)
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    line = f'scan.break_glass_accounts = ["{BG}"]  # environment AZAUDIT_BREAK_GLASS_ACCOUNTS'
    assert line in result.output.splitlines()


def _scan(tmp_path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "azaudit", "scan", "--demo", "--format", "json",
         "--fail-on", "never", "--out", "r", *extra],
        capture_output=True, text=True, cwd=tmp_path, env=_clean_env(), timeout=300, check=False,
    )  # fmt: skip


def test_a_bad_option_stops_the_scan_with_exit_2_and_writes_nothing(tmp_path: Path) -> None:
    proc = _scan(tmp_path, "--break-glass-account", "not an id")
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "--break-glass-account" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_declared_break_glass_accounts_change_the_demo_verdicts(tmp_path: Path) -> None:
    """The demo's MFA policies exclude its two break-glass admins: declared, the policies pass."""
    accounts = [u for u in USERS if u.key.startswith("bg-admin")]
    args = ["--break-glass-account", accounts[0].id, "--break-glass-account", accounts[1].upn]
    proc = _scan(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    findings = json.loads((tmp_path / "r" / "results.json").read_text())["findings"]
    mfa = [f["status"] for f in findings if f["check_id"] == "idn_mfa_all_users"]
    assert mfa == ["PASS"]
    standing = [
        f["status"]
        for f in findings
        if f["check_id"] == "idn_standing_privilege" and f["observed"] == accounts[0].id
    ]
    assert standing == ["PASS"]
