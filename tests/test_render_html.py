"""report.html: golden file, inert user data, nothing loadable, CSP, section order and evidence."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from html.parser import HTMLParser

import pytest

from azaudit.models import CollectionGap, ScanResult
from azaudit.render import OutputFormat, Paper, RenderOptions, render
from azaudit.render.html import content_security_policy, render_html
from tests.fixtures_result import (
    FAILING_STORAGE_ID,
    XSS_ATTRIBUTE,
    XSS_SCRIPT,
    assert_matches_golden,
    build_fixture_result,
    build_large_result,
    build_programme_result,
    build_result_for,
    clean_snapshot,
)


class _Elements(HTMLParser):
    """Every start tag with its attributes, and the text of <style> elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.styles: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.styles.append(data)


def _parse(html: str) -> _Elements:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def result() -> ScanResult:
    return build_fixture_result()


@pytest.fixture(scope="module")
def html(result: ScanResult) -> str:
    return render_html(result)


def test_report_matches_golden_file(html: str) -> None:
    assert_matches_golden("report.html", html)


def test_rendering_is_deterministic(result: ScanResult) -> None:
    assert render(OutputFormat.HTML, result) == render(OutputFormat.HTML, build_fixture_result())


# -- security -----------------------------------------------------------------------------------


def test_no_script_element_at_all(html: str) -> None:
    assert "<script" not in html.lower()
    assert all(tag != "script" for tag, _ in _parse(html).tags)


def test_payloads_in_names_tags_and_display_names_render_as_text(html: str) -> None:
    assert XSS_SCRIPT not in html
    assert XSS_ATTRIBUTE not in html
    assert "<img" not in html.lower()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    # No element carries an event handler, whatever the payloads tried.
    for tag, attrs in _parse(html).tags:
        assert not [a for a in attrs if a.startswith("on")], tag


def test_nothing_is_loadable_and_only_anchors_link_out(html: str) -> None:
    tags = _parse(html).tags
    loadable = {"script", "img", "iframe", "link", "object", "embed", "frame", "audio", "video"}
    assert not [t for t, _ in tags if t in loadable]
    for tag, attrs in tags:
        for name in ("src", "srcset", "data", "poster", "background"):
            assert name not in attrs, (tag, name)
        if "href" in attrs:
            assert tag == "a", tag
            href = attrs["href"] or ""
            assert href.startswith(("#", "https://")), href
    assert "url(" not in html
    assert "@import" not in html


def test_csp_forbids_everything_but_the_pinned_stylesheet(html: str) -> None:
    parsed = _parse(html)
    metas = [a for t, a in parsed.tags if t == "meta" and a.get("http-equiv")]
    assert len(metas) == 1
    assert metas[0]["http-equiv"] == "Content-Security-Policy"
    policy = metas[0]["content"] or ""
    assert "default-src 'none'" in policy
    assert "img-src data:" in policy
    assert "unsafe-inline" not in policy
    assert len(parsed.styles) == 1
    digest = base64.b64encode(hashlib.sha256(parsed.styles[0].encode()).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert policy == content_security_policy(parsed.styles[0])
    # Inline style attributes would be blocked by this policy, so there must be none.
    assert not [t for t, a in parsed.tags if "style" in a]


def test_non_http_references_are_not_links(result: ScanResult) -> None:
    meta = result.checks[0]
    hostile = dataclasses.replace(meta, references=("javascript:alert(1)", "data:text/html,x"))
    page = render_html(dataclasses.replace(result, checks=(hostile, *result.checks[1:])))
    assert 'href="javascript' not in page
    assert 'href="data:' not in page
    assert "javascript:alert(1)" in page  # still shown, as text


# -- content ------------------------------------------------------------------------------------


def test_sections_come_in_order_with_the_executive_summary_first(html: str) -> None:
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", html)
    assert headings == [
        "1. Executive summary",
        "2. Coverage gaps",
        "3. Findings by HIPAA safeguard",
        "4. Findings by subscription",
        "5. Needs attestation (MANUAL)",
        "6. All checks",
        "7. Method and definitions",
    ]


def _executive_summary(html: str) -> str:
    return html[html.index('id="summary"') : html.index('id="coverage"')]


def test_executive_summary_states_posture_scope_and_provenance(html: str) -> None:
    summary = _executive_summary(html)
    for expected in (
        "57.7%",
        "Administrative safeguards (164.308)",
        "Physical safeguards (164.310)",
        "Technical safeguards (164.312)",
        "Organizational requirements (164.314)",
        "Contoso Health",
        "7f3c0c1e-0000-4000-8000-000000000001",
        "Clinical Production",
        "2026-11-02T07:45:12Z",
        "2026-11-02T08:00:00Z",
        "azaudit 0.0.0+fixture",
        "centralus, eastus, eastus2, westus2, westus3",
        "Fixture BAA list (Microsoft Learn audit-scope page, transcribed)",
        "version 2026-01-15",
        "not verified",
        "Top risks",
        "Failing findings by severity",
    ):
        assert expected in summary, expected


def test_coverage_gaps_are_prominent(html: str) -> None:
    summary = _executive_summary(html)
    assert "Incomplete coverage: 2 scopes could not be evaluated." in summary
    assert "banner-warn" in summary
    gaps = html[html.index('id="coverage"') : html.index('id="by-safeguard"')]
    assert "Resource Graph query throttled after 4 retries" in gaps
    assert "AuthorizationFailed" in gaps
    assert "RateLimiting" in gaps


def test_complete_coverage_is_stated_too() -> None:
    page = render_html(build_result_for(clean_snapshot()))
    assert "Coverage complete." in _executive_summary(page)
    assert "Incomplete coverage" not in page


def test_a_gap_no_check_needed_is_reported_without_claiming_unevaluated_scopes() -> None:
    gap = CollectionGap("/", "graph:unused", "access denied (HTTP 403)", 403, "Forbidden")
    page = render_html(build_result_for(dataclasses.replace(clean_snapshot(), gaps=(gap,))))
    assert "Incomplete coverage: 1 collection gap recorded." in _executive_summary(page)
    assert "could not be evaluated" not in page
    gaps = page[page.index('id="coverage"') : page.index('id="by-safeguard"')]
    assert "No check run in this scan needed the data listed below" in gaps
    assert "graph:unused" in gaps


def test_failing_finding_shows_evidence_remediation_and_citation(html: str) -> None:
    section = html[html.index('id="check-eit_storage_https_only"') :]
    section = section[: section.index("</article>")]
    escaped_id = FAILING_STORAGE_ID.replace("<", "&lt;").replace(">", "&gt;")
    assert escaped_id in section
    assert "<code>properties.supportsHttpsTrafficOnly</code>" in section
    assert "<pre><code>false</code></pre>" in section
    assert "properties.supportsHttpsTrafficOnly is false; expected true" in section
    assert "<pre><code>az storage account update" in section
    assert "Storage account &gt; Settings &gt; Configuration" in section
    assert "Secure transfer to storage accounts should be enabled" in section
    assert "404c3081-a854-4457-ae30-26a93ef643f9" in section
    assert (
        'href="https://learn.microsoft.com/azure/storage/common/storage-require-secure-transfer"'
        in section
    )
    citation = html[: html.index('id="check-eit_storage_https_only"')]
    assert "45 CFR 164.312(e)(1) Transmission security &mdash;" in citation[-400:]


def test_error_findings_are_listed_with_their_reason(html: str) -> None:
    section = html[html.index('id="check-eit_app_tls12"') :]
    section = section[: section.index("</article>")]
    assert "patient-portal" in section
    assert "403 AuthorizationFailed" in section
    assert section.count('class="finding f-ERROR"') == 2


def test_addressable_labels_point_at_the_nprm_note(html: str) -> None:
    note = re.search(r'<p class="note" id="nprm">(.*?)</p>', html)
    assert note is not None
    assert "90 FR 898" in note.group(1)
    assert "2025-01-06" in note.group(1)
    assert "not final" in note.group(1)
    assert 'href="#nprm"' in html
    assert "Addressable&#8224;" in html


def test_manual_items_are_listed_separately(html: str) -> None:
    manual = html[html.index('id="manual"') : html.index('id="all-checks"')]
    assert "Attach the report of the last contingency-plan test" in manual
    assert "pacs-archive" in manual
    assert "Contoso.Imaging/archives is not in the BAA list" in manual


def test_every_check_is_in_the_check_table(result: ScanResult, html: str) -> None:
    table = html[html.index('id="all-checks"') : html.index('id="method"')]
    for meta in result.checks:
        assert f'<code class="muted small">{meta.id}</code>' in table


def test_every_internal_link_has_a_target(html: str) -> None:
    tags = _parse(html).tags
    ids = {a["id"] for _, a in tags if a.get("id")}
    targets = {
        (a["href"] or "")[1:] for t, a in tags if t == "a" and (a["href"] or "").startswith("#")
    }
    assert targets
    assert not targets - ids


def test_each_open_finding_is_listed_once_and_subscriptions_are_counted(
    result: ScanResult, html: str
) -> None:
    open_positions = [i for i, f in enumerate(result.findings) if f.status in ("FAIL", "ERROR")]
    assert len(open_positions) == 5 + 6
    for index in open_positions:
        assert html.count(f'id="finding-{index}"') == 1
    section = html[html.index('id="by-subscription"') : html.index('id="manual"')]
    assert 'class="finding' not in section
    assert "Clinical Production" in section
    assert "Legacy Imaging" in section


def test_passing_findings_are_counted_not_listed(html: str) -> None:
    # phirecords01 and research-web pass every check: they appear only in results.json.
    assert "phirecords01" not in html
    assert "research-web" not in html


def test_large_tenant_report_stays_compact() -> None:
    large = build_large_result(3000)
    page = render_html(large)
    assert large.summary["counts"]["PASS"] > 9000
    assert "bulk00007" in page  # a failing account is listed in full
    assert "bulk00001" not in page  # passing ones are only counted
    assert len(page.encode()) < 250_000


# -- the nightly programme sections -------------------------------------------------------------


@pytest.fixture(scope="module")
def programme_html() -> str:
    return render_html(build_programme_result())


def test_programme_report_matches_golden_file(programme_html: str) -> None:
    assert_matches_golden("report-programme.html", programme_html)


def test_optional_sections_appear_only_with_their_data(html: str, programme_html: str) -> None:
    headings = re.findall(r"<h2[^>]*>(.*?)</h2>", programme_html)
    assert headings == [
        "1. Executive summary",
        "2. Coverage gaps",
        "3. Findings by HIPAA safeguard",
        "4. Findings by subscription",
        "5. Accepted risks (waivers)",
        "6. Changes since the last run",
        "7. Web sites",
        "8. Needs attestation (MANUAL)",
        "9. All checks",
        "10. Method and definitions",
    ]
    for anchor in ('id="waivers"', 'id="history"', 'id="web-sites"', 'id="evidence-chain"'):
        assert anchor not in html
        assert anchor in programme_html


def test_no_phi_scope_is_said_prominently(html: str, programme_html: str) -> None:
    banner = "No PHI scope configured: every finding treated as PHI."
    assert banner in _executive_summary(html)
    assert banner not in programme_html


def test_evidence_chain_names_the_scanning_identity(programme_html: str) -> None:
    chain = programme_html[programme_html.index('id="evidence-chain"') :]
    chain = chain[: chain.index("</div>")]
    assert "9f2c" + "0" * 56 + "beef" in chain
    assert "sp-azaudit-nightly" in chain
    assert "catalogue-2026.11" in chain


def test_waivers_are_listed_by_state_with_the_waived_finding(programme_html: str) -> None:
    section = programme_html[
        programme_html.index('id="waivers"') : programme_html.index('id="history"')
    ]
    for text in (
        "Active waivers (1)",
        "Expired waivers (no longer applied) (1)",
        "Waivers that matched nothing (1)",
        "EU replica kept for the Lisbon research partner until the DPA is signed.",
        "CISO Dana Whitfield",
        "RISK-311",
        "2027-03-31",
        "Waived findings (1)",
    ):
        assert text in section, text


def test_history_shows_changes_and_an_inline_trend(programme_html: str) -> None:
    section = programme_html[
        programme_html.index('id="history"') : programme_html.index('id="web-sites"')
    ]
    assert "<strong>1 new</strong>" in section
    assert "<strong>1 resolved</strong>" in section
    assert "4 still open" in section
    assert "<polyline" in section
    # The run without a posture is left out of the line, not drawn at 0 %.
    assert section.count('class="trend-dot"') == 3
    assert "research-old" in section


def test_every_web_site_is_listed_even_unscanned(programme_html: str) -> None:
    section = programme_html[
        programme_html.index('id="web-sites"') : programme_html.index('id="manual"')
    ]
    assert "https://portal.contoso-health.example" in section
    assert "https://legacy.contoso-health.example" in section
    assert "<strong>not scanned</strong>" in section
    assert "robots.txt disallows /" in section
    assert "Public sites send HSTS and a Content-Security-Policy" in section


def test_rows_per_check_are_capped_with_the_rest_counted() -> None:
    large = build_large_result(3000)
    page = render_html(large, RenderOptions(max_rows_per_check=2))
    section = page[page.index('id="check-eit_storage_https_only"') :]
    section = section[: section.index("</article>")]
    assert section.count('class="finding f-FAIL"') == 2
    assert "more failing or unevaluated scope" in section
    assert "every finding is in <code>results.json</code>" in section


def test_print_layout_is_letter_by_default_with_page_numbers_and_a4_on_request(html: str) -> None:
    assert "@page { size: letter;" in html
    assert 'counter(page) " of " counter(pages)' in html
    assert "@top-left" in html
    a4 = render_html(build_fixture_result(), RenderOptions(paper=Paper.A4))
    assert "@page { size: A4;" in a4
    # No forced page breaks: sections flow on, so no half-blank pages.
    assert "break-before: page" not in html
