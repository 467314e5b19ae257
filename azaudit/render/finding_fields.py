"""How the finding-per-row formats (SARIF, JUnit, CSV, Markdown) spell a finding's fields.

One place decides the effective severity shown and how observed JSON values become text, so the
formats cannot disagree about the same finding.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from azaudit.models import JSON, CheckMeta, Finding, ScanResult, Severity


def checks_by_id(result: ScanResult) -> dict[str, CheckMeta]:
    """The result's check metadata keyed by check id."""
    return {meta.id: meta for meta in result.checks}


def effective_severity(finding: Finding, checks: Mapping[str, CheckMeta]) -> Severity:
    """The finding's scored severity, or its check's severity when the result was not scored."""
    if finding.severity is not None:
        return finding.severity
    return checks[finding.check_id].severity


def observed_text(value: JSON) -> str:
    """The observed value as compact JSON text (`true`, `"westeurope"`, `null`, `{...}`)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(", ", ": "))


def one_line(text: object) -> str:
    """Text with line breaks and other control characters replaced by spaces.

    Resource names and tags are set by whoever administers the tenant; a newline in one could
    otherwise forge a row in a Markdown table or a line in a log.
    """
    return "".join(ch if ch.isprintable() else " " for ch in str(text))
