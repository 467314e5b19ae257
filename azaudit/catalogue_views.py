"""Read-only views of the check catalogue for people: the checks grouped by HIPAA citation.

An auditor starts from the regulation ("what do you have for 164.312(b)?"), not from check ids;
this view answers that, including the paragraphs no check covers yet. The CLI prints the lines.
"""

from __future__ import annotations

from collections.abc import Iterator

from azaudit.catalogue import Catalogue, Check
from azaudit.models import Citation


def citation_heading(citation: Citation) -> str:
    """`45 CFR 164.312(b) Audit controls (standard)` - one line naming a paragraph."""
    return f"{citation.label} {citation.title} ({citation.implementation})"


def checks_citing(catalogue: Catalogue, citation_id: str) -> Iterator[tuple[Check, bool]]:
    """The checks that cite `citation_id`, primary citers first, each with `is_primary`."""
    citing = [
        (check, check.meta.primary_citation.id == citation_id)
        for check in catalogue.checks
        if any(c.id == citation_id for c in check.meta.citations)
    ]
    yield from sorted(citing, key=lambda pair: (not pair[1], pair[0].id))


def by_citation_lines(catalogue: Catalogue, *, include_uncovered: bool = True) -> list[str]:
    """The catalogue grouped by citation, in the order of the citation table.

    Each paragraph is a heading line followed by one indented line per check citing it:
    id, severity, `primary` (the check is filed under this paragraph in reports) or `also`,
    and title. Paragraphs no check cites show `(no check)` unless `include_uncovered` is off.
    """
    lines: list[str] = []
    for citation in catalogue.citations.values():
        citing = list(checks_citing(catalogue, citation.id))
        if not citing and not include_uncovered:
            continue
        lines.append(citation_heading(citation))
        if not citing:
            lines.append("  (no check)")
        for check, primary in citing:
            meta = check.meta
            role = "primary" if primary else "also"
            lines.append(f"  {meta.id:<40} {meta.severity.value:<8} {role:<7} {meta.title}")
    return lines
