"""What to read beyond the inventory, derived from the source registry and the catalogue.

- Graph sources: each once for the tenant, and a source's `per_item` relationship once per
  item of it (`graph_item_url`), because `$expand` truncates directory relationships.
- Tenant-scoped ARM sources (e.g. Microsoft Entra diagnostic settings): each once, stored
  under the scope `/`.
- Subscription-scoped ARM sources: each once per subscription.
- Resource-scoped ARM sources with `resource_types`: for every resource of those types (other
  checks read them across resources, e.g. a vault's protected items for a VM check).
- Resource-scoped ARM sources without types (diagnostic settings): for the resource types
  targeted by the checks that `require` them, so that nothing is read that no check needs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from azaudit.catalogue import Check, source_scope_kind
from azaudit.models import JSON, TargetKind
from azaudit.sources import DataSource, all_sources

ANY_TYPE = "*"


@dataclass(frozen=True, slots=True)
class CollectionPlan:
    """The documents a live collection reads, by scope kind.

    Attributes:
        resource_sources: resource-scoped sources and the (lower-cased) resource types each is
            read for; `*` means every resource.
        subscription_sources: sources read once per subscription.
        graph_sources: Microsoft Graph sources read once per tenant.
        tenant_sources: ARM sources read once per tenant (`/providers/...`).
    """

    resource_sources: tuple[tuple[DataSource, frozenset[str]], ...]
    subscription_sources: tuple[DataSource, ...]
    graph_sources: tuple[DataSource, ...]
    tenant_sources: tuple[DataSource, ...] = ()

    def sources_for(self, resource: Mapping[str, JSON]) -> list[DataSource]:
        """The resource-scoped sources to read for one inventory row."""
        rtype = str(resource.get("type", "")).lower()
        return [
            source for source, types in self.resource_sources if ANY_TYPE in types or rtype in types
        ]


def build_plan(
    checks: Iterable[Check], sources: Iterable[DataSource] | None = None
) -> CollectionPlan:
    """The plan for a catalogue (`sources` defaults to the registry)."""
    checks = tuple(checks)
    resource_sources: list[tuple[DataSource, frozenset[str]]] = []
    subscription_sources: list[DataSource] = []
    graph_sources: list[DataSource] = []
    tenant_sources: list[DataSource] = []
    for source in all_sources() if sources is None else sources:
        if source.is_graph:
            graph_sources.append(source)
        elif source.scope is TargetKind.TENANT:
            tenant_sources.append(source)
        elif source.scope is TargetKind.SUBSCRIPTION:
            subscription_sources.append(source)
        elif source.scope is TargetKind.RESOURCE:
            types = (
                frozenset(t.lower() for t in source.resource_types)
                if source.resource_types
                else _types_requiring(checks, source)
            )
            if types:
                resource_sources.append((source, types))
    return CollectionPlan(
        tuple(resource_sources),
        tuple(subscription_sources),
        tuple(graph_sources),
        tuple(tenant_sources),
    )


def _types_requiring(checks: tuple[Check, ...], source: DataSource) -> frozenset[str]:
    types: set[str] = set()
    for check in checks:
        if check.meta.target is not TargetKind.RESOURCE:
            continue
        for name in check.requires:
            if name.lower() != source.name.lower():
                continue
            if source_scope_kind(TargetKind.RESOURCE, name) is TargetKind.RESOURCE:
                types.update(t.lower() for t in check.meta.resource_types)
    return frozenset(types)


def arm_url(base: str, scope: str, source: DataSource) -> str:
    """The ARM URL of `source` under `scope` (a resource id, `/subscriptions/<id>` or `/`)."""
    path = quote(f"{scope.rstrip('/')}/{source.name}", safe="/-_.~")
    query = f"api-version={source.api_version_at(scope)}"
    if source.query:
        query += f"&{source.query}"
    return f"{base}{path}?{query}"


def graph_url(base: str, source: DataSource) -> str:
    """The Microsoft Graph v1.0 URL of `source`."""
    url = f"{base}/v1.0/{source.graph_path}"
    return f"{url}?{source.query}" if source.query else url


def graph_item_url(base: str, source: DataSource, item_id: str) -> str:
    """The URL of `source.per_item` for one item: `/<path>/{id}/<relation>?<query>`."""
    relation = source.per_item
    if relation is None:
        raise ValueError(f"{source.name} has no per-item relationship")
    url = f"{base}/v1.0/{source.graph_path}/{quote(item_id, safe='-_.~')}/{relation.name}"
    return f"{url}?{relation.query}" if relation.query else url
