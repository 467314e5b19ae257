"""docs/coverage.md: what the catalogue covers, against the anchors it is measured by.

The coverage target (`data/coverage_target.yaml`) lists the checks a best-in-class Azure HIPAA
auditor runs, each with the anchors that have an equivalent (Azure Policy's HITRUST/HIPAA
initiative, Prowler, Steampipe, ...) and, where azaudit does not implement it, the decision
(planned or rejected) and why. The page is generated from that file and the checks themselves,
so it cannot drift from the catalogue; a test fails when the committed page is stale.

    python -m azaudit.coverage              # rewrite docs/coverage.md
    python -m azaudit.coverage --check      # exit 1 if docs/coverage.md is stale
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azaudit.catalogue import FAMILY_TITLES, Catalogue, Check, load_catalogue
from azaudit.catalogue_views import checks_citing
from azaudit.errors import InputError
from azaudit.paths import data_dir
from azaudit.yaml_text import safe_load

TARGET_FILE = "coverage_target.yaml"
DECISIONS = ("planned", "rejected")
ATTESTED_FAMILY = "administrative"
DEFAULT_OUT = Path("docs/coverage.md")


@dataclass(frozen=True, slots=True)
class TargetRow:
    """One row of the coverage target: implemented by `checks`, or decided with a reason."""

    row: int
    id: str
    section: str
    condition: str
    hipaa: str
    anchors: tuple[str, ...]
    legacy_anchors: tuple[str, ...]
    checks: tuple[str, ...]
    decision: str | None
    reason: str


@dataclass(frozen=True, slots=True)
class LegacyItem:
    """An anchor's check on a retired service or mechanism (reported, not implemented)."""

    id: str
    subject: str
    anchors: tuple[str, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class CoverageTarget:
    """The coverage target with its anchor legend."""

    anchors: Mapping[str, str]
    rows: tuple[TargetRow, ...]
    legacy: tuple[LegacyItem, ...]

    def rows_for(self, check_id: str) -> tuple[TargetRow, ...]:
        """The target rows a check implements."""
        return tuple(r for r in self.rows if check_id in r.checks)


def load_target(path: Path | None = None) -> CoverageTarget:
    """Read and validate the coverage target.

    Raises:
        InputError: naming the file and the row on any problem.
    """
    path = path or data_dir() / TARGET_FILE
    document = safe_load(path.read_text(encoding="utf-8"))

    def fail(where: str, what: str) -> InputError:
        return InputError(f"{path}: {where}: {what}")

    if not isinstance(document, dict):
        raise fail("top level", "expected a mapping")
    anchors = {str(k): str(v) for k, v in (document.get("anchors") or {}).items()}
    rows: list[TargetRow] = []
    for i, raw in enumerate(document.get("rows") or ()):
        where = f"rows[{i}]"
        if not isinstance(raw, dict):
            raise fail(where, "expected a mapping")
        row = _row(raw)
        unknown = [a for a in (*row.anchors, *row.legacy_anchors) if a not in anchors]
        if unknown:
            raise fail(f"{where}.anchors", f"unknown anchor {unknown[0]!r}")
        if bool(row.checks) == (row.decision is not None):
            raise fail(where, "expected either 'checks' or a 'decision' with its 'reason'")
        if row.decision is not None and (row.decision not in DECISIONS or not row.reason):
            raise fail(f"{where}.decision", f"expected one of {', '.join(DECISIONS)} and a reason")
        rows.append(row)
    legacy = tuple(
        LegacyItem(
            id=str(item["id"]),
            subject=str(item["subject"]),
            anchors=tuple(str(a) for a in item.get("anchors") or ()),
            reason=str(item["reason"]),
        )
        for item in document.get("legacy") or ()
    )
    return CoverageTarget(anchors, tuple(rows), legacy)


def _row(raw: Mapping[str, Any]) -> TargetRow:
    return TargetRow(
        row=int(raw["row"]),
        id=str(raw["id"]),
        section=str(raw["section"]),
        condition=str(raw["condition"]),
        hipaa=str(raw["hipaa"]),
        anchors=tuple(str(a) for a in raw.get("anchors") or ()),
        legacy_anchors=tuple(str(a) for a in raw.get("legacy_anchors") or ()),
        checks=tuple(str(c) for c in raw.get("checks") or ()),
        decision=str(raw["decision"]) if raw.get("decision") is not None else None,
        reason=str(raw.get("reason") or ""),
    )


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return " ".join(text.split()).replace("|", "\\|")


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines.extend("| " + " | ".join(_cell(c) for c in row) + " |" for row in rows)
    return lines


def _anchors_of(check: Check, target: CoverageTarget) -> str:
    if check.meta.family == ATTESTED_FAMILY:
        return "attested; no anchor can evaluate it"
    rows = target.rows_for(check.id)
    if not rows:
        return "not in the coverage target"
    found = [a for r in rows for a in r.anchors if a != "new"]
    unique = list(dict.fromkeys(found))
    return ", ".join(unique) if unique else "none (no anchor has it)"


def render_coverage(catalogue: Catalogue, target: CoverageTarget) -> str:
    """The Markdown page (deterministic: same catalogue and target, same bytes)."""
    checks = [c for c in catalogue.checks if c.meta.origin == "builtin"]
    attested = [c for c in checks if c.meta.family == ATTESTED_FAMILY]
    implemented = [r for r in target.rows if r.checks]
    decided = {d: [r for r in target.rows if r.decision == d] for d in DECISIONS}
    out = [
        "# Catalogue coverage",
        "",
        "Generated from the checks in `checks/` and the coverage target in",
        "`azaudit/data/coverage_target.yaml` by `python -m azaudit.coverage`; do not edit by hand",
        "(a test fails when this page is stale).",
        "",
        "## Summary",
        "",
        f"- {len(checks)} checks: {len(checks) - len(attested)} evaluated from Azure data, "
        f"{len(attested)} administrative safeguards that need an attestation.",
        f"- Coverage target: {len(target.rows)} rows; {len(implemented)} implemented, "
        + ", ".join(f"{len(rows)} {d}" for d, rows in decided.items())
        + f"; {len(target.legacy)} anchor checks on retired services reported as legacy.",
        "",
    ]
    per_anchor = []
    for code, title in target.anchors.items():
        rows = [r for r in target.rows if code in r.anchors]
        per_anchor.append(
            [
                f"{code}: {title}",
                str(len(rows)),
                str(sum(1 for r in rows if r.checks)),
                *(str(sum(1 for r in rows if r.decision == d)) for d in DECISIONS),
            ]
        )
    out += _table(["anchor", "target rows", "implemented", *DECISIONS], per_anchor)
    out += [
        "",
        "## Checks",
        "",
        "Each check with its HIPAA citations (primary first), the coverage-target row it",
        "implements and the anchors that have an equivalent.",
        "",
    ]
    out += _table(
        ["check", "family", "severity", "HIPAA", "target row", "anchors with an equivalent"],
        [
            [
                f"`{c.id}`",
                FAMILY_TITLES.get(c.meta.family, c.meta.family),
                c.meta.severity.value,
                "; ".join(f"{x.label} {x.title}" for x in c.meta.citations),
                ", ".join(str(r.row) for r in target.rows_for(c.id)) or "-",
                _anchors_of(c, target),
            ]
            for c in checks
        ],
    )
    out += [
        "",
        "## Not implemented",
        "",
        "Every target row not implemented, and why.",
        "",
    ]
    out += _table(
        ["#", "target", "condition", "HIPAA", "anchors", "decision", "why"],
        [
            [
                str(r.row),
                f"`{r.id}`",
                r.condition,
                r.hipaa,
                ", ".join(r.anchors),
                r.decision or "",
                r.reason,
            ]
            for r in target.rows
            if r.decision is not None
        ],
    )
    out += ["", "## Legacy", "", "Anchor checks on retired services or mechanisms.", ""]
    out += _table(
        ["subject", "anchors", "why not implemented"],
        [[item.subject, ", ".join(item.anchors), item.reason] for item in target.legacy],
    )
    out += ["", "## Checks by citation", ""]
    rows_by_citation = []
    for citation in catalogue.citations.values():
        citing = list(checks_citing(catalogue, citation.id))
        builtin = [(c, p) for c, p in citing if c.meta.origin == "builtin"]
        rows_by_citation.append(
            [
                citation.label,
                f"{citation.title} ({citation.implementation})",
                ", ".join(f"`{c.id}`" for c, primary in builtin if primary) or "-",
                ", ".join(f"`{c.id}`" for c, primary in builtin if not primary) or "-",
            ]
        )
    out += _table(["citation", "title", "filed under it", "also cited by"], rows_by_citation)
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    """Write (or with `--check`, verify) the coverage page."""
    parser = argparse.ArgumentParser(prog="python -m azaudit.coverage", description=__doc__)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="page to write")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    args = parser.parse_args(argv)
    page = render_coverage(load_catalogue(), load_target())
    out: Path = args.out
    if args.check:
        current = out.read_text(encoding="utf-8") if out.is_file() else ""
        if current != page:
            print(f"{out} is stale: run python -m azaudit.coverage", file=sys.stderr)
            return 1
        return 0
    out.write_text(page, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
