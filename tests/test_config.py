"""Config file, environment and options: precedence, origins, validation and `config show`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from azaudit.cli import app
from azaudit.config import SETTINGS, find_config, merge, to_request
from azaudit.errors import InputError
from azaudit.pipeline import DemoSource, LiveSource, SnapshotSource
from azaudit.render import OutputFormat
from azaudit.result import FailOn

SUB = "6e3b9f02-5d71-4a8c-9c14-0b7e2a6d8c52"

CONFIG = f"""\
[scan]
demo = true
out = "hipaa-report"
formats = ["json"]
fail_on = "critical"
strict = true
waivers = "waivers.yaml"

[phi]
subscriptions = ["{SUB}"]
tags = ["data-classification=phi"]
"""


def _write(directory: Path, text: str, name: str = "azaudit.toml") -> Path:
    path = directory / name
    path.write_text(text)
    return path


def test_option_beats_environment_beats_file_beats_default(tmp_path: Path) -> None:
    path = _write(tmp_path, CONFIG)
    env = {"AZAUDIT_FAIL_ON": "medium", "AZAUDIT_OUT": "from-env", "AZAUDIT_STRICT": "false"}
    effective = merge({"scan.out": Path("from-option")}, env, None, tmp_path)
    values, origins = effective.values, effective.origins
    assert (values["scan.out"], origins["scan.out"]) == (Path("from-option"), "option --out")
    assert (values["scan.fail_on"], origins["scan.fail_on"]) == (
        "medium",
        "environment AZAUDIT_FAIL_ON",
    )
    assert (values["scan.strict"], origins["scan.strict"]) == (False, "environment AZAUDIT_STRICT")
    assert (values["scan.formats"], origins["scan.formats"]) == (("json",), f"file {path}")
    # Paths in the file are relative to the file.
    assert values["scan.waivers"] == tmp_path / "waivers.yaml"
    assert (values["scan.concurrency"], origins["scan.concurrency"]) == (256, "default")
    request = to_request(effective)
    assert isinstance(request.source, DemoSource)
    assert request.formats == (OutputFormat.JSON,)
    assert request.fail_on is FailOn.MEDIUM
    assert request.phi.subscriptions == (SUB,)
    assert request.phi.tags == (("data-classification", "phi"),)


def test_a_source_named_higher_up_replaces_the_files_source(tmp_path: Path) -> None:
    _write(tmp_path, CONFIG)
    effective = merge({"scan.snapshot": Path("kept.json.gz")}, {}, None, tmp_path)
    request = to_request(effective)
    assert request.source == SnapshotSource(Path("kept.json.gz"))
    assert effective.origins["scan.demo"] == "default"
    env = {"AZAUDIT_SUBSCRIPTIONS": f"{SUB}, {SUB.replace('6e', '7e')}", "AZAUDIT_TIMEOUT": "60"}
    live = to_request(merge({}, env, None, tmp_path)).source
    assert isinstance(live, LiveSource)
    assert live.options.subscriptions == (SUB, SUB.replace("6e", "7e"))
    assert live.options.timeout == 60.0


def test_discovery_order(tmp_path: Path) -> None:
    assert find_config(None, {}, tmp_path) is None
    _write(tmp_path, "[project]\nname = 'x'\n", "pyproject.toml")
    assert find_config(None, {}, tmp_path) is None  # no [tool.azaudit]
    pyproject = _write(tmp_path, "[tool.azaudit.scan]\nfail_on = 'low'\n", "pyproject.toml")
    assert find_config(None, {}, tmp_path) == pyproject
    assert merge({}, {}, None, tmp_path).values["scan.fail_on"] == "low"
    local = _write(tmp_path, "[scan]\nfail_on = 'medium'\n")
    assert find_config(None, {}, tmp_path) == local
    other = _write(tmp_path, "[scan]\nfail_on = 'info'\n", "other.toml")
    assert find_config(None, {"AZAUDIT_CONFIG": str(other)}, tmp_path) == other
    explicit = tmp_path / "explicit.toml"
    assert find_config(explicit, {"AZAUDIT_CONFIG": str(other)}, tmp_path) == explicit


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[scan]\nfail_on = 'urgent'\n", "scan.fail_on: expected one of critical, high, medium,"),
        ("[scan]\nouts = 'x'\n", "scan.outs: unknown key; expected one of demo, snapshot,"),
        ("[scna]\nout = 'x'\n", "scna: unknown key; expected the tables [phi], [scan]"),
        ("[scan]\nstrict = 'yes'\n", "scan.strict: expected true or false, got 'yes'"),
        ("[scan]\nconcurrency = 0\n", "scan.concurrency: expected an integer from 1 to 256"),
        ("[scan]\nformats = 'json'\n", "scan.formats: expected a list of html, json"),
        ("[scan]\nformats = ['pdfx']\n", "scan.formats: expected a list of html, json"),
        ("[phi]\ntags = [1]\n", "phi.tags: expected a list of strings, got a list with a non-"),
        ("[scan]\nout = \n", "invalid TOML at line 2, column 7"),
    ],
)
def test_bad_config_is_one_line_naming_file_and_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as excinfo:
        merge({}, {}, None, tmp_path)
    line = str(excinfo.value)
    assert "\n" not in line
    assert str(path) in line
    assert message in line
    assert "Value error" not in line and "tomllib" not in line


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AZAUDIT_CONCURRENCY": "many"}, "AZAUDIT_CONCURRENCY: expected an integer from 1"),
        ({"AZAUDIT_LOG_FORMAT": "xml"}, "AZAUDIT_LOG_FORMAT: expected one of auto, rich,"),
        ({"AZAUDIT_STRICT": "maybe"}, "AZAUDIT_STRICT: expected true or false"),
    ],
)
def test_bad_environment_value_names_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        merge({}, env, None, Path("/nonexistent"))


def test_unrelated_azaudit_variables_are_not_settings() -> None:
    env = {"AZAUDIT_ARM_ENDPOINT": "https://127.0.0.1:9", "AZAUDIT_LIVE": "1"}
    effective = merge({}, env, None, Path("/nonexistent"))
    assert set(effective.origins.values()) == {"default"}


def test_every_setting_has_a_documented_key_and_variable() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "config.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.key.split('.', 1)[1]}`" in docs, setting.key
        assert setting.env in docs, setting.env


def test_config_show_prints_every_value_and_its_origin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path, CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZAUDIT_FAIL_ON", "low")
    result = CliRunner().invoke(app, ["config", "show"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"# config file: {path}"
    assert 'scan.fail_on = "low"  # environment AZAUDIT_FAIL_ON' in lines
    assert f'scan.out = "{tmp_path / "hipaa-report"}"  # file {path}' in lines
    assert f'phi.subscriptions = ["{SUB}"]  # file {path}' in lines
    assert "scan.concurrency = 256  # default" in lines
    assert "scan.baa_list = (unset)  # default" in lines
    assert len(lines) == 1 + len(SETTINGS)


def test_scan_reads_the_config_file_and_a_bad_one_stops_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZAUDIT_")}
    good = _write(
        tmp_path,
        "[scan]\ndemo = true\nformats = ['json']\nfail_on = 'never'\nchecks = ['kv_rbac_model']\n",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "azaudit", "scan", "--config", str(good), "--out", "r"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == ["results.json"]
    bad = _write(tmp_path, "[scan]\ndemo = true\nfail_on = 'urgent'\n", "bad.toml")
    proc = subprocess.run(
        [sys.executable, "-m", "azaudit", "scan", "--config", str(bad), "--out", "s"],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"azaudit: error: {bad}: scan.fail_on: expected one of critical, high, medium, low, "
        "info, never, got 'urgent'"
    ]
    assert not (tmp_path / "s").exists()
