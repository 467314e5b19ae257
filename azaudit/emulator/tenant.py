"""A snapshot indexed as a tenant: what each ARM path, Resource Graph table and Graph path holds.

Everything here is built once when the emulator starts and only read afterwards, so request
threads share it without locks. Lookups are case-insensitive because ARM paths are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from azaudit.models import JSON, CollectionGap, scope_contains
from azaudit.snapshot import Snapshot, resource_subscription, subscription_scope
from azaudit.sources import INVENTORY

RESOURCE_COLUMNS: tuple[str, ...] = (
    "id",
    "name",
    "type",
    "tenantId",
    "kind",
    "location",
    "resourceGroup",
    "subscriptionId",
    "managedBy",
    "sku",
    "plan",
    "properties",
    "tags",
    "identity",
    "zones",
    "extendedLocation",
)
"""Columns of Resource Graph's `Resources` and `ResourceContainers` tables (every row has all)."""

_STRING_COLUMNS = frozenset(
    {"id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId"}
    | {"managedBy"}
)

_ARG_ONLY_COLUMNS = frozenset({"tenantId", "resourceGroup", "subscriptionId"})
"""Columns Resource Graph adds that an ARM GET of the resource does not return."""

_GENERIC_LIST_FIELDS = (
    "id",
    "name",
    "type",
    "location",
    "kind",
    "sku",
    "plan",
    "tags",
    "identity",
    "managedBy",
    "zones",
    "extendedLocation",
)
"""Fields of an item of ARM's generic `GET /subscriptions/{id}/resources` (no `properties`)."""

SUBSCRIPTION_TYPE = "microsoft.resources/subscriptions"
RESOURCE_GROUP_TYPE = "microsoft.resources/subscriptions/resourcegroups"


def _key(scope: str) -> str:
    """Lower-case scope without leading/trailing `/`: the form every index uses."""
    return "/".join(s for s in scope.lower().split("/") if s)


@dataclass(frozen=True, slots=True)
class DetailDoc:
    """A document from `snapshot.details` with the source name as the snapshot spells it."""

    source: str
    body: JSON


class Tenant:
    """Read-only indexes over a snapshot for the request handlers.

    Args:
        snapshot: the tenant to serve.
        management_groups: management group name -> subscription ids below it. Default: the
            tenant root group (named after the tenant id, as in Azure) holding every subscription.
    """

    def __init__(
        self, snapshot: Snapshot, management_groups: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.snapshot = snapshot
        self.tenant_id = snapshot.tenant_id
        self.display_name = str(snapshot.tenant.get("displayName") or "")
        self.gaps: tuple[CollectionGap, ...] = snapshot.gaps
        self.subscriptions: list[dict[str, JSON]] = [
            self._subscription_doc(s) for s in snapshot.subscriptions
        ]
        self._subscriptions = {str(s["subscriptionId"]).lower(): s for s in self.subscriptions}
        root = self.tenant_id or "tenant-root"
        groups = management_groups or {root: [str(s["subscriptionId"]) for s in self.subscriptions]}
        self.management_groups: dict[str, tuple[str, ...]] = {
            name: tuple(ids) for name, ids in groups.items()
        }
        self._groups_by_key = {name.lower(): name for name in self.management_groups}

        self.resources: list[dict[str, JSON]] = [self._arg_row(r) for r in snapshot.resources]
        self._resources: dict[str, dict[str, JSON]] = {}
        self._by_subscription: dict[str, list[dict[str, JSON]]] = {}
        self._groups: dict[tuple[str, str], dict[str, JSON]] = {}
        for row in self.resources:
            rid = str(row["id"])
            self._resources[_key(rid)] = row
            sub = str(row["subscriptionId"]).lower()
            self._by_subscription.setdefault(sub, []).append(row)
            group = self._group_of(rid)
            if group is not None and (sub, group.lower()) not in self._groups:
                self._groups[(sub, group.lower())] = {
                    "id": f"/subscriptions/{row['subscriptionId']}/resourceGroups/{group}",
                    "name": group,
                    "type": "Microsoft.Resources/resourceGroups",
                    "location": row.get("location") or "",
                    "properties": {"provisioningState": "Succeeded"},
                }

        self._details: dict[str, dict[str, DetailDoc]] = {}
        for scope, docs in snapshot.details.items():
            bucket = self._details.setdefault(_key(scope), {})
            for name, body in docs.items():
                bucket[_key(name)] = DetailDoc(name, body)
        self._graph: dict[str, JSON] = {
            _key(name.removeprefix("graph:")): body for name, body in snapshot.graph.items()
        }
        self._scopes = (
            set(self._resources)
            | set(self._details)
            | {_key(subscription_scope(s)) for s in self._subscriptions}
            | {_key(g.scope) for g in self.gaps if _key(g.scope)}
        )

    # -- subscriptions and management groups ---------------------------------------------------

    def _subscription_doc(self, raw: Mapping[str, JSON]) -> dict[str, JSON]:
        """The Subscriptions - List object, with the fields ARM always returns filled in."""
        doc = dict(raw)
        sub_id = str(doc["subscriptionId"])
        doc.setdefault("id", subscription_scope(sub_id))
        doc.setdefault("displayName", sub_id)
        doc.setdefault("state", "Enabled")
        if self.tenant_id:
            doc.setdefault("tenantId", self.tenant_id)
        doc.setdefault("authorizationSource", "RoleBased")
        return doc

    def subscription(self, subscription_id: str) -> dict[str, JSON] | None:
        """The subscription document, or None when the tenant has no such subscription."""
        return self._subscriptions.get(subscription_id.lower())

    def management_group(self, name: str) -> tuple[str, tuple[str, ...]] | None:
        """`(name as configured, subscription ids)` of a management group, or None."""
        actual = self._groups_by_key.get(name.lower())
        if actual is None:
            return None
        return actual, self.management_groups[actual]

    def groups_of(self, subscription_id: str) -> list[str]:
        """Management groups that hold a subscription."""
        wanted = subscription_id.lower()
        return [
            name
            for name, ids in self.management_groups.items()
            if wanted in {i.lower() for i in ids}
        ]

    # -- resources -----------------------------------------------------------------------------

    def _arg_row(self, raw: Mapping[str, JSON]) -> dict[str, JSON]:
        """A Resource Graph row: every table column present, as ARG always sends them."""
        row = dict(raw)
        rid = str(row["id"])
        for column in RESOURCE_COLUMNS:
            if column not in row:
                row[column] = "" if column in _STRING_COLUMNS else None
        if not row["subscriptionId"]:
            row["subscriptionId"] = resource_subscription(raw) or ""
        if not row["resourceGroup"]:
            row["resourceGroup"] = (self._group_of(rid) or "").lower()
        if not row["tenantId"]:
            row["tenantId"] = self.tenant_id
        if not row["name"]:
            row["name"] = rid.rstrip("/").rsplit("/", 1)[-1]
        return row

    @staticmethod
    def _group_of(resource_id: str) -> str | None:
        parts = [p for p in resource_id.split("/") if p]
        if len(parts) >= 4 and parts[2].lower() == "resourcegroups":
            return parts[3]
        return None

    def resource(self, resource_id: str) -> dict[str, JSON] | None:
        """The Resource Graph row of a resource."""
        return self._resources.get(_key(resource_id))

    def resources_of(self, subscription_id: str) -> list[dict[str, JSON]]:
        """Resource Graph rows of one subscription, in snapshot order."""
        return self._by_subscription.get(subscription_id.lower(), [])

    def resource_groups_of(self, subscription_id: str) -> list[dict[str, JSON]]:
        """ARM resource group documents of a subscription (derived from resource ids)."""
        wanted = subscription_id.lower()
        return [doc for (sub, _), doc in self._groups.items() if sub == wanted]

    def resource_group(self, subscription_id: str, name: str) -> dict[str, JSON] | None:
        """The ARM document of one resource group."""
        return self._groups.get((subscription_id.lower(), name.lower()))

    @staticmethod
    def arm_resource(row: Mapping[str, JSON]) -> dict[str, JSON]:
        """What `GET {resource id}` returns: the row without Resource Graph's own columns."""
        return {
            k: v
            for k, v in row.items()
            if k not in _ARG_ONLY_COLUMNS
            and (v not in (None, "") or k in {"id", "name", "type", "location"})
        }

    @staticmethod
    def generic_list_item(row: Mapping[str, JSON]) -> dict[str, JSON]:
        """An item of ARM's generic resources list (`properties` only with `$expand`)."""
        return {k: row[k] for k in _GENERIC_LIST_FIELDS if row.get(k) not in (None, "")}

    def containers(self) -> list[dict[str, JSON]]:
        """Resource Graph `ResourceContainers` rows: subscriptions, then resource groups."""
        rows: list[dict[str, JSON]] = []
        for sub in self.subscriptions:
            sub_id = str(sub["subscriptionId"])
            chain = [{"name": name, "displayName": name} for name in self.groups_of(sub_id)]
            properties: dict[str, JSON] = {
                "state": sub.get("state"),
                "managementGroupAncestorsChain": chain,
            }
            if "subscriptionPolicies" in sub:
                properties["subscriptionPolicies"] = sub["subscriptionPolicies"]
            rows.append(
                self._arg_row(
                    {
                        "id": subscription_scope(sub_id),
                        "name": sub.get("displayName") or sub_id,
                        "type": SUBSCRIPTION_TYPE,
                        "subscriptionId": sub_id,
                        "properties": properties,
                        "tags": sub.get("tags") or {},
                    }
                )
            )
        for (sub_key, _), group in self._groups.items():
            rows.append(
                self._arg_row(
                    {
                        "id": group["id"],
                        "name": group["name"],
                        "type": RESOURCE_GROUP_TYPE,
                        "location": group["location"],
                        "subscriptionId": self._subscription_id_case(sub_key),
                        "properties": group["properties"],
                        "tags": {},
                    }
                )
            )
        return rows

    def _subscription_id_case(self, lowered: str) -> str:
        doc = self._subscriptions.get(lowered)
        return str(doc["subscriptionId"]) if doc else lowered

    # -- scopes, details, Graph ----------------------------------------------------------------

    def scope_lengths(self, segments: Sequence[str]) -> list[int]:
        """Lengths of the prefixes of `segments` that are known scopes, longest first.

        The subscription (two segments) is always known to callers, so the list is never empty
        for a path under an existing subscription.
        """
        lengths = [
            length
            for length in range(len(segments), 1, -1)
            if "/".join(segments[:length]).lower() in self._scopes
        ]
        return lengths or [2]

    def detail(self, scope: str, source: str) -> DetailDoc | None:
        """The snapshot document `source` stored for `scope`."""
        bucket = self._details.get(_key(scope))
        if bucket is None:
            return None
        return bucket.get(_key(source))

    def graph_doc(self, path: str) -> tuple[bool, JSON]:
        """`(found, body)` of the Graph document for a v1.0 path (without query)."""
        key = _key(path)
        if key not in self._graph:
            return False, None
        return True, self._graph[key]

    # -- collection gaps -----------------------------------------------------------------------

    def gap_for(self, scope: str, source: str, *, present: bool) -> CollectionGap | None:
        """The snapshot gap that a request for `source` at `scope` must reproduce, if any.

        A gap that names the source (or `*`) at or above the scope always applies. An inventory
        gap (`resources`) at a subscription also makes every *absent* document below it fail,
        because a collector that could not list the subscription's resources never read them;
        documents the snapshot does hold (for example subscription-level ones collected despite
        a throttled inventory) are still served, so a rescan reproduces the same findings.
        """
        for gap in self.gaps:
            if gap.covers(scope, source):
                return gap
        if present:
            return None
        for gap in self.gaps:
            if gap.source.lower() == INVENTORY and scope_contains(gap.scope, scope):
                return gap
        return None

    def inventory_gap(self, subscription_id: str) -> CollectionGap | None:
        """The gap that hides a subscription's inventory, if any."""
        scope = subscription_scope(subscription_id)
        for gap in self.gaps:
            if gap.covers(scope, INVENTORY):
                return gap
        return None
