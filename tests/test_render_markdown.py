"""summary.md: golden file, capped rows, escaped tenant text, PHI scope, waivers and history."""

from __future__ import annotations

import dataclasses

from azaudit.models import (
    FindingChange,
    HistoryInfo,
    PhiScopeInfo,
    Severity,
    Status,
    WaiverInfo,
)
from azaudit.render import OutputFormat, render
from azaudit.render.json_format import RESULTS_SCHEMA_VERSION
from azaudit.render.markdown import FINDING_ROWS, md, render_markdown
from tests.fixtures_result import (
    XSS_SCRIPT,
    assert_matches_golden,
    build_fixture_result,
    build_result_for,
    clean_snapshot,
)


def test_markdown_matches_golden_file() -> None:
    assert_matches_golden("summary.md", render_markdown(build_fixture_result()))


def test_headline_counts_and_top_checks() -> None:
    text = render(OutputFormat.MARKDOWN, build_fixture_result()).decode("utf-8")
    assert OutputFormat.MARKDOWN.filename == "summary.md"
    assert text.startswith("## azaudit HIPAA posture: Contoso Health\n")
    assert "**Posture 53.1 %** severity-weighted (raw 57.7 %: 15 pass of 26 evaluated" in text
    assert "| 15 | 5 | 6 | 1 | 2 | 0 |" in text
    assert "| 0 | 3 | 1 | 1 | 0 |" in text
    assert "| 2 | 24 | high | research-api (Research" in text
    assert "`eit_app_tls12` App Service apps require TLS 1.2" in text
    assert "**Incomplete:** 2 scope(s) could not be evaluated" in text
    assert "No PHI scope configured" in text
    assert f"results schema {RESULTS_SCHEMA_VERSION}" in text


def test_tenant_text_is_escaped_never_markup() -> None:
    text = render_markdown(build_fixture_result())
    assert XSS_SCRIPT not in text
    assert "\\<script\\>alert(1)\\</script\\>" in text
    assert md("a|b\nc") == "a\\|b c"
    assert md("**x** [l](u) `c`") == "\\*\\*x\\*\\* \\[l\\](u) \\`c\\`"


def test_open_findings_are_capped_with_a_pointer_to_the_full_list() -> None:
    base = build_fixture_result()
    failing = base.findings[0]
    extra = tuple(failing._replace(resource_id=f"{failing.resource_id}-{i}") for i in range(200))
    counts = {**base.summary["counts"], "FAIL": base.summary["counts"]["FAIL"] + len(extra)}
    result = dataclasses.replace(
        base,
        findings=(*extra, *base.findings),
        summary={**base.summary, "counts": counts},
    )
    text = render_markdown(result)
    total = counts["FAIL"] + counts["ERROR"]
    assert f"### Open findings (first {FINDING_ROWS} of {total})" in text
    assert f"… and {total - FINDING_ROWS} more open findings in findings.csv" in text
    section = text.split("### Open findings", 1)[1].split("\n---\n", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith(("| FAIL", "| ERROR"))]
    assert len(rows) == FINDING_ROWS
    assert len(text) < 65536


def test_clean_scan_says_complete_and_lists_no_open_findings() -> None:
    text = render_markdown(build_result_for(clean_snapshot()))
    assert "Complete: every check was evaluated for every scope." in text
    assert "\n| ERROR |" not in text


def test_phi_scope_waivers_and_history_sections() -> None:
    result = dataclasses.replace(
        build_fixture_result(),
        phi_scope=PhiScopeInfo(
            configured=True,
            subscriptions=("11111111-aaaa-4000-8000-000000000001",),
            tags=("phi=true",),
        ),
        waivers=(
            WaiverInfo(
                id="W-1",
                check_id="eit_storage_https_only",
                selector="*",
                justification="legacy",
                approver="ciso",
                ticket="SEC-1",
                expires="2026-01-01",
                state="expired",
                matched=0,
            ),
        ),
        history=HistoryInfo(
            previous_run_id="run-41",
            previous_generated_at="2026-11-01T08:00:00Z",
            new=(
                FindingChange(
                    identity="a|b|",
                    check_id="a",
                    resource_id="b",
                    resource_name="b",
                    severity=Severity.HIGH,
                ),
            ),
            resolved=(),
            still_open=4,
            trend=(),
        ),
    )
    text = render_markdown(result)
    assert "No PHI scope configured" not in text
    assert "PHI scope: subscription `11111111-aaaa-4000-8000-000000000001`, tag `phi=true`" in text
    assert "| W-1 | `eit_storage_https_only` | expired | 0 | 2026-01-01 | ciso |" in text
    assert "**1 new**, 0 resolved, 4 still open." in text
    assert Status.WAIVED.value in text
