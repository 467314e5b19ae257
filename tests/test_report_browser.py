"""The report in a real browser: headless Chromium parses, styles and prints it.

Chromium is a required test dependency (Debian package `chromium`; `.ci/run` installs it). A
missing browser fails the test with instructions; set AZAUDIT_SKIP_BROWSER=1 to skip knowingly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from azaudit.render.html import render_html
from tests.fixtures_result import FAILING_STORAGE_ID, build_fixture_result

pytestmark = pytest.mark.browser

SKIP_ENV = "AZAUDIT_SKIP_BROWSER"
CANDIDATES = ("chromium", "chromium-browser")

# Headless, hermetic: no first-run, sync, component or background traffic, and every host name
# resolves to nothing, so even a stray external reference could not be fetched.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
)


def _chromium() -> str:
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium"
    if os.environ.get(SKIP_ENV) == "1":
        pytest.skip(f"headless Chromium not installed and {SKIP_ENV}=1")
    pytest.fail(
        "headless Chromium is required for the report browser test but was not found on PATH. "
        "Install it (Debian/Ubuntu: apt-get install -y chromium) or set "
        f"{SKIP_ENV}=1 to skip this test knowingly.",
        pytrace=False,
    )


@dataclass(frozen=True)
class BrowserRun:
    dom: str
    log: str
    pdf: bytes


def _run(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(profile)}
    return subprocess.run(
        [binary, *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=env,
    )


@pytest.fixture(scope="module")
def browser_run(tmp_path_factory: pytest.TempPathFactory) -> BrowserRun:
    binary = _chromium()
    work = tmp_path_factory.mktemp("browser")
    report = work / "report.html"
    report.write_text(render_html(build_fixture_result()), encoding="utf-8")
    url = report.as_uri()

    dump = _run(binary, work / "profile-dom", "--enable-logging=stderr", "--v=0", "--dump-dom", url)
    assert dump.returncode == 0, dump.stderr[-2000:]

    pdf_path = work / "report.pdf"
    printed = _run(
        binary,
        work / "profile-pdf",
        "--no-pdf-header-footer",
        f"--print-to-pdf={pdf_path}",
        url,
    )
    assert printed.returncode == 0, printed.stderr[-2000:]
    return BrowserRun(dom=dump.stdout, log=dump.stderr, pdf=pdf_path.read_bytes())


def test_dom_has_the_executive_summary_and_the_failing_finding(browser_run: BrowserRun) -> None:
    dom = browser_run.dom
    assert '<h2 id="summary-h">1. Executive summary</h2>' in dom
    assert "Incomplete coverage: 2 scopes could not be evaluated." in dom
    escaped_id = FAILING_STORAGE_ID.replace("<", "&lt;").replace(">", "&gt;")
    assert escaped_id in dom
    assert 'id="check-eit_storage_https_only"' in dom


def test_payloads_are_text_in_the_live_dom(browser_run: BrowserRun) -> None:
    dom = browser_run.dom.lower()
    # Chromium serialises the parsed document: a payload that became an element would show up
    # as a tag here; as text it is re-escaped.
    assert "<script" not in dom
    assert "<img" not in dom
    assert 'onerror="' not in dom
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in dom


def test_stylesheet_is_allowed_by_the_csp(browser_run: BrowserRun) -> None:
    # Chromium logs every CSP violation to the console; the pinned hash must match exactly.
    assert "Content Security Policy" not in browser_run.log, browser_run.log[-2000:]


def test_printed_pdf_has_several_pages(browser_run: BrowserRun) -> None:
    pdf = browser_run.pdf
    assert pdf.startswith(b"%PDF-")
    assert len(pdf) > 10_000
    counts = [int(n) for n in re.findall(rb"/Count (\d+)", pdf)]
    assert counts, "no page tree in the PDF"
    assert max(counts) > 1
