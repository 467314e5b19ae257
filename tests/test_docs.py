"""The documentation names only options that exist, and the README lists every `scan` option."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer.main

from azaudit.cli import app
from azaudit.emulator.__main__ import _parser as emulator_parser

ROOT = Path(__file__).resolve().parent.parent
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
# Documents about the azaudit command line (performance.md speaks of the benchmark script and
# permissions.md of the az CLI; emulator.md is checked against the emulator below).
AZAUDIT_DOCS = (
    "README.md",
    "CONTRIBUTING.md",
    "docs/usage.md",
    "docs/collection.md",
    "docs/report.md",
    "docs/results-schema.md",
    "docs/snapshot.md",
)


# Typer bundles its own copy of click, so commands are walked by their public attributes.
def _commands(command: Any) -> list[Any]:
    found = [command]
    for sub in getattr(command, "commands", {}).values():
        found += _commands(sub)
    return found


def _options(command: Any) -> set[str]:
    return {
        name
        for param in command.params
        if param.param_type_name == "option"
        for name in param.opts + param.secondary_opts
        if name.startswith("--")
    } | {"--help"}


ROOT_COMMAND = typer.main.get_command(app)
ALL_OPTIONS = set().union(*(_options(c) for c in _commands(ROOT_COMMAND)))


@pytest.mark.parametrize("document", AZAUDIT_DOCS)
def test_every_option_the_docs_name_exists(document: str) -> None:
    named = set(OPTION.findall((ROOT / document).read_text(encoding="utf-8")))
    assert named, document
    assert sorted(named - ALL_OPTIONS) == [], f"{document} names options azaudit does not have"


def test_readme_lists_every_scan_option() -> None:
    scan = ROOT_COMMAND.commands["scan"]  # type: ignore[attr-defined]
    readme = set(OPTION.findall((ROOT / "README.md").read_text(encoding="utf-8")))
    assert sorted(_options(scan) - readme) == []


def test_emulator_docs_name_only_emulator_options() -> None:
    known = {o for action in emulator_parser()._actions for o in action.option_strings}
    named = set(OPTION.findall((ROOT / "docs/emulator.md").read_text(encoding="utf-8")))
    assert sorted(named - known) == []
