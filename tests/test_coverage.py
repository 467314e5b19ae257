"""docs/coverage.md is generated from the catalogue and the coverage target, and kept fresh."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from azaudit.catalogue_views import by_citation_lines
from azaudit.coverage import load_target, main, render_coverage
from azaudit.errors import InputError
from azaudit.paths import data_dir
from tests.catalogue_support import builtin_catalogue

CATALOGUE = builtin_catalogue()
TARGET = load_target()
PAGE = Path(__file__).resolve().parents[1] / "docs" / "coverage.md"


def test_committed_page_is_fresh() -> None:
    # On failure: python -m azaudit.coverage, then review and commit docs/coverage.md.
    assert PAGE.read_text(encoding="utf-8") == render_coverage(CATALOGUE, TARGET)


def test_every_target_row_is_implemented_or_decided_with_a_reason() -> None:
    assert [r.row for r in TARGET.rows] == list(range(1, len(TARGET.rows) + 1))
    assert len({r.id for r in TARGET.rows}) == len(TARGET.rows)
    for row in TARGET.rows:
        for check_id in row.checks:
            assert CATALOGUE.get(check_id) is not None, (row.row, check_id)
        if not row.checks:
            assert row.decision in {"planned", "rejected"} and len(row.reason) > 20, row.id
    for item in TARGET.legacy:
        assert "retire" in item.reason or "legacy" in item.reason, item.id


def test_every_evaluated_check_maps_to_a_target_row() -> None:
    unmapped = [
        c.id
        for c in CATALOGUE.checks
        if c.meta.family != "administrative" and not TARGET.rows_for(c.id)
    ]
    assert unmapped == []


def test_page_shows_checks_citations_anchors_and_decisions() -> None:
    page = render_coverage(CATALOGUE, TARGET)
    assert "| `kv_purge_protection` | Encryption at rest and key management | high |" in page
    assert "AP-H, SP, SS, PR, CS" in page  # the anchors of row 16 (Key Vault purge protection)
    last = TARGET.rows[-1]
    decided = replace(last, checks=(), decision="planned", reason="new collection needed")
    with_decision = replace(TARGET, rows=(*TARGET.rows[:-1], decided))
    decided_page = render_coverage(CATALOGUE, with_decision)
    assert f"| {last.row} | `{last.id}` |" in decided_page and "| planned |" in decided_page
    assert "service retired on 2024-09-16" in page
    assert "| Organisational policy | US data residency" in page
    implemented = sum(1 for r in TARGET.rows if r.checks)
    assert f"{len(TARGET.rows)} rows; {implemented} implemented" in page


def test_generator_writes_and_detects_a_stale_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "coverage.md"
    assert main(["--check", "--out", str(out)]) == 1
    assert "is stale" in capsys.readouterr().err
    assert main(["--out", str(out)]) == 0
    assert main(["--check", "--out", str(out)]) == 0
    out.write_text(out.read_text() + "hand edit\n")
    assert main(["--check", "--out", str(out)]) == 1


def test_target_rows_must_be_implemented_or_decided(tmp_path: Path) -> None:
    text = (data_dir() / "coverage_target.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "target.yaml"
    first_checks = text[text.index("\n- row:") :].index("  checks: [")
    start = text.index("\n- row:") + first_checks
    end = text.index("\n", start) + 1
    broken.write_text(text[:start] + text[end:])
    with pytest.raises(InputError, match=r"rows\[0\]: expected either 'checks' or a 'decision'"):
        load_target(broken)


def test_by_citation_groups_checks_under_each_paragraph() -> None:
    lines = by_citation_lines(CATALOGUE)
    audit = lines.index("45 CFR 164.312(b) Audit controls (standard)")
    block = []
    for line in lines[audit + 1 :]:
        if not line.startswith("  "):
            break
        block.append(line.split())
    by_id = {b[0]: b for b in block}
    assert by_id["log_sql_auditing"][:3] == ["log_sql_auditing", "high", "primary"]
    roles = [b[2] for b in block]
    assert roles == sorted(roles, key=lambda r: r != "primary")  # primary citers first
    assert "adm_activity_review" in [b[0] for b in block]  # cited as a secondary paragraph
    residency = lines.index(
        "Organisational policy US data residency (organisational or contractual commitment; "
        "HIPAA sets no location requirement) (policy)"
    )
    assert lines[residency + 1].split()[0].startswith("residency_")
    uncovered = lines.index("45 CFR 164.308(a)(3)(i) Workforce security (standard)")
    assert lines[uncovered + 1] == "  (no check)"
    assert "  (no check)" not in by_citation_lines(CATALOGUE, include_uncovered=False)
