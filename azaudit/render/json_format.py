"""results.json: the machine-readable result for pipelines (documented in docs/results-schema.md).

The document is versioned (`schema`, `schema_version`) and validated in the tests against the JSON
Schema shipped in `reports/results.schema.json`. Keys are written in a fixed order and lists in
the order `result.py` decided, so two scans of the same tenant diff cleanly.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from azaudit.models import JSON, CheckMeta, Citation, ScanResult

RESULTS_SCHEMA = "https://azaudit.dev/schemas/results/1"
RESULTS_SCHEMA_VERSION = 1
SCHEMA_FILE = "results.schema.json"
"""The JSON Schema of results.json, next to the report templates (see `paths.reports_dir`)."""


def _citation(citation: Citation) -> dict[str, JSON]:
    return {
        "citation": citation.id,
        "label": citation.label,
        "title": citation.title,
        "safeguard": citation.safeguard,
        "implementation": citation.implementation,
    }


def _check(meta: CheckMeta) -> dict[str, JSON]:
    return {
        "id": meta.id,
        "title": meta.title,
        "family": meta.family,
        "severity": meta.severity.value,
        "hipaa": [_citation(c) for c in meta.citations],
        "rationale": meta.rationale,
        "remediation": asdict(meta.remediation),
        "references": list(meta.references),
        "target": meta.target.value,
        "resource_types": list(meta.resource_types),
        "origin": meta.origin,
    }


def results_document(result: ScanResult) -> dict[str, JSON]:
    """The results.json document as a JSON-ready mapping (key order is the published order)."""
    return {
        "schema": RESULTS_SCHEMA,
        "schema_version": RESULTS_SCHEMA_VERSION,
        "tool": {"name": "azaudit", "version": result.tool_version},
        "scan": {
            "generated_at": result.generated_at,
            "collected_at": result.collected_at,
            "snapshot_schema_version": result.snapshot_schema_version,
            "tenant": {"id": result.tenant_id, "name": result.tenant_name},
            "cloud": result.cloud,
            "subscriptions": [asdict(s) for s in result.subscriptions],
            "baa_list": asdict(result.baa_list),
            "allowed_regions": list(result.allowed_regions),
        },
        "summary": dict(result.summary),
        "checks": [_check(c) for c in result.checks],
        "findings": [f.to_json() for f in result.findings],
        "collection_gaps": [g.to_json() for g in result.gaps],
    }


def render_json(result: ScanResult) -> str:
    """The results.json text: indented UTF-8 JSON, strict (no NaN), ending with a newline."""
    return (
        json.dumps(results_document(result), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    )
