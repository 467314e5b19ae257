"""Reads a results.json written by `azaudit scan` back into a `ScanResult` for `azaudit send`.

Only the documented results schema (docs/results-schema.md) is accepted; anything else is one
`InputError` line naming the file and the field, so a truncated or foreign file is never mailed
as if it were a scan.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from azaudit.errors import InputError
from azaudit.models import (
    BaaListInfo,
    CheckMeta,
    Citation,
    CollectionGap,
    Finding,
    Remediation,
    ScanResult,
    Severity,
    Status,
    SubscriptionInfo,
    TargetKind,
)
from azaudit.render.json_format import RESULTS_SCHEMA, RESULTS_SCHEMA_VERSION

_SUMMARY_KEYS = ("counts", "posture", "failing_by_severity", "top_risks", "coverage")
"""The summary fields the e-mail shows; a file without them cannot be summarised."""


class _Fields:
    """Typed access to one JSON object, naming the field on any mismatch."""

    def __init__(self, path: Path, where: str, value: object) -> None:
        if not isinstance(value, dict):
            raise InputError(f"{path}: {where}: expected an object")
        self.path = path
        self.where = where
        self.value: dict[str, Any] = value

    def _get(self, key: str, kinds: tuple[type, ...], expected: str, optional: bool) -> Any:
        if key not in self.value and optional:
            return None
        value = self.value.get(key)
        # bool is an int in Python; JSON true is not an integer.
        wrong_bool = isinstance(value, bool) and bool not in kinds
        if key not in self.value or not isinstance(value, kinds) or wrong_bool:
            raise InputError(f"{self.path}: {self.where}.{key}: expected {expected}")
        return value

    def text(self, key: str) -> str:
        return str(self._get(key, (str,), "a string", False))

    def text_or_none(self, key: str) -> str | None:
        if self.value.get(key) is None:
            return None
        return self.text(key)

    def integer(self, key: str) -> int:
        return int(self._get(key, (int,), "an integer", False))

    def flag(self, key: str) -> bool:
        return bool(self._get(key, (bool,), "true or false", False))

    def texts(self, key: str) -> tuple[str, ...]:
        items = self._get(key, (list,), "a list of strings", False)
        if not all(isinstance(item, str) for item in items):
            raise InputError(f"{self.path}: {self.where}.{key}: expected a list of strings")
        return tuple(items)

    def objects(self, key: str) -> list[_Fields]:
        items = self._get(key, (list,), "a list of objects", False)
        where = f"{self.where}.{key}"
        return [_Fields(self.path, f"{where}[{i}]", item) for i, item in enumerate(items)]

    def child(self, key: str) -> _Fields:
        value = self._get(key, (dict,), "an object", False)
        return _Fields(self.path, f"{self.where}.{key}", value)

    def choice(self, key: str, enum_type: type[Any]) -> Any:
        raw = self.text(key)
        try:
            return enum_type(raw)
        except ValueError:
            allowed = ", ".join(str(member.value) for member in enum_type)
            raise InputError(
                f"{self.path}: {self.where}.{key}: expected one of {allowed}, got {raw!r}"
            ) from None


def _check(fields: _Fields) -> CheckMeta:
    remediation = fields.child("remediation")
    citations = tuple(
        Citation(
            id=c.text("citation"),
            title=c.text("title"),
            safeguard=c.text("safeguard"),
            implementation=c.text("implementation"),
        )
        for c in fields.objects("hipaa")
    )
    if not citations:
        raise InputError(f"{fields.path}: {fields.where}.hipaa: expected at least one citation")
    return CheckMeta(
        id=fields.text("id"),
        title=fields.text("title"),
        family=fields.text("family"),
        severity=fields.choice("severity", Severity),
        citations=citations,
        rationale=fields.text("rationale"),
        remediation=Remediation(
            summary=remediation.text("summary"),
            cli=remediation.text_or_none("cli"),
            portal=remediation.text_or_none("portal"),
            azure_policy_id=remediation.text_or_none("azure_policy_id"),
            azure_policy_name=remediation.text_or_none("azure_policy_name"),
        ),
        references=fields.texts("references"),
        target=fields.choice("target", TargetKind),
        resource_types=fields.texts("resource_types"),
        origin=fields.text("origin"),
    )


def _finding(fields: _Fields, known_checks: Mapping[str, CheckMeta]) -> Finding:
    check_id = fields.text("check_id")
    if check_id not in known_checks:
        raise InputError(f"{fields.path}: {fields.where}.check_id: {check_id!r} is not in checks")
    severity = fields.value.get("severity")
    phi = fields.value.get("phi")
    return Finding(
        check_id=check_id,
        status=fields.choice("status", Status),
        resource_id=fields.text("resource_id"),
        resource_type=fields.text("resource_type"),
        resource_name=fields.text("resource_name"),
        subscription_id=fields.text_or_none("subscription_id"),
        location=fields.text_or_none("location"),
        property_path=fields.text("property_path"),
        observed=fields.value.get("observed"),
        expected=fields.text("expected"),
        message=fields.text("message"),
        sub_item=fields.text("sub_item") if "sub_item" in fields.value else "",
        severity=fields.choice("severity", Severity) if severity is not None else None,
        phi=fields.flag("phi") if phi is not None else None,
        waiver_id=fields.text_or_none("waiver_id"),
    )


def _gap(fields: _Fields) -> CollectionGap:
    status_code = fields.value.get("status_code")
    return CollectionGap(
        scope=fields.text("scope"),
        source=fields.text("source"),
        reason=fields.text("reason"),
        status_code=fields.integer("status_code") if status_code is not None else None,
        error_code=fields.text_or_none("error_code"),
    )


def load_results(path: Path) -> ScanResult:
    """The `ScanResult` recorded in results.json at `path`.

    Raises:
        InputError: the file is missing, not JSON, of another schema or version, or a field
            has the wrong shape.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no results.json here; run azaudit scan --out first") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a results.json (invalid JSON: {exc})") from None
    root = _Fields(path, "results", document)
    if root.value.get("schema") != RESULTS_SCHEMA:
        raise InputError(
            f"{path}: schema: expected {RESULTS_SCHEMA!r}; not an azaudit results file"
        )
    if root.value.get("schema_version") != RESULTS_SCHEMA_VERSION:
        raise InputError(
            f"{path}: schema_version: expected {RESULTS_SCHEMA_VERSION}, "
            f"got {root.value.get('schema_version')!r}"
        )
    scan = root.child("scan")
    tenant = scan.child("tenant")
    baa = scan.child("baa_list")
    summary = root.child("summary")
    for key in _SUMMARY_KEYS:
        if key not in summary.value:
            raise InputError(f"{path}: summary.{key}: missing")
    checks = tuple(_check(c) for c in root.objects("checks"))
    by_id = {c.id: c for c in checks}
    return ScanResult(
        tool_version=root.child("tool").text("version"),
        generated_at=scan.text("generated_at"),
        collected_at=scan.text("collected_at"),
        snapshot_schema_version=scan.integer("snapshot_schema_version"),
        tenant_id=tenant.text("id"),
        tenant_name=tenant.text("name"),
        cloud=scan.text("cloud"),
        subscriptions=tuple(
            SubscriptionInfo(
                subscription_id=s.text("subscription_id"),
                display_name=s.text("display_name"),
                state=s.text("state"),
            )
            for s in scan.objects("subscriptions")
        ),
        baa_list=BaaListInfo(
            source=baa.text("source"),
            version=baa.text("version"),
            verified=baa.flag("verified"),
            path=baa.text("path"),
        ),
        allowed_regions=scan.texts("allowed_regions"),
        checks=checks,
        findings=tuple(_finding(f, by_id) for f in root.objects("findings")),
        gaps=tuple(_gap(g) for g in root.objects("collection_gaps")),
        summary=summary.value,
    )
