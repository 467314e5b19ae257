"""results.junit.xml: the result as JUnit XML for CI test tabs (Azure DevOps, GitLab, Jenkins).

One `<testsuite>` per check, one `<testcase>` per check × scope (a finding). The mapping of
azaudit statuses (documented in docs/formats.md):

- PASS            → a passed test case.
- FAIL            → `<failure>` (type = effective severity), the evidence in its text.
- ERROR           → `<error>`: the scope could not be evaluated; CI shows it as a broken test,
                    never as passed.
- MANUAL          → `<skipped>` "needs attestation".
- WAIVED          → `<skipped>` naming the waiver.
- NOT_APPLICABLE  → `<skipped>` "not applicable".

Counts in the `tests`/`failures`/`errors`/`skipped` attributes come from the precomputed
summary. The document is written suite by suite into the stream, so memory holds one check's
cases at a time.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from azaudit.models import CheckMeta, Finding, ScanResult, Status
from azaudit.render.finding_fields import checks_by_id, effective_severity, observed_text
from azaudit.render.json_format import RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION

SUITES_NAME = "azaudit HIPAA posture"

_XML_INVALID = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: object) -> str:
    """Text with the characters XML 1.0 cannot hold replaced (a tenant name may contain them)."""
    return _XML_INVALID.sub("\ufffd", str(text))


def _timestamp(generated_at: str) -> str:
    """The UTC time without its `Z`: the JUnit schema's timestamp takes no zone designator."""
    return generated_at.removesuffix("Z")


def _counts(counts: Mapping[str, int]) -> dict[str, str]:
    skipped = counts["MANUAL"] + counts["WAIVED"] + counts["NOT_APPLICABLE"]
    return {
        "tests": str(sum(counts.values())),
        "failures": str(counts["FAIL"]),
        "errors": str(counts["ERROR"]),
        "skipped": str(skipped),
    }


def _evidence(finding: Finding, meta: CheckMeta) -> str:
    lines = [
        finding.message,
        f"Resource: {finding.resource_id}",
        f"Property: {finding.property_path}",
        f"Observed: {observed_text(finding.observed)}",
        f"Expected: {finding.expected}",
        "HIPAA: " + "; ".join(f"{c.label} {c.title}" for c in meta.citations),
        f"Remediation: {meta.remediation.summary}",
    ]
    if meta.remediation.cli:
        lines.append(f"CLI: {meta.remediation.cli}")
    return _xml("\n".join(lines))


def _case_name(finding: Finding) -> str:
    name = finding.resource_id
    if finding.sub_item:
        name += f" [{finding.sub_item}]"
    return _xml(name)


def _testcase(finding: Finding, meta: CheckMeta, checks: Mapping[str, CheckMeta]) -> ET.Element:
    case = ET.Element(
        "testcase",
        {"classname": f"azaudit.{meta.family}.{meta.id}", "name": _case_name(finding), "time": "0"},
    )
    severity = effective_severity(finding, checks).value
    status = finding.status
    if status is Status.FAIL:
        failure = ET.SubElement(
            case, "failure", {"message": _xml(finding.message), "type": severity}
        )
        failure.text = _evidence(finding, meta)
    elif status is Status.ERROR:
        error = ET.SubElement(
            case,
            "error",
            {"message": _xml(f"Not evaluated: {finding.message}"), "type": "NotEvaluated"},
        )
        error.text = _evidence(finding, meta)
    elif status is Status.MANUAL:
        ET.SubElement(case, "skipped", {"message": _xml(f"Needs attestation: {finding.message}")})
    elif status is Status.WAIVED:
        waiver = finding.waiver_id or "unknown waiver"
        ET.SubElement(case, "skipped", {"message": _xml(f"Waived ({waiver}): {finding.message}")})
    elif status is Status.NOT_APPLICABLE:
        ET.SubElement(case, "skipped", {"message": _xml(f"Not applicable: {finding.message}")})
    return case


def _suite(
    meta: CheckMeta,
    entry: Mapping[str, Any],
    findings: Sequence[Finding],
    result: ScanResult,
    checks: Mapping[str, CheckMeta],
) -> ET.Element:
    suite = ET.Element(
        "testsuite",
        {
            "name": _xml(f"{meta.id}: {meta.title}"),
            **_counts(entry["counts"]),
            "time": "0",
            "timestamp": _timestamp(result.generated_at),
            "hostname": _xml(result.tenant_name),
        },
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("azaudit.version", result.tool_version),
        ("azaudit.results_schema", RESULTS_SCHEMA),
        ("azaudit.results_schema_version", str(RESULTS_SCHEMA_VERSION)),
        ("tenant.id", result.tenant_id),
        ("check.severity", meta.severity.value),
        ("check.hipaa", "; ".join(c.label for c in meta.citations)),
    ):
        ET.SubElement(properties, "property", {"name": name, "value": _xml(value)})
    for finding in findings:
        suite.append(_testcase(finding, meta, checks))
    return suite


def write_junit(result: ScanResult, stream: TextIO) -> None:
    """Write results.junit.xml (UTF-8, one suite per check in catalogue order) into `stream`."""
    checks = checks_by_id(result)
    entries = {entry["check_id"]: entry for entry in result.summary["checks"]}
    by_check: dict[str, list[Finding]] = defaultdict(list)
    for finding in result.findings:
        by_check[finding.check_id].append(finding)
    root = ET.Element("testsuites", {"name": SUITES_NAME, **_counts(result.summary["counts"])})
    root.text = "\n"
    opening = ET.tostring(root, encoding="unicode")
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(opening[: opening.rindex("</testsuites>")])
    for meta in result.checks:
        suite = _suite(meta, entries[meta.id], by_check.get(meta.id, ()), result, checks)
        ET.indent(suite, space="  ", level=1)
        stream.write("  " + ET.tostring(suite, encoding="unicode").rstrip() + "\n")
    stream.write("</testsuites>\n")


def render_junit(result: ScanResult) -> str:
    """results.junit.xml as a string."""
    buffer = io.StringIO()
    write_junit(result, buffer)
    return buffer.getvalue()
