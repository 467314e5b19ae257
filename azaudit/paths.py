"""Where the packaged check catalogue, report templates and reference data live.

In a wheel, `checks/` and `reports/` are installed inside the `azaudit` package; in a source
checkout (editable install, tests) they sit at the top of the repository next to `azaudit/`.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE_DIR = Path(__file__).resolve().parent


def _packaged_or_checkout(name: str) -> Path:
    inside = _PACKAGE_DIR / name
    if inside.is_dir():
        return inside
    return _PACKAGE_DIR.parent / name


def checks_dir() -> Path:
    """The built-in check catalogue directory."""
    return _packaged_or_checkout("checks")


def reports_dir() -> Path:
    """The Jinja templates and CSS of the reports."""
    return _packaged_or_checkout("reports")


def data_dir() -> Path:
    """Versioned reference data (BAA list, regions, resource-type map)."""
    return _PACKAGE_DIR / "data"
