"""report.pdf: printed by the system Chromium with page numbers, a running header, Letter or A4."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest

from azaudit.render import OutputFormat, Paper, RenderOptions, render
from azaudit.render.pdf import CHROMIUM_ENV, BrowserMissing, find_chromium
from tests.fixtures_result import build_programme_result

pytestmark = pytest.mark.browser

LETTER = (612, 792)
A4 = (595, 842)


@pytest.fixture(scope="module")
def letter_pdf() -> pypdf.PdfReader:
    data = render(OutputFormat.PDF, build_programme_result())
    assert data.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(data))


def _size(reader: pypdf.PdfReader) -> tuple[int, int]:
    box = reader.pages[0].mediabox
    return round(float(box.width)), round(float(box.height))


def test_every_page_is_numbered_with_the_total(letter_pdf: pypdf.PdfReader) -> None:
    total = len(letter_pdf.pages)
    assert total > 1
    for number, page in enumerate(letter_pdf.pages, start=1):
        assert f"Page {number} of {total}" in page.extract_text()


def test_every_page_carries_the_running_header(letter_pdf: pypdf.PdfReader) -> None:
    for page in letter_pdf.pages:
        text = page.extract_text()
        assert "HIPAA posture report - Contoso Health - 2026-11-02T08:00:00Z" in text
        assert "azaudit 0.0.0+fixture" in text


def test_letter_is_the_default_and_a4_an_option(letter_pdf: pypdf.PdfReader) -> None:
    # Points; Chromium rounds A4's 595.28 x 841.89 to whole device pixels.
    width, height = _size(letter_pdf)
    assert abs(width - LETTER[0]) <= 1 and abs(height - LETTER[1]) <= 1
    a4 = render(OutputFormat.PDF, build_programme_result(), RenderOptions(paper=Paper.A4))
    width, height = _size(pypdf.PdfReader(io.BytesIO(a4)))
    assert abs(width - A4[0]) <= 1 and abs(height - A4[1]) <= 1


def test_pdf_has_the_report_content(letter_pdf: pypdf.PdfReader) -> None:
    text = "\n".join(page.extract_text() for page in letter_pdf.pages)
    assert "Top risks" in text
    assert "Evidence chain" in text
    assert "W-2026-007" in text
    # Finding cards (laid out lazily on screen) are printed in full.
    assert "properties.supportsHttpsTrafficOnly" in text
    assert "no Strict-Transport-Security header on /" in text
    # The stylesheet's own page chrome is off in the PDF: the numbers are printed once per page.
    assert text.count("Page 1 of") == 1


def test_a_missing_browser_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-chromium"))
    with pytest.raises(BrowserMissing, match="is not a file"):
        find_chromium()


def test_cli_without_chromium_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, CHROMIUM_ENV: str(tmp_path / "no-chromium")}
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "azaudit", "scan", "--demo", "--format", "pdf", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "Chromium" in proc.stderr
    assert not (out / "report.pdf").exists()
