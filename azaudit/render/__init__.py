"""Renderers: pure functions from a `ScanResult` to bytes, chosen through an exhaustive enum.

Each renderer writes into a binary stream (the temporary file the caller renames once every
format succeeded), so memory does not grow with the size of a report.
"""

from __future__ import annotations

import enum
import io
from collections.abc import Callable
from typing import BinaryIO, TextIO

from azaudit.gc_pause import paused_gc
from azaudit.models import ScanResult
from azaudit.render.csv_format import write_csv
from azaudit.render.html import write_html
from azaudit.render.json_format import write_json
from azaudit.render.junit import write_junit
from azaudit.render.markdown import write_markdown
from azaudit.render.options import Paper, RenderOptions
from azaudit.render.sarif import write_sarif

__all__ = ["DEFAULT_FORMATS", "OutputFormat", "Paper", "RenderOptions", "render", "write"]


class OutputFormat(enum.StrEnum):
    """Report formats `--format` accepts."""

    HTML = "html"
    JSON = "json"
    PDF = "pdf"
    SARIF = "sarif"
    JUNIT = "junit"
    CSV = "csv"
    MARKDOWN = "markdown"

    @property
    def filename(self) -> str:
        """The file name written into `--out`."""
        return {
            OutputFormat.HTML: "report.html",
            OutputFormat.JSON: "results.json",
            OutputFormat.PDF: "report.pdf",
            OutputFormat.SARIF: "results.sarif",
            OutputFormat.JUNIT: "results.junit.xml",
            OutputFormat.CSV: "findings.csv",
            OutputFormat.MARKDOWN: "summary.md",
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
    # Rendering makes short-lived objects per finding and keeps none of them: the cyclic
    # collector would only re-traverse the whole result (every finding) again and again.
    with paused_gc():
        _write(fmt, result, stream, opts)


def _write(fmt: OutputFormat, result: ScanResult, stream: BinaryIO, opts: RenderOptions) -> None:
    match fmt:
        case OutputFormat.HTML:
            write_html(result, stream, opts)
        case OutputFormat.JSON:
            write_json(result, stream)
        case OutputFormat.PDF:
            from azaudit.render.pdf import write_pdf  # loads Playwright only when asked for

            write_pdf(result, stream, opts)
        case OutputFormat.SARIF:
            _write_text(write_sarif, result, stream)
        case OutputFormat.JUNIT:
            _write_text(write_junit, result, stream)
        case OutputFormat.CSV:
            _write_text(write_csv, result, stream)
        case OutputFormat.MARKDOWN:
            _write_text(write_markdown, result, stream)


def _write_text(
    writer: Callable[[ScanResult, TextIO], None], result: ScanResult, stream: BinaryIO
) -> None:
    """Run a text renderer into the binary stream as UTF-8 (line ends as the renderer wrote them).

    Text Azure sent that cannot be encoded (a lone surrogate) is escaped, never a crash.
    """
    text = io.TextIOWrapper(stream, encoding="utf-8", errors="backslashreplace", newline="")
    try:
        writer(result, text)
        text.flush()
    finally:
        text.detach()


def render(fmt: OutputFormat, result: ScanResult, options: RenderOptions | None = None) -> bytes:
    """`write` into memory: for tests and small results."""
    buffer = io.BytesIO()
    write(fmt, result, buffer, options)
    return buffer.getvalue()
