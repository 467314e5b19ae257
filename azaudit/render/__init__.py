"""Renderers: pure functions from a `ScanResult` to bytes, chosen through an exhaustive enum."""

from __future__ import annotations

import enum

from azaudit.models import ScanResult
from azaudit.render.html import render_html
from azaudit.render.json_format import render_json


class OutputFormat(enum.StrEnum):
    """Report formats `--format` accepts."""

    HTML = "html"
    JSON = "json"

    @property
    def filename(self) -> str:
        """The file name written into `--out`."""
        return {OutputFormat.HTML: "report.html", OutputFormat.JSON: "results.json"}[self]


def render(fmt: OutputFormat, result: ScanResult) -> bytes:
    """Render `result` in `fmt`; never touches the file system."""
    match fmt:
        case OutputFormat.HTML:
            return render_html(result).encode("utf-8")
        case OutputFormat.JSON:
            return render_json(result).encode("utf-8")
