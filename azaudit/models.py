"""The value types every layer hands to the next: gaps, findings, checks' metadata, results.

Collectors produce a `Snapshot` (see `snapshot.py`) that carries `CollectionGap`s; the engine turns
it into `Finding`s; `ScanResult` bundles them with the metadata the renderers need. All of them are
immutable (frozen dataclasses; a finding is a named tuple) so that no layer can change what an
earlier layer decided.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

JSON = Any
"""A value decoded from JSON (dict, list, str, int, float, bool or None)."""


class Status(enum.StrEnum):
    """Outcome of one check against one scope.

    PASS is only ever produced from positive evidence; missing data gives ERROR.
    """

    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    MANUAL = "MANUAL"
    WAIVED = "WAIVED"


class Severity(enum.StrEnum):
    """How much a failing finding matters for a PHI-bearing subscription."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        """Larger is more severe; used for sorting and `--fail-on` thresholds."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 4,
    Severity.HIGH: 3,
    Severity.MEDIUM: 2,
    Severity.LOW: 1,
    Severity.INFO: 0,
}


class TargetKind(enum.StrEnum):
    """What a check iterates over."""

    RESOURCE = "resource"
    SUBSCRIPTION = "subscription"
    TENANT = "tenant"


TENANT_SCOPE = "/"
"""Scope string for tenant-wide data (Microsoft Graph, tenant-level ARM)."""


@dataclass(frozen=True, slots=True)
class CollectionGap:
    """Data a collector tried and failed to read.

    Attributes:
        scope: ARM id the gap covers (a subscription `/subscriptions/<id>`, a resource id) or
            `/` for the whole tenant. Everything below the scope is affected.
        source: the data source that failed (`resources` for inventory, an ARM path suffix such as
            `config/web`, `graph:<path>` for Microsoft Graph) or `*` for every source.
        reason: a human sentence; never contains a token or a secret.
        status_code: HTTP status if there was one.
        error_code: the ARM/Graph error code if there was one.
    """

    scope: str
    source: str
    reason: str
    status_code: int | None = None
    error_code: str | None = None

    def covers(self, scope: str, source: str) -> bool:
        """Whether this gap makes `source` at `scope` unknowable."""
        if self.source != "*" and self.source.lower() != source.lower():
            return False
        return scope_contains(self.scope, scope)

    def to_json(self) -> dict[str, JSON]:
        """Return the documented JSON form used by the snapshot and results.json."""
        return {
            "scope": self.scope,
            "source": self.source,
            "reason": self.reason,
            "status_code": self.status_code,
            "error_code": self.error_code,
        }


def scope_contains(outer: str, inner: str) -> bool:
    """Whether ARM scope `inner` is `outer` or lies below it (case-insensitive, by segment)."""
    outer_norm = outer.strip("/").lower()
    inner_norm = inner.strip("/").lower()
    if not outer_norm:
        return True
    return inner_norm == outer_norm or inner_norm.startswith(outer_norm + "/")


@dataclass(frozen=True, slots=True)
class Citation:
    """One paragraph of the HIPAA Security Rule (45 CFR Part 164 Subpart C)."""

    id: str
    title: str
    safeguard: str
    implementation: str  # "required", "addressable", "standard" or "policy"

    @property
    def label(self) -> str:
        """`45 CFR 164.312(e)(1)` - how an auditor writes it; `Organisational policy` for a
        requirement with no Security Rule paragraph (`policy:<topic>` ids)."""
        if self.id.startswith("policy:"):
            return "Organisational policy"
        return f"45 CFR {self.id}"


@dataclass(frozen=True, slots=True)
class Remediation:
    """How to fix a failing finding, in the forms an engineer can act on."""

    summary: str
    cli: str | None = None
    portal: str | None = None
    azure_policy_id: str | None = None
    azure_policy_name: str | None = None


@dataclass(frozen=True, slots=True)
class CheckMeta:
    """What a reader of a report needs to know about a check (no rule logic)."""

    id: str
    title: str
    family: str
    severity: Severity
    citations: tuple[Citation, ...]
    rationale: str
    remediation: Remediation
    references: tuple[str, ...]
    target: TargetKind
    resource_types: tuple[str, ...]
    origin: str  # "builtin" or the path of an organisation's checks directory

    @property
    def primary_citation(self) -> Citation:
        """The citation the check is filed under in the report."""
        return self.citations[0]


class Finding(NamedTuple):
    """One check's verdict on one scope, with the evidence behind it.

    A named tuple rather than a frozen dataclass: equally immutable, and a scan builds one per
    check and resource (hundreds of thousands on a large tenant, twice: evaluated, then scored),
    which a tuple does about five times faster. Change one with `_replace`.
    """

    check_id: str
    status: Status
    resource_id: str
    resource_type: str
    resource_name: str
    subscription_id: str | None
    location: str | None
    property_path: str
    observed: JSON
    expected: str
    message: str
    sub_item: str = ""
    """Names the sub-object when one check yields several findings on one resource (e.g. the
    operation of an activity-log alert); part of `identity`. Empty otherwise."""
    severity: Severity | None = None
    """Effective severity: the check's, raised one step in PHI scope. None until scored."""
    phi: bool | None = None
    """Whether the finding lies in PHI scope; None until the scope was applied."""
    waiver_id: str | None = None
    """The waiver (accepted risk) that turned this finding WAIVED, if any."""

    @property
    def identity(self) -> str:
        """Stable identity across runs: check id, resource id (case-folded) and sub-item.

        History, diff, waivers and SARIF fingerprints key findings by it (docs/history.md).
        """
        return f"{self.check_id}|{self.resource_id.lower()}|{self.sub_item}"

    def to_json(self) -> dict[str, JSON]:
        """Return the documented JSON form used in results.json."""
        return {
            "check_id": self.check_id,
            "status": self.status.value,
            "resource_id": self.resource_id,
            "resource_type": self.resource_type,
            "resource_name": self.resource_name,
            "subscription_id": self.subscription_id,
            "location": self.location,
            "property_path": self.property_path,
            "observed": self.observed,
            "expected": self.expected,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class BaaListInfo:
    """Provenance of the BAA in-scope service list used for a scan (shown in every report)."""

    source: str
    version: str
    verified: bool
    path: str
    note: str = ""
    """What of the list is not verified, in one sentence ("" when all of it is)."""


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """A subscription as shown in reports."""

    subscription_id: str
    display_name: str
    state: str


@dataclass(frozen=True, slots=True)
class PhiScopeInfo:
    """Where PHI lives, as configured for a scan (shown in every report).

    With nothing configured every finding is treated as PHI (fail closed) and reports say so.
    """

    configured: bool = False
    subscriptions: tuple[str, ...] = ()
    resource_groups: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # "KEY=VALUE"


@dataclass(frozen=True, slots=True)
class WaiverInfo:
    """One accepted risk from the waivers file and what it did in this scan.

    `state` is "active" (applied to `matched` findings), "expired" (no longer applies: its
    findings keep their verdict) or "unmatched" (active but matched nothing).
    `errors` counts ERROR findings the waiver selects: they stay ERROR (never WAIVED).
    """

    id: str
    check_id: str
    selector: str
    justification: str
    approver: str
    ticket: str
    expires: str
    state: str
    matched: int
    errors: int = 0


@dataclass(frozen=True, slots=True)
class EvidenceInfo:
    """The chain an auditor follows from a report back to the evidence it was computed from."""

    snapshot_sha256: str | None
    scanning_identity: str | None
    tool_version: str
    catalogue_version: str


@dataclass(frozen=True, slots=True)
class FindingChange:
    """A finding that is new or resolved since the previous run (by `Finding.identity`)."""

    identity: str
    check_id: str
    resource_id: str
    resource_name: str
    severity: Severity


@dataclass(frozen=True, slots=True)
class TrendPoint:
    """One earlier (or this) run in the posture trend."""

    run_id: str
    generated_at: str
    posture: float | None
    failing: int


@dataclass(frozen=True, slots=True)
class HistoryInfo:
    """This run against the previous recorded run of the same tenant."""

    previous_run_id: str | None
    previous_generated_at: str | None
    new: tuple[FindingChange, ...]
    resolved: tuple[FindingChange, ...]
    still_open: int
    trend: tuple[TrendPoint, ...]


@dataclass(frozen=True, slots=True)
class WebSiteInfo:
    """A public site found in (or given for) the tenant, scanned or not."""

    url: str
    origin: str  # "inventory" or "user"
    resource_id: str | None
    scanned: bool
    pages_scanned: int
    note: str


@dataclass(frozen=True, slots=True)
class ScanResult:
    """Everything a renderer needs; renderers compute nothing beyond formatting this.

    Summaries are precomputed by `result.summarise`, not by templates.
    """

    tool_version: str
    generated_at: str
    collected_at: str
    snapshot_schema_version: int
    tenant_id: str
    tenant_name: str
    cloud: str
    subscriptions: tuple[SubscriptionInfo, ...]
    baa_list: BaaListInfo
    allowed_regions: tuple[str, ...]
    checks: tuple[CheckMeta, ...]
    findings: tuple[Finding, ...]
    gaps: tuple[CollectionGap, ...]
    summary: Mapping[str, JSON] = field(default_factory=dict)
    phi_scope: PhiScopeInfo = field(default_factory=PhiScopeInfo)
    waivers: tuple[WaiverInfo, ...] = ()
    evidence: EvidenceInfo | None = None
    history: HistoryInfo | None = None
    web_sites: tuple[WebSiteInfo, ...] = ()
    display_names: Mapping[str, str] = field(default_factory=dict)
    """Names the snapshot knows for ids (subscriptions, principals, groups), keyed by the id in
    lower case; reports show a name wherever they would otherwise show a GUID."""
