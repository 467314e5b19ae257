"""The wheel carries the check catalogue, report templates and data, and runs from anywhere."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


RECIPE_BUILD = "pip wheel -w wheels ."
RECIPE_INSTALL = "pip install ./wheels/azaudit-*.whl"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built as README's recipe builds it: `pip wheel -w wheels .` in a checkout.

    Offline here (`--no-deps --no-build-isolation`); the recipe itself also fetches the
    dependencies' wheels into `wheels/`.
    """
    build_dir = tmp_path_factory.mktemp("build")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(build_dir / "wheels"), "."],
        check=True, capture_output=True, timeout=300, cwd=ROOT,
    )  # fmt: skip
    (built,) = (build_dir / "wheels").glob("azaudit-*.whl")
    return built


def test_readme_and_pipeline_docs_give_the_recipe_tested_here() -> None:
    for document in ("README.md", "docs/pipelines.md"):
        text = (ROOT / document).read_text(encoding="utf-8")
        assert RECIPE_INSTALL in text, document
    assert RECIPE_BUILD in (ROOT / "README.md").read_text(encoding="utf-8")


def test_wheel_contains_catalogue_templates_and_data(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "azaudit/checks/citations.yaml" in names
    assert "azaudit/checks/encryption_in_transit/eit_storage_https_only.yaml" in names
    assert any(n.startswith("azaudit/reports/") for n in names)
    assert "azaudit/data/baa_services.json" in names
    assert "azaudit/py.typed" in names
    checks_in_repo = {
        p.relative_to(ROOT / "checks").as_posix() for p in (ROOT / "checks").rglob("*.yaml")
    }
    checks_in_wheel = {
        n.removeprefix("azaudit/checks/") for n in names if n.startswith("azaudit/checks/")
    }
    assert checks_in_repo == checks_in_wheel


def test_installed_wheel_scans_the_demo_from_another_directory(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    # The recipe's install line, its glob expanded by the shell from the build directory.
    # The documented shell line (fixed arguments), so the shell expands the glob.
    subprocess.run(  # noqa: S602
        f'"{sys.executable}" -m {RECIPE_INSTALL} --no-deps -q --target "{target}"',
        shell=True,
        check=True,
        capture_output=True,
        timeout=300,
        cwd=wheel.parent.parent,
    )
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import azaudit, sys; print(azaudit.__file__); from azaudit.cli import main; "
            "sys.argv=['azaudit','scan','--demo','--out','out','--fail-on','never']; main()",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[0].startswith(str(target))
    results = json.loads((workdir / "out" / "results.json").read_text())
    shipped = [p for p in (ROOT / "checks").rglob("*.yaml") if p.name != "citations.yaml"]
    assert len(results["checks"]) == len(shipped)
    assert (workdir / "out" / "report.html").exists()
