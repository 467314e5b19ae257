"""results.sarif: the result as a SARIF 2.1.0 log for code-scanning and SAST viewers.

One rule per check (metadata, HIPAA citations, remediation as help text), one result per
finding that needs action, located logically by its ARM id. The mapping of azaudit statuses to
SARIF (documented in docs/formats.md):

- FAIL    → `kind: fail`, level from the effective severity.
- ERROR   → `kind: fail` as well, level from the effective severity, `properties.status: ERROR`:
            a scope that could not be evaluated is not compliant (fail closed), so a viewer that
            gates on level must see it. SARIF's `open` kind would force `level: none`.
- WAIVED  → `kind: fail` with an `external`, `accepted` suppression carrying the waiver.
- MANUAL  → `kind: review`, `level: none`: it needs a person's attestation.
- PASS and NOT_APPLICABLE are not written (results.json and findings.csv hold them).

Collection gaps are tool execution notifications of the single invocation, so an incomplete
scan is visible in the log itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TextIO

from azaudit.models import JSON, CheckMeta, Finding, ScanResult, Severity, Status, WaiverInfo
from azaudit.render.finding_fields import checks_by_id, effective_severity, observed_text
from azaudit.render.json_format import RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA_URI = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
INFORMATION_URI = "https://azaudit.dev"
FINGERPRINT_KEY = "azauditFindingIdentity/v1"
"""`partialFingerprints` key; the value is `Finding.identity` (stable across runs)."""

LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}
"""GitHub's `security-severity` scale: ≥9.0 critical, 7.0-8.9 high, 4.0-6.9 medium, <4 low."""

_WRITTEN = (Status.FAIL, Status.ERROR, Status.WAIVED, Status.MANUAL)


def _help_markdown(meta: CheckMeta) -> str:
    remediation = meta.remediation
    lines = [f"**{meta.title}**", "", meta.rationale, "", f"**Remediation:** {remediation.summary}"]
    if remediation.cli:
        lines += ["", "```sh", remediation.cli, "```"]
    if remediation.portal:
        lines += ["", f"**Portal:** {remediation.portal}"]
    if remediation.azure_policy_id:
        name = remediation.azure_policy_name or remediation.azure_policy_id
        lines += ["", f"**Azure Policy:** {name} (`{remediation.azure_policy_id}`)"]
    lines += ["", "**HIPAA:** " + "; ".join(f"{c.label} {c.title}" for c in meta.citations)]
    return "\n".join(lines)


def _help_text(meta: CheckMeta) -> str:
    remediation = meta.remediation
    parts = [remediation.summary]
    if remediation.cli:
        parts.append(f"CLI: {remediation.cli}")
    if remediation.portal:
        parts.append(f"Portal: {remediation.portal}")
    if remediation.azure_policy_id:
        parts.append(f"Azure Policy: {remediation.azure_policy_id}")
    parts.append("HIPAA: " + "; ".join(c.label for c in meta.citations))
    return "\n".join(parts)


def _rule(meta: CheckMeta) -> dict[str, JSON]:
    rule: dict[str, JSON] = {
        "id": meta.id,
        "name": "".join(part.capitalize() for part in meta.id.split("_")),
        "shortDescription": {"text": meta.title},
        "fullDescription": {"text": meta.rationale},
        "help": {"text": _help_text(meta), "markdown": _help_markdown(meta)},
        "defaultConfiguration": {"level": LEVELS[meta.severity]},
        "properties": {
            "tags": ["security", "hipaa", meta.family, *(c.label for c in meta.citations)],
            "security-severity": SECURITY_SEVERITY[meta.severity],
            "severity": meta.severity.value,
            "family": meta.family,
            "hipaa": [
                {"citation": c.id, "label": c.label, "title": c.title, "safeguard": c.safeguard}
                for c in meta.citations
            ],
            "target": meta.target.value,
            "origin": meta.origin,
        },
    }
    if meta.references:
        rule["helpUri"] = meta.references[0]
    return rule


def _message(finding: Finding) -> str:
    if finding.status is Status.ERROR:
        return f"Not evaluated (counts as non-compliant): {finding.message}"
    return finding.message


def _suppression(finding: Finding, waivers: Mapping[str, WaiverInfo]) -> dict[str, JSON]:
    suppression: dict[str, JSON] = {"kind": "external", "status": "accepted"}
    waiver = waivers.get(finding.waiver_id or "")
    if waiver is None:
        suppression["properties"] = {"waiver_id": finding.waiver_id}
        return suppression
    suppression["justification"] = waiver.justification
    suppression["properties"] = {
        "waiver_id": waiver.id,
        "approver": waiver.approver,
        "ticket": waiver.ticket,
        "expires": waiver.expires,
    }
    return suppression


def _result(
    finding: Finding,
    rule_index: int,
    checks: Mapping[str, CheckMeta],
    waivers: Mapping[str, WaiverInfo],
) -> dict[str, JSON]:
    severity = effective_severity(finding, checks)
    review = finding.status is Status.MANUAL
    entry: dict[str, JSON] = {
        "ruleId": finding.check_id,
        "ruleIndex": rule_index,
        "kind": "review" if review else "fail",
        "level": "none" if review else LEVELS[severity],
        "message": {"text": _message(finding)},
        "locations": [
            {
                "logicalLocations": [
                    {
                        "name": finding.resource_name,
                        "fullyQualifiedName": finding.resource_id,
                        "kind": "resource",
                    }
                ]
            }
        ],
        "partialFingerprints": {FINGERPRINT_KEY: finding.identity},
        "properties": {
            "status": finding.status.value,
            "severity": severity.value,
            "security-severity": SECURITY_SEVERITY[severity],
            "resource_type": finding.resource_type,
            "subscription_id": finding.subscription_id,
            "location": finding.location,
            "sub_item": finding.sub_item,
            "property_path": finding.property_path,
            "observed": observed_text(finding.observed),
            "expected": finding.expected,
            "phi": finding.phi,
        },
    }
    if finding.status is Status.WAIVED:
        entry["suppressions"] = [_suppression(finding, waivers)]
    return entry


def _notification(result: ScanResult, index: int) -> dict[str, JSON]:
    gap = result.gaps[index]
    return {
        "level": "error",
        "message": {"text": f"Not collected ({gap.source}): {gap.reason}"},
        "locations": [{"logicalLocations": [{"fullyQualifiedName": gap.scope}]}],
        "properties": gap.to_json(),
    }


def _coverage_complete(result: ScanResult) -> bool:
    coverage = result.summary.get("coverage")
    return isinstance(coverage, Mapping) and coverage.get("complete") is True


def sarif_document(result: ScanResult) -> dict[str, JSON]:
    """The SARIF log as a JSON-ready mapping (one run, rules in catalogue order)."""
    checks = checks_by_id(result)
    rule_index = {meta.id: index for index, meta in enumerate(result.checks)}
    waivers = {w.id: w for w in result.waivers}
    results = [
        _result(f, rule_index[f.check_id], checks, waivers)
        for f in result.findings
        if f.status in _WRITTEN
    ]
    run: dict[str, JSON] = {
        "tool": {
            "driver": {
                "name": "azaudit",
                "version": result.tool_version,
                "informationUri": INFORMATION_URI,
                "rules": [_rule(meta) for meta in result.checks],
            }
        },
        "automationDetails": {"id": f"azaudit/hipaa/{result.tenant_id}/"},
        "invocations": [
            {
                "executionSuccessful": not result.gaps,
                "endTimeUtc": result.generated_at,
                "toolExecutionNotifications": [
                    _notification(result, i) for i in range(len(result.gaps))
                ],
            }
        ],
        "results": results,
        "properties": {
            "results_schema": RESULTS_SCHEMA,
            "results_schema_version": RESULTS_SCHEMA_VERSION,
            "tenant": {"id": result.tenant_id, "name": result.tenant_name},
            "cloud": result.cloud,
            "generated_at": result.generated_at,
            "collected_at": result.collected_at,
            "posture": result.summary.get("posture"),
            "coverage_complete": _coverage_complete(result),
        },
    }
    return {"$schema": SARIF_SCHEMA_URI, "version": SARIF_VERSION, "runs": [run]}


def write_sarif(result: ScanResult, stream: TextIO) -> None:
    """Write results.sarif (indented UTF-8 JSON ending with a newline) into `stream`."""
    json.dump(sarif_document(result), stream, indent=2, ensure_ascii=False, allow_nan=False)
    stream.write("\n")


def render_sarif(result: ScanResult) -> str:
    """results.sarif as a string."""
    return json.dumps(sarif_document(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
