"""Renderers: pure functions from a `ScanResult` to bytes, chosen through an exhaustive enum.

Each renderer writes into a binary stream (the temporary file the caller renames once every
format succeeded), so memory does not grow with the size of a report.
"""

from __future__ import annotations

import enum
import io
from typing import BinaryIO

from azaudit.models import ScanResult
from azaudit.render.html import write_html
from azaudit.render.json_format import write_json
from azaudit.render.options import Paper, RenderOptions

__all__ = ["DEFAULT_FORMATS", "OutputFormat", "Paper", "RenderOptions", "render", "write"]


class OutputFormat(enum.StrEnum):
    """Report formats `--format` accepts."""

    HTML = "html"
    JSON = "json"
    PDF = "pdf"

    @property
    def filename(self) -> str:
        """The file name written into `--out`."""
        return {
            OutputFormat.HTML: "report.html",
            OutputFormat.JSON: "results.json",
            OutputFormat.PDF: "report.pdf",
        }[self]


DEFAULT_FORMATS = (OutputFormat.HTML, OutputFormat.JSON)
"""What a scan writes without `--format` (PDF needs Chromium, so it is asked for explicitly)."""


def write(
    fmt: OutputFormat, result: ScanResult, stream: BinaryIO, options: RenderOptions | None = None
) -> None:
    """Render `result` in `fmt` into `stream`; never touches any other file.

    Raises:
        azaudit.render.pdf.BrowserMissing: for PDF, when Chromium is not installed.
    """
    opts = options or RenderOptions()
    match fmt:
        case OutputFormat.HTML:
            write_html(result, stream, opts)
        case OutputFormat.JSON:
            write_json(result, stream)
        case OutputFormat.PDF:
            from azaudit.render.pdf import write_pdf  # loads Playwright only when asked for

            write_pdf(result, stream, opts)


def render(fmt: OutputFormat, result: ScanResult, options: RenderOptions | None = None) -> bytes:
    """`write` into memory: for tests and small results."""
    buffer = io.BytesIO()
    write(fmt, result, buffer, options)
    return buffer.getvalue()
