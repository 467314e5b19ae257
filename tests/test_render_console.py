"""The console summary: concise, complete, and faithful to the precomputed summary."""

from __future__ import annotations

import dataclasses

from azaudit.models import BaaListInfo, CollectionGap
from azaudit.render.console import summary_text
from tests.fixtures_result import (
    assert_matches_golden,
    build_fixture_result,
    build_large_result,
    build_programme_result,
    build_result_for,
    clean_snapshot,
)


def test_console_summary_matches_golden_file() -> None:
    assert_matches_golden("console.txt", summary_text(build_fixture_result()) + "\n")


def test_summary_is_concise_and_names_every_required_figure() -> None:
    text = summary_text(build_fixture_result())
    lines = text.splitlines()
    assert len(lines) <= 20
    assert "Posture: 53.1% weighted; raw 57.7% (15 pass of 26 evaluated)" in lines
    assert (
        "PHI scope: NOT CONFIGURED - every finding is treated as PHI (fail closed); "
        "name it with --phi-subscription, --phi-resource-group or --phi-tag"
    ) in lines
    assert "Findings: 15 PASS, 5 FAIL, 6 ERROR, 1 NOT_APPLICABLE, 2 MANUAL, 0 WAIVED" in lines
    assert "Failing by severity: 0 critical, 3 high, 1 medium, 1 low, 0 info" in lines
    assert any(line.startswith("Coverage: INCOMPLETE - 2 scope(s)") for line in lines)
    assert any(line.startswith("BAA list: version 2026-01-15, NOT verified") for line in lines)


def test_top_risks_name_resources_with_score_and_subscription() -> None:
    lines = summary_text(build_fixture_result()).splitlines()
    risks = [line for line in lines if line.startswith("  ") and ". [" in line]
    assert 1 <= len(risks) <= 5
    assert risks[0] == (
        "  1. [24] <script>alert(1)</script> (Clinical Production): eit_storage_https_only +2 more"
    )


def test_phi_posture_is_split_when_a_scope_is_configured() -> None:
    lines = summary_text(build_programme_result()).splitlines()
    assert any(line.startswith("PHI scope: ") and ", outside: " in line for line in lines)
    assert "Failing by severity: 1 critical, 3 high, 1 medium, 0 low, 0 info" in lines


def test_large_tenant_summary_stays_short() -> None:
    assert len(summary_text(build_large_result(2000)).splitlines()) <= 20


def test_complete_scan_says_so_and_verified_list_is_reported() -> None:
    result = build_result_for(clean_snapshot())
    verified = dataclasses.replace(
        result, baa_list=BaaListInfo("Contoso legal", "2026-10-01", True, "baa.json")
    )
    text = summary_text(verified)
    assert "Coverage: complete (every check evaluated for every scope)" in text
    assert "BAA list: version 2026-10-01, verified (baa.json)" in text


def test_control_characters_in_tenant_data_cannot_drive_the_terminal() -> None:
    result = build_fixture_result()
    hostile = dataclasses.replace(result, tenant_name="Contoso\x1b[2J\nFAKE LINE\r")
    text = summary_text(hostile)
    assert "\x1b" not in text
    assert "\r" not in text
    assert not any(line.startswith("FAKE LINE") for line in text.splitlines())


def test_gap_that_no_check_needed_is_not_called_an_unevaluated_scope() -> None:
    gap = CollectionGap(
        "/subscriptions/x/resourceGroups/r/providers/A.B/c/d", "graph:unused", "403"
    )
    result = build_result_for(dataclasses.replace(clean_snapshot(), gaps=(gap,)))
    assert result.summary["coverage"]["error_findings"] == 0
    lines = summary_text(result).splitlines()
    assert (
        "Coverage: INCOMPLETE - 1 collection gap(s), no ERROR finding "
        "(no check run needed the missing data); see report section 2"
    ) in lines
