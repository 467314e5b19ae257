"""report.pdf: the HTML report printed by the system's headless Chromium, for mail attachments.

The PDF is the same page as report.html (rendered by `html.write_html` with the stylesheet's own
page header turned off), printed by Chromium through Playwright, whose header and footer
templates carry the running header and "Page N of M". The browser is the system one
(Debian package `chromium`): nothing is downloaded, and the page can load nothing (its CSP
forbids it and every host name is made unresolvable).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile
from pathlib import Path
from typing import BinaryIO

from markupsafe import escape

from azaudit.chromium import DEFAULT_CHROMIUM as SYSTEM_CHROMIUM
from azaudit.chromium import HEADLESS_ARGS
from azaudit.errors import InputError
from azaudit.models import ScanResult
from azaudit.render.html import write_html
from azaudit.render.options import RenderOptions

CHROMIUM_ENV = "AZAUDIT_CHROMIUM"
"""Path of the Chromium binary, when it is not /usr/bin/chromium or `chromium` on PATH."""

DEFAULT_CHROMIUM = Path(SYSTEM_CHROMIUM)

# The report is self-contained: a printed page must not resolve any host at all.
CHROMIUM_ARGS = (*HEADLESS_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND")

TIMEOUT_MS = 300_000
"""Loading and printing a 50,000-resource report takes seconds; five minutes means a hang."""

_TEXT = "font-family: Arial, sans-serif; font-size: 8px; color: #475467; width: 100%;"


class BrowserMissing(InputError):
    """Chromium (or the Playwright library that drives it) is not installed: exit 2."""


def find_chromium() -> Path:
    """The Chromium binary: `$AZAUDIT_CHROMIUM`, else /usr/bin/chromium, else on PATH.

    Raises:
        BrowserMissing: when none exists.
    """
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        if Path(configured).is_file():
            return Path(configured)
        raise BrowserMissing(
            f"--format pdf: Chromium not found: {CHROMIUM_ENV}={configured} is not a file"
        )
    if DEFAULT_CHROMIUM.is_file():
        return DEFAULT_CHROMIUM
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise BrowserMissing(
        "--format pdf: Chromium not found (install the Debian package 'chromium', or set "
        f"{CHROMIUM_ENV} to its path)"
    )


def header_template(result: ScanResult) -> str:
    """Chromium's running header: report title, tenant and date (tenant text escaped)."""
    title = escape(f"HIPAA posture report - {result.tenant_name} - {result.generated_at}")
    return f'<div style="{_TEXT} padding: 0 12mm;">{title}</div>'


def footer_template(result: ScanResult) -> str:
    """Chromium's footer: tool version left, "Page N of M" right."""
    version = escape(f"azaudit {result.tool_version}")
    return (
        f'<div style="{_TEXT} padding: 0 12mm; display: flex; justify-content: space-between;">'
        f"<span>{version}</span>"
        '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
        "</div>"
    )


def write_pdf(result: ScanResult, stream: BinaryIO, options: RenderOptions) -> None:
    """Print the report to PDF into `stream`.

    Raises:
        BrowserMissing: Chromium or Playwright is not installed.
    """
    chromium = find_chromium()
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserMissing(
            "--format pdf: the Playwright library is missing (pip install 'azaudit[pdf]')"
        ) from None
    page_options = dataclasses.replace(options, page_chrome=False)
    with tempfile.TemporaryDirectory(prefix="azaudit-pdf-") as work:
        page_file = Path(work) / "report.html"
        with page_file.open("wb") as handle:
            write_html(result, handle, page_options)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(chromium), args=list(CHROMIUM_ARGS), timeout=TIMEOUT_MS
                )
                try:
                    page = browser.new_page()
                    page.goto(page_file.as_uri(), timeout=TIMEOUT_MS, wait_until="load")
                    pdf = page.pdf(
                        format=options.paper.pdf_format,
                        print_background=True,
                        display_header_footer=True,
                        header_template=header_template(result),
                        footer_template=footer_template(result),
                        margin={"top": "16mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                    )
                finally:
                    browser.close()
        except PlaywrightError as exc:
            first = (str(exc).strip().splitlines() or ["unknown error"])[0]
            raise BrowserMissing(f"--format pdf: Chromium failed to print: {first}") from None
    stream.write(pdf)
