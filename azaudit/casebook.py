"""Turns a check's inline case into a tiny snapshot and runs the check on it.

Used by the catalogue tests and by `azaudit checks test`, so that an organisation's own checks are
held to the same standard as the built-in ones.

Case format (YAML, inside a check's `cases:` list)::

    - name: TLS 1.0 allowed
      expect: FAIL                      # the status every finding of the case must have
      resource: {type: Microsoft.Storage/storageAccounts, properties: {...}}   # the target
      details: {config/web: {...}}      # documents of the target (resource or subscription)
      resources: [...]                  # more inventory rows (e.g. vaults for a VM backup check)
      scopes: {"/subscriptions/...": {source: body}}   # documents of other scopes
      graph: {"graph:users": {value: [...]}}           # Microsoft Graph documents
      gaps: [{scope: ..., source: ..., reason: ...}]   # collection gaps to simulate
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from azaudit.catalogue import Case, Check
from azaudit.engine import evaluate_check
from azaudit.evaluators.base import ScanConfig
from azaudit.models import CollectionGap, Finding, Status, TargetKind
from azaudit.reference import BaaList, default_baa_list, default_us_regions
from azaudit.snapshot import Snapshot, subscription_scope

CASE_SUBSCRIPTION = "00000000-0000-0000-0000-0000000000c1"
CASE_TENANT = "00000000-0000-0000-0000-0000000000a1"
CASE_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CaseRun:
    """What a case produced, and whether that is what it expected."""

    check_id: str
    case: str
    expect: Status
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when there is at least one finding and every finding has the expected status."""
        return bool(self.findings) and all(f.status is self.expect for f in self.findings)

    def explain(self) -> str:
        """One line describing a mismatch."""
        got = ", ".join(f"{f.status.value} ({f.message})" for f in self.findings) or "no findings"
        return f"{self.check_id} / {self.case}: expected {self.expect.value}, got {got}"


def case_config(baa_list: BaaList | None = None) -> ScanConfig:
    """The fixed configuration cases run under (shipped BAA list, US regions, fixed clock)."""
    return ScanConfig(
        baa_list=baa_list or default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=CASE_NOW,
    )


def case_snapshot(check: Check, case: Case) -> Snapshot:
    """The snapshot a case describes."""
    body: Mapping[str, Any] = case.body
    sub_scope = subscription_scope(CASE_SUBSCRIPTION)
    resources: list[dict[str, Any]] = []
    details: dict[str, dict[str, Any]] = {}
    target_scope = sub_scope
    if check.meta.target is TargetKind.RESOURCE:
        resource = dict(body.get("resource") or {})
        if "type" not in resource:
            if check.meta.resource_types[0] == "*":
                raise ValueError(f"{check.id} / {case.name}: resource.type is required")
            resource["type"] = check.meta.resource_types[0]
        resource.setdefault("name", "case-resource")
        resource.setdefault(
            "id",
            f"{sub_scope}/resourceGroups/rg-case/providers/{resource['type']}/{resource['name']}",
        )
        resource.setdefault("subscriptionId", CASE_SUBSCRIPTION)
        resource.setdefault("location", "eastus")
        resources.append(resource)
        target_scope = str(resource["id"])
    for extra in body.get("resources") or ():
        row = dict(extra)
        row.setdefault("subscriptionId", CASE_SUBSCRIPTION)
        resources.append(row)
    if body.get("details"):
        details[target_scope] = dict(body["details"])
    for scope, docs in (body.get("scopes") or {}).items():
        details.setdefault(str(scope), {}).update(docs)
    gaps = tuple(
        CollectionGap(
            scope=str(g["scope"]),
            source=str(g["source"]),
            reason=str(g.get("reason", "simulated gap")),
            status_code=g.get("status_code"),
            error_code=g.get("error_code"),
        )
        for g in body.get("gaps") or ()
    )
    return Snapshot(
        collected_at="2026-01-15T12:00:00Z",
        tool_version="case",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": CASE_TENANT, "displayName": "Case tenant"},
        subscriptions=(
            {
                "id": sub_scope,
                "subscriptionId": CASE_SUBSCRIPTION,
                "displayName": "case-subscription",
                "state": "Enabled",
            },
        ),
        resources=tuple(resources),
        details=details,
        graph=dict(body.get("graph") or {}),
        gaps=gaps,
    )


def run_case(check: Check, case: Case, config: ScanConfig | None = None) -> CaseRun:
    """Evaluate one inline case."""
    snapshot = case_snapshot(check, case)
    findings = tuple(evaluate_check(snapshot, check, config or case_config()))
    if check.meta.target is TargetKind.RESOURCE and snapshot.resources:
        # Only the case's target counts; extra inventory rows are context.
        target = str(snapshot.resources[0]["id"]).lower()
        findings = tuple(f for f in findings if f.resource_id.lower().startswith(target))
    return CaseRun(check.id, case.name, case.expect, findings)
