"""results.json: the machine-readable result (schema documented in docs/results-schema.md)."""

from __future__ import annotations

import json
from dataclasses import asdict

from azaudit.models import JSON, CheckMeta, ScanResult

RESULTS_SCHEMA = "https://azaudit.dev/schemas/results/1"
RESULTS_SCHEMA_VERSION = 1


def _check(meta: CheckMeta) -> dict[str, JSON]:
    return {
        "id": meta.id,
        "title": meta.title,
        "family": meta.family,
        "severity": meta.severity.value,
        "hipaa": [
            {
                "citation": c.id,
                "label": c.label,
                "title": c.title,
                "safeguard": c.safeguard,
                "implementation": c.implementation,
            }
            for c in meta.citations
        ],
        "rationale": meta.rationale,
        "remediation": asdict(meta.remediation),
        "references": list(meta.references),
        "target": meta.target.value,
        "resource_types": list(meta.resource_types),
        "origin": meta.origin,
    }


def render_json(result: ScanResult) -> str:
    """The results.json document (stable key order, so runs diff cleanly)."""
    document: dict[str, JSON] = {
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
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"
