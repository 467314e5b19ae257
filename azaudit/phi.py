"""PHI scope: which findings lie where protected health information lives, and how much they matter.

The same misconfiguration weighs more on a subscription that holds PHI than on a sandbox, so a
scan can name its PHI scope (subscriptions, resource groups, tags). Findings inside it are marked
`phi` and escalated one severity step (capped at critical); a PHI-scoped resource on a service the
BAA does not cover is critical. With no scope configured everything is PHI (fail closed).
Pure: the scope, the snapshot and the findings in, annotated findings out (docs/phi-scope.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from azaudit.errors import InputError
from azaudit.models import JSON, Finding, PhiScopeInfo, Severity, Status
from azaudit.snapshot import Snapshot, subscription_of

BAA_SCOPE_CHECK = "scope_baa_in_scope_service"
"""The check whose FAIL means "this resource's service is outside the BAA"."""

RESOURCE_GROUP_TYPE = "microsoft.resources/subscriptions/resourcegroups"

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")

_ESCALATION = {
    Severity.INFO: Severity.LOW,
    Severity.LOW: Severity.MEDIUM,
    Severity.MEDIUM: Severity.HIGH,
    Severity.HIGH: Severity.CRITICAL,
    Severity.CRITICAL: Severity.CRITICAL,
}


def escalate(severity: Severity) -> Severity:
    """One step more severe, capped at critical."""
    return _ESCALATION[severity]


@dataclass(frozen=True, slots=True)
class PhiScope:
    """Where PHI lives, as the user configured it (all ids compared case-insensitively).

    Attributes:
        subscriptions: subscription ids.
        resource_groups: `RG` (that name in any subscription) or `SUBSCRIPTION_ID/RG`.
        tags: `(key, value)` pairs; a resource carrying any of them is in scope.
    """

    subscriptions: tuple[str, ...] = ()
    resource_groups: tuple[str, ...] = ()
    tags: tuple[tuple[str, str], ...] = ()

    @property
    def configured(self) -> bool:
        """Whether any scope was named (otherwise everything is PHI)."""
        return bool(self.subscriptions or self.resource_groups or self.tags)

    @property
    def info(self) -> PhiScopeInfo:
        """The scope as reports show it."""
        return PhiScopeInfo(
            configured=self.configured,
            subscriptions=self.subscriptions,
            resource_groups=self.resource_groups,
            tags=tuple(f"{k}={v}" for k, v in self.tags),
        )


def parse_phi_scope(
    subscriptions: Iterable[str],
    resource_groups: Iterable[str],
    tags: Iterable[str],
    where: str = "--phi",
) -> PhiScope:
    """Validate the user's PHI scope.

    `where` prefixes messages (`--phi` for options, `azaudit.toml: phi` for the config file).

    Raises:
        InputError: naming the option and the expected form.
    """
    subs: list[str] = []
    for sub in subscriptions:
        sub = sub.strip()
        if not _GUID.match(sub):
            raise InputError(
                f"{where}-subscription {sub!r}: expected a subscription id "
                "(a GUID such as 00000000-0000-0000-0000-000000000000)"
            )
        subs.append(sub)
    groups: list[str] = []
    for raw in resource_groups:
        text = raw.strip().strip("/")
        sub, _, group = text.rpartition("/")
        if (sub and not _GUID.match(sub)) or not _RESOURCE_GROUP.match(group):
            raise InputError(
                f"{where}-resource-group {raw!r}: expected a resource group name or "
                "SUBSCRIPTION_ID/RESOURCE_GROUP"
            )
        groups.append(text)
    pairs: list[tuple[str, str]] = []
    for raw in tags:
        key, sep, value = raw.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"{where}-tag {raw!r}: expected KEY=VALUE, e.g. data-class=phi")
        pairs.append((key.strip(), value.strip()))
    return PhiScope(tuple(subs), tuple(groups), tuple(pairs))


def _norm_tags(raw: JSON) -> dict[str, str]:
    """Tags with case-folded names and values (ARM tag names are case-insensitive)."""
    if not isinstance(raw, Mapping):
        return {}
    return {str(k).lower(): str(v).lower() for k, v in raw.items() if v is not None}


def resource_group_of(resource_id: str) -> tuple[str, str] | None:
    """`(subscription id, resource group)` in lower case, from an ARM id below a group."""
    parts = resource_id.strip("/").split("/")
    if (
        len(parts) >= 4
        and parts[0].lower() == "subscriptions"
        and parts[2].lower() == ("resourcegroups")
    ):
        return parts[1].lower(), parts[3].lower()
    return None


class TagIndex:
    """Tags of every resource, resource group and subscription of a snapshot, built once."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.resources: dict[str, dict[str, str]] = {}
        self.groups: dict[tuple[str, str], dict[str, str]] = {}
        for row in snapshot.resources:
            rid = str(row.get("id", "")).lower().rstrip("/")
            tags = _norm_tags(row.get("tags"))
            if str(row.get("type", "")).lower() == RESOURCE_GROUP_TYPE:
                group = resource_group_of(rid)
                if group is not None:
                    self.groups[group] = tags
                continue
            self.resources[rid] = tags
        self.subscriptions = {
            str(s.get("subscriptionId", "")).lower(): _norm_tags(s.get("tags"))
            for s in snapshot.subscriptions
        }

    def own(self, resource_id: str) -> dict[str, str]:
        """The resource's own tags (empty when the snapshot does not list it)."""
        return self.resources.get(resource_id.lower().rstrip("/"), {})

    def containers(self, resource_id: str) -> Iterable[dict[str, str]]:
        """Tags of the resource, every parent resource, its resource group and subscription."""
        rid = resource_id.lower().rstrip("/")
        parts = rid.split("/")
        # /subscriptions/s/resourceGroups/g/providers/ns/type/name[/childtype/childname...]
        for end in range(len(parts), 0, -1):
            tags = self.resources.get("/".join(parts[:end]))
            if tags:
                yield tags
        group = resource_group_of(rid)
        if group is not None and group in self.groups:
            yield self.groups[group]
        sub = subscription_of(rid)
        if sub is not None and sub.lower() in self.subscriptions:
            yield self.subscriptions[sub.lower()]


def tags_match(tags: Mapping[str, str], wanted: Iterable[tuple[str, str]]) -> bool:
    """Whether `tags` (normalised by `TagIndex`) carry any of the wanted pairs."""
    return any(tags.get(k.lower()) == v.lower() for k, v in wanted)


class _Membership:
    """Decides, per finding, whether it lies in the PHI scope."""

    def __init__(self, scope: PhiScope, snapshot: Snapshot, index: TagIndex) -> None:
        self.scope = scope
        self.index = index
        self.decided: dict[str, bool] = {}  # several checks judge each resource
        self.subscriptions = {s.lower() for s in scope.subscriptions}
        self.groups_anywhere = {g.lower() for g in scope.resource_groups if "/" not in g}
        self.groups = {tuple(g.lower().split("/", 1)) for g in scope.resource_groups if "/" in g}
        # A subscription-level control (Defender plans, activity-log export, RBAC) protects every
        # PHI resource inside the subscription, so it is PHI-relevant when any of them is.
        self.holding: set[str] = set(self.subscriptions)
        for sub_id, tags in index.subscriptions.items():
            if tags_match(tags, scope.tags):
                self.holding.add(sub_id)
        for row in snapshot.resources:
            rid = str(row.get("id", ""))
            if self._resource_in_scope(rid):
                sub = subscription_of(rid)
                if sub is not None:
                    self.holding.add(sub.lower())

    def _resource_in_scope(self, resource_id: str) -> bool:
        sub = (subscription_of(resource_id) or "").lower()
        if sub in self.subscriptions:
            return True
        group = resource_group_of(resource_id)
        if group is not None and (group[1] in self.groups_anywhere or group in self.groups):
            return True
        if self.scope.tags:
            return any(tags_match(t, self.scope.tags) for t in self.index.containers(resource_id))
        return False

    def contains(self, finding: Finding) -> bool:
        rid = finding.resource_id
        known = self.decided.get(rid)
        if known is None:
            known = self.decided[rid] = self._decide(rid)
        return known

    def _decide(self, rid: str) -> bool:
        sub = subscription_of(rid)
        if sub is None:
            # Tenant-wide (Entra ID) settings govern every identity that can reach PHI.
            return True
        if rid.strip("/").count("/") == 1:  # /subscriptions/<id>
            return sub.lower() in self.holding
        return self._resource_in_scope(rid)


def apply_phi_scope(
    findings: Iterable[Finding],
    snapshot: Snapshot,
    scope: PhiScope,
    severities: Mapping[str, Severity],
) -> list[Finding]:
    """Mark every finding `phi` or not and set its effective `severity`.

    `severities` maps check id to the check's own severity. In PHI scope the severity is raised
    one step; a FAIL of the BAA-scope check in PHI scope is critical. Without a configured scope
    every finding is PHI.
    """
    membership = _Membership(scope, snapshot, TagIndex(snapshot)) if scope.configured else None
    escalated = {check_id: escalate(base) for check_id, base in severities.items()}
    failing, critical = Status.FAIL, Severity.CRITICAL
    out: list[Finding] = []
    append = out.append
    for finding in findings:
        check_id = finding.check_id
        phi = membership is None or membership.contains(finding)
        if not phi:
            severity = severities[check_id]
        elif check_id == BAA_SCOPE_CHECK and finding.status is failing:
            severity = critical
        else:
            severity = escalated[check_id]
        # The finding with its PHI flag and effective severity, built from its first twelve
        # fields as the tuple it is: `_replace` goes through a keyword mapping for every one of
        # the scan's findings, and a helper call per finding is a large share of this loop.
        append(_new_finding(Finding, (*finding[:_SCORED_AT], severity, phi, finding.waiver_id)))
    return out


_SCORED_AT = Finding._fields.index("severity")
"""Where the scoring fields start: every field before `severity` is kept as it is (the
field order is pinned by tests/test_engine.py)."""
_new_finding = tuple.__new__
