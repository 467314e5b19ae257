"""results.json: the machine-readable result for pipelines (documented in docs/results-schema.md).

The document is versioned (`schema`, `schema_version`) and validated in the tests against the JSON
Schema shipped in `reports/results.schema.json`. Keys are written in a fixed order and lists in
the order `result.py` decided, so two scans of the same tenant diff cleanly.

It is streamed: the small head sections are indented, and each finding and collection gap is one
compact line, written a batch of lines at a time (the pure-Python indenting encoder costs
seconds and gigabytes at 50,000 resources). A finding's line is filled into a fixed template
when its texts need no escaping (`_template_lines`), else encoded by the C encoder; both give
the same bytes. Any value Azure can send renders: NaN and infinities become strings, integers
too long to print become a note, and a lone surrogate is written as its JSON escape.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from typing import Any, BinaryIO

from azaudit.models import JSON, CheckMeta, Citation, Finding, ScanResult, Severity, Status
from azaudit.risk import effective_severity, in_phi_scope

RESULTS_SCHEMA = "https://azaudit.dev/schemas/results/2"
RESULTS_SCHEMA_VERSION = 2
SCHEMA_FILE = "results.schema.json"
"""The JSON Schema of results.json, next to the report templates (see `paths.reports_dir`)."""

_MAX_INT_BITS = 13_000
"""Above ~3,900 decimal digits Python refuses to print an int (int_max_str_digits is 4,300)."""

_BATCH = 512
"""Lines per write (about half a megabyte of findings): few system calls, little memory."""


def json_safe(value: JSON) -> JSON:
    """`value` with every number JSON cannot carry replaced by a string (a copy; iterative).

    NaN, Infinity and -Infinity become `"NaN"`, `"Infinity"`, `"-Infinity"`; an integer too long
    to print becomes `"<integer of N bits>"`. Strings are left alone (see `encode`).
    """
    if not isinstance(value, dict | list | float | int):
        return value
    root: list[Any] = [value]
    stack: list[tuple[Any, Any]] = [(root, 0)]
    while stack:
        container, key = stack.pop()
        item = container[key]
        if isinstance(item, bool):
            continue
        if isinstance(item, float) and not math.isfinite(item):
            container[key] = (
                "NaN" if math.isnan(item) else ("Infinity" if item > 0 else "-Infinity")
            )
        elif isinstance(item, int) and item.bit_length() > _MAX_INT_BITS:
            container[key] = f"<integer of {item.bit_length()} bits>"
        elif isinstance(item, dict):
            copy = dict(item)
            container[key] = copy
            stack.extend((copy, k) for k in copy)
        elif isinstance(item, list):
            copied = list(item)
            container[key] = copied
            stack.extend((copied, i) for i in range(len(copied)))
    return root[0]


_COMPACT = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))
"""One encoder for the one-line items: built once, it runs in C for every finding."""


def dumps(value: JSON, indent: int | None = None) -> str:
    """Strict JSON text of `value` (no NaN), falling back to `json_safe` when it is needed."""
    try:
        if indent is None:
            return _COMPACT.encode(value)
        return json.dumps(value, indent=indent, ensure_ascii=False, allow_nan=False)
    except ValueError:
        safe = json_safe(value)
        if indent is None:
            return _COMPACT.encode(safe)
        return json.dumps(safe, indent=indent, ensure_ascii=False, allow_nan=False)


def encode(text: str) -> bytes:
    """UTF-8 bytes; a lone surrogate (not encodable) becomes its `\\uXXXX` escape text."""
    return text.encode("utf-8", "backslashreplace")


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


def finding_document(finding: Finding, meta: CheckMeta) -> dict[str, JSON]:
    """One finding as results.json writes it: the evidence (`Finding.to_json`'s keys, in its
    order) plus identity and scoring.

    `write_json` builds this mapping only for a finding the template cannot take
    (`_template_lines` writes the same text for the others without it).
    """
    return {
        "check_id": finding.check_id,
        "status": _STATUS_TEXT[finding.status],
        "resource_id": finding.resource_id,
        "resource_type": finding.resource_type,
        "resource_name": finding.resource_name,
        "subscription_id": finding.subscription_id,
        "location": finding.location,
        "property_path": finding.property_path,
        "observed": finding.observed,
        "expected": finding.expected,
        "message": finding.message,
        "sub_item": finding.sub_item,
        "identity": finding.identity,
        "severity": _SEVERITY_TEXT[effective_severity(finding, meta)],
        "phi": in_phi_scope(finding),
        "waiver_id": finding.waiver_id,
    }


_STATUS_TEXT = {status: status.value for status in Status}
_SEVERITY_TEXT = {severity: severity.value for severity in Severity}

_STATUS_JSON = {status: _COMPACT.encode(text) for status, text in _STATUS_TEXT.items()}
_SEVERITY_JSON = {severity: _COMPACT.encode(text) for severity, text in _SEVERITY_TEXT.items()}

_ESCAPED = bytes(range(0x20)) + b'"\\'
"""The UTF-8 bytes of every character the encoder escapes (`ensure_ascii=False`): the control
characters, the quote and the backslash. It writes every other character as it is (a lone
surrogate too), and UTF-8 never uses these bytes inside a multi-byte character."""


def _needs_no_escaping(texts: list[str]) -> bool:
    """Whether the encoder writes each of `texts` unchanged between its quotes.

    Raises:
        TypeError: when one of them is not a string.
    """
    data = "".join(texts).encode("utf-8", "surrogatepass")
    return len(data.translate(None, _ESCAPED)) == len(data)


def _template_lines(findings: Sequence[Finding], check_severity: Mapping[str, str]) -> str | None:
    """The findings' results.json lines joined by `_SEPARATOR`, each exactly the text of
    `dumps(finding_document(...))`; None when one of them needs the encoder.

    The encoder spends most of its time per key and per value. Here keys, separators and enum
    texts are constant text and each text field is copied between its quotes: the encoder's
    bytes, as long as no text holds a character JSON escapes (checked for the whole batch at
    once). `observed` (any JSON value) is still encoded unless it is null, a boolean or a
    string. None when a text needs escaping, a field that should be text is not, or the
    encoder rejects `observed` (NaN, an integer too long to print: `dumps` applies
    `json_safe`). `check_severity`: each check's severity as JSON, the severity of a finding
    not yet scored (as in `effective_severity`).

    Each finding is unpacked in one step rather than read field by field, and its identity is
    written from its parts (`Finding.identity`: check id, case-folded resource id, sub-item).
    """
    lines: list[str] = []
    texts: list[str] = []
    try:
        for (
            check_id,
            status,
            resource_id,
            resource_type,
            resource_name,
            subscription_id,
            location,
            property_path,
            value,
            expected,
            message,
            sub_item,
            severity,
            phi,
            waiver_id,
        ) in findings:
            texts += (
                check_id,
                resource_id,
                resource_type,
                resource_name,
                property_path,
                expected,
                message,
                sub_item,
            )
            if subscription_id is None:
                subscription = "null"
            else:
                texts.append(subscription_id)
                subscription = '"' + subscription_id + '"'
            if location is None:
                where = "null"
            else:
                texts.append(location)
                where = '"' + location + '"'
            if waiver_id is None:
                waiver = "null"
            else:
                texts.append(waiver_id)
                waiver = '"' + waiver_id + '"'
            if value is None:
                observed = "null"
            elif isinstance(value, str):
                texts.append(value)
                observed = '"' + value + '"'
            elif value is True:
                observed = "true"
            elif value is False:
                observed = "false"
            else:
                observed = _COMPACT.encode(value)
            lines.append(
                "".join(
                    (
                        '{"check_id": "',
                        check_id,
                        '", "status": ',
                        _STATUS_JSON[status],
                        ', "resource_id": "',
                        resource_id,
                        '", "resource_type": "',
                        resource_type,
                        '", "resource_name": "',
                        resource_name,
                        '", "subscription_id": ',
                        subscription,
                        ', "location": ',
                        where,
                        ', "property_path": "',
                        property_path,
                        '", "observed": ',
                        observed,
                        ', "expected": "',
                        expected,
                        '", "message": "',
                        message,
                        '", "sub_item": "',
                        sub_item,
                        '", "identity": "',
                        check_id,
                        "|",
                        resource_id.lower(),
                        "|",
                        sub_item,
                        '", "severity": ',
                        check_severity[check_id] if severity is None else _SEVERITY_JSON[severity],
                        ', "phi": ',
                        "false" if phi is False else "true",
                        ', "waiver_id": ',
                        waiver,
                        "}",
                    )
                )
            )
        if not _needs_no_escaping(texts):
            return None
    except (TypeError, ValueError):
        return None
    return _SEPARATOR.join(lines)


_SEPARATOR = ",\n    "


def _head(result: ScanResult) -> dict[str, JSON]:
    """Every section before the findings, in the published key order."""
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
        "phi_scope": asdict(result.phi_scope),
        "evidence": asdict(result.evidence) if result.evidence is not None else None,
        "waivers": [asdict(w) for w in result.waivers],
        "history": asdict(result.history) if result.history is not None else None,
        "web_sites": [asdict(w) for w in result.web_sites],
        "display_names": dict(sorted(result.display_names.items())),
        "summary": dict(result.summary),
        "checks": [_check(c) for c in result.checks],
    }


def _findings(result: ScanResult) -> Iterator[dict[str, JSON]]:
    metas = {c.id: c for c in result.checks}
    for finding in result.findings:
        yield finding_document(finding, metas[finding.check_id])


def results_document(result: ScanResult) -> dict[str, JSON]:
    """The whole results.json document as a mapping (for tests and small results)."""
    return {
        **_head(result),
        "findings": list(_findings(result)),
        "collection_gaps": [g.to_json() for g in result.gaps],
    }


def write_json(result: ScanResult, stream: BinaryIO) -> None:
    """Stream results.json into `stream`: UTF-8, strict JSON, ending with a newline."""
    stream.write(b"{\n")
    for key, value in _head(result).items():
        text = dumps(value, indent=2).replace("\n", "\n  ")
        stream.write(encode(f"  {json.dumps(key)}: {text},\n"))
    _write_findings(stream, result)
    _write_lines(stream, "collection_gaps", (g.to_json() for g in result.gaps), last=True)
    stream.write(b"}\n")


def _write_findings(stream: BinaryIO, result: ScanResult) -> None:
    """`"findings": [` then one compact line per finding, `_BATCH` lines per write.

    A batch the template cannot take (`_template_lines`) is written finding by finding, each
    through the template if it can take that one, else through `finding_document` and `dumps`.
    """
    metas = {c.id: c for c in result.checks}
    check_severity = {c.id: _SEVERITY_JSON[c.severity] for c in result.checks}
    findings = result.findings
    stream.write(b'  "findings": [')
    for start in range(0, len(findings), _BATCH):
        batch = findings[start : start + _BATCH]
        text = _template_lines(batch, check_severity)
        if text is None:
            text = _SEPARATOR.join(
                _template_lines((f,), check_severity)
                or dumps(finding_document(f, metas[f.check_id]))
                for f in batch
            )
        stream.write(b"\n    " if start == 0 else b",\n    ")
        stream.write(encode(text))
    stream.write(b"\n  ],\n" if findings else b"],\n")


def _write_lines(
    stream: BinaryIO, key: str, items: Iterator[dict[str, JSON]], *, last: bool
) -> None:
    """`"key": [` then one compact line per item, written in batches."""
    stream.write(encode(f"  {json.dumps(key)}: ["))
    batch: list[str] = []
    first = True
    for item in items:
        batch.append("\n    " if first else ",\n    ")
        batch.append(dumps(item))
        first = False
        if len(batch) >= 2 * _BATCH:  # a separator and a line per item
            stream.write(encode("".join(batch)))
            batch.clear()
    stream.write(encode("".join(batch)))
    stream.write(b"]" if first else b"\n  ]")
    stream.write(b"\n" if last else b",\n")


def render_json(result: ScanResult) -> str:
    """The results.json text (for tests): what `write_json` streams, decoded."""
    buffer = io.BytesIO()
    write_json(result, buffer)
    return buffer.getvalue().decode("utf-8")
