"""Azure Resource Manager routes: subscriptions, management groups, resources, detail documents.

Detail documents are served from `snapshot.details` by path: `GET {scope}/{source}` answers the
document stored under that scope and source name (the names in `azaudit/sources.py` are ARM
path suffixes), so new sources need no emulator change; tenant-level documents
(`GET /providers/...`) are those stored under the scope `/`. Lists are paged through absolute
`nextLink` URLs carrying `$skiptoken`, as ARM's resource provider contract prescribes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from azaudit.emulator.failures import GapResponder, error_response
from azaudit.emulator.paging import BadSkipToken, make_token, next_link, read_token
from azaudit.emulator.tenant import Tenant
from azaudit.emulator.wire import Request, Response, Route, arm_error, json_response
from azaudit.models import JSON, TENANT_SCOPE, TargetKind
from azaudit.snapshot import subscription_scope
from azaudit.sources import INVENTORY, all_sources, find_source

UNPAGED_SOURCES = frozenset(
    {
        "providers/microsoft.security/pricings",
        "providers/microsoft.insights/diagnosticsettings",
        "providers/microsoft.aadiam/diagnosticsettings",
    }
)
"""List documents Azure returns whole: their response schemas (PricingList,
DiagnosticSettingsResourceCollection, aadiam's DiagnosticSettingsResourceCollection) have no
nextLink, and their SDK methods do not page."""

_READ_VERBS = frozenset({"GET", "HEAD"})
_MG_PREFIX = "/providers/Microsoft.Management/managementGroups"
_FILTER_CLAUSE = re.compile(r"^\s*resourceType\s+eq\s+'([^']+)'\s*$", re.IGNORECASE)


class Arm:
    """Routes ARM requests to handlers over a `Tenant`.

    Args:
        tenant: the data.
        page_size: items per list page (tests lower it to force many pages).
        base_url: returns the emulator's base URL (for absolute next links).
        gap_response: turns a snapshot collection gap into its error answer.
    """

    def __init__(
        self,
        tenant: Tenant,
        page_size: int,
        base_url: Callable[[], str],
        gap_response: GapResponder,
    ) -> None:
        self.tenant = tenant
        self.page_size = max(1, page_size)
        self.base_url = base_url
        self.gap_response = gap_response

    def route(self, request: Request) -> Route:
        """Classify a request and bind its handler."""
        parts = [p for p in request.path.split("/") if p]
        low = [p.lower() for p in parts]
        sub = low[1] if len(low) >= 2 and low[0] == "subscriptions" else None
        subs = frozenset({sub}) if sub else frozenset()
        if request.method not in _READ_VERBS:
            return Route("arm", "arm.write", lambda: self._refuse_write(request), subs, write=True)
        if low == ["subscriptions"]:
            return Route("arm", "arm.subscriptions.list", lambda: self._subscriptions(request))
        if low[:3] == ["providers", "microsoft.management", "managementgroups"]:
            return self._management_group_route(request, parts)
        if sub is None:
            return self._tenant_route(request, parts) or Route(
                "arm", "arm.unknown", lambda: _no_route(request)
            )
        subscription_id = parts[1]
        if self.tenant.subscription(subscription_id) is None:
            return Route("arm", "arm.subscriptions.get", lambda: _no_subscription(parts[1]), subs)
        if len(low) == 2:
            return Route(
                "arm",
                "arm.subscriptions.get",
                lambda: self._subscription(request, parts[1]),
                subs,
            )
        if low[2:] == ["resources"]:
            return Route(
                "arm", "arm.resources.list", lambda: self._resources(request, parts[1]), subs
            )
        if low[2] == "resourcegroups" and len(low) in {3, 4}:
            return Route(
                "arm", "arm.resourcegroups", lambda: self._resource_groups(request, parts), subs
            )
        if low[2] == "resourcegroups" and len(low) == 5 and low[4] == "resources":
            return Route(
                "arm",
                "arm.resources.list",
                lambda: self._resources(request, parts[1], group=parts[3]),
                subs,
            )
        return self._scoped_route(request, parts, subs)

    # -- subscriptions -------------------------------------------------------------------------

    def _subscriptions(self, request: Request) -> Response:
        return self._list(request, self.tenant.subscriptions)

    def _subscription(self, request: Request, subscription_id: str) -> Response:
        # A subscription that could not be read at all carries a `*` gap: answer its failure.
        gap = self.tenant.gap_for(subscription_scope(subscription_id), "*", present=True)
        if gap is not None:
            return self.gap_response(gap, request)
        return json_response(200, self.tenant.subscription(subscription_id))

    # -- resources and resource groups ---------------------------------------------------------

    def _resources(
        self, request: Request, subscription_id: str, group: str | None = None
    ) -> Response:
        scope = subscription_scope(subscription_id)
        gap = self.tenant.gap_for(scope, INVENTORY, present=False)
        if gap is not None:
            return self.gap_response(gap, request)
        types = _type_filter(request.query.get("$filter"))
        if isinstance(types, Response):
            return types
        rows = self.tenant.resources_of(subscription_id)
        if group is not None:
            rows = [r for r in rows if str(r["resourceGroup"]).lower() == group.lower()]
            if self.tenant.resource_group(subscription_id, group) is None:
                return arm_error(
                    404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found."
                )
        if types is not None:
            rows = [r for r in rows if str(r["type"]).lower() in types]
        expand = "properties" in (request.query.get("$expand") or "").lower()
        items = [Tenant.arm_resource(r) if expand else Tenant.generic_list_item(r) for r in rows]
        return self._list(request, items)

    def _resource_groups(self, request: Request, parts: Sequence[str]) -> Response:
        subscription_id = parts[1]
        gap = self.tenant.gap_for(subscription_scope(subscription_id), INVENTORY, present=False)
        if gap is not None:
            return self.gap_response(gap, request)
        if len(parts) == 3:
            return self._list(request, self.tenant.resource_groups_of(subscription_id))
        group = self.tenant.resource_group(subscription_id, parts[3])
        if group is None:
            return arm_error(
                404, "ResourceGroupNotFound", f"Resource group '{parts[3]}' could not be found."
            )
        return json_response(200, group)

    # -- resources and their detail documents --------------------------------------------------

    def _scoped_route(self, request: Request, parts: list[str], subs: frozenset[str]) -> Route:
        """Resolve `{scope}/{source}`: the longest known scope that explains the whole path.

        A path may name a scope that itself holds documents (the demo stores diagnostic settings
        of `{account}/blobServices/default`) and also be a document of its parent; scopes are
        tried from the longest down until one holds the requested document.
        """
        lengths = self.tenant.scope_lengths(parts)
        for length in lengths:
            route = self._route_at(request, parts, length, subs)
            if route is not None:
                return route
        length = lengths[0]
        scope = "/" + "/".join(parts[:length])
        rest = parts[length:]
        if not rest:
            return Route("arm", "arm.resource.get", lambda: self._resource(request, scope), subs)
        source = "/".join(rest)
        return Route(
            "arm",
            _detail_route(request.key, source, length),
            lambda: self._missing(request, scope, source),
            subs,
        )

    def _route_at(
        self, request: Request, parts: list[str], length: int, subs: frozenset[str]
    ) -> Route | None:
        """The route if the first `length` segments are the scope the path is about."""
        scope = "/" + "/".join(parts[:length])
        rest = parts[length:]
        if not rest:
            if self.tenant.resource(scope) is None:
                return None
            return Route("arm", "arm.resource.get", lambda: self._resource(request, scope), subs)
        source = "/".join(rest)
        found = self.tenant.detail(scope, source)
        if found is not None:
            return Route(
                "arm",
                f"arm.detail:{source.lower()}",
                lambda: self._detail(request, scope, found.source, found.body),
                subs,
            )
        if len(rest) > 1:
            listed = self.tenant.detail(scope, "/".join(rest[:-1]))
            if listed is not None:
                return Route(
                    "arm",
                    f"arm.detail:{listed.source.lower()}/{{name}}",
                    lambda: self._list_item(request, scope, listed.source, listed.body, rest[-1]),
                    subs,
                )
        return None

    def _resource(self, request: Request, scope: str) -> Response:
        row = self.tenant.resource(scope)
        gap = self.tenant.gap_for(scope, INVENTORY, present=row is not None)
        if gap is not None:
            return self.gap_response(gap, request)
        if row is None:
            return _not_found(request)
        return json_response(200, Tenant.arm_resource(row))

    def _detail(self, request: Request, scope: str, source: str, body: JSON) -> Response:
        gap = self.tenant.gap_for(scope, source, present=True)
        if gap is not None:
            return self.gap_response(gap, request)
        if (
            isinstance(body, dict)
            and isinstance(body.get("value"), list)
            and source.lower() not in UNPAGED_SOURCES
        ):
            return self._list(request, body["value"])
        if isinstance(body, dict) and "nextLink" in body:
            body = {k: v for k, v in body.items() if k != "nextLink"}
        return json_response(200, body)

    def _list_item(
        self, request: Request, scope: str, source: str, body: JSON, name: str
    ) -> Response:
        gap = self.tenant.gap_for(scope, source, present=True)
        if gap is not None:
            return self.gap_response(gap, request)
        items = body.get("value") if isinstance(body, dict) else None
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict) and str(item.get("name", "")).lower() == name.lower():
                return json_response(200, item)
        return _not_found(request)

    def _missing(self, request: Request, scope: str, source: str) -> Response:
        gap = self.tenant.gap_for(scope, source, present=False)
        if gap is not None:
            return self.gap_response(gap, request)
        return _not_found(request)

    # -- tenant-level documents ----------------------------------------------------------------

    def _tenant_route(self, request: Request, parts: list[str]) -> Route | None:
        """`/providers/...`: a tenant-level document, stored in the snapshot under scope `/`."""
        source = "/".join(parts)
        found = self.tenant.detail(TENANT_SCOPE, source)
        if found is not None:
            return Route(
                "arm",
                f"arm.detail:{found.source.lower()}",
                lambda: self._detail(request, TENANT_SCOPE, found.source, found.body),
            )
        if find_source(TargetKind.TENANT, source) is not None:
            # Not in the snapshot: its gap's answer, else 404 (never an invented empty list).
            return Route(
                "arm",
                f"arm.detail:{source.lower()}",
                lambda: self._missing(request, TENANT_SCOPE, source),
            )
        return None

    # -- management groups ---------------------------------------------------------------------

    def _management_group_route(self, request: Request, parts: list[str]) -> Route:
        low = [p.lower() for p in parts]
        if len(low) == 3:
            return Route("arm", "arm.mg.list", lambda: self._list(request, self._group_docs()))
        name = parts[3]
        if len(low) == 4:
            return Route("arm", "arm.mg.get", lambda: self._group(request, name))
        if low[4:] == ["descendants"]:
            return Route("arm", "arm.mg.descendants", lambda: self._descendants(request, name))
        if low[4:5] == ["subscriptions"] and len(low) in {5, 6}:
            one = parts[5] if len(parts) == 6 else None
            return Route(
                "arm", "arm.mg.subscriptions", lambda: self._group_subs(request, name, one)
            )
        return Route("arm", "arm.unknown", lambda: _no_route(request))

    def _group_docs(self) -> list[JSON]:
        return [self._group_doc(name, False) for name in self.tenant.management_groups]

    def _group_doc(self, name: str, children: bool) -> dict[str, JSON]:
        properties: dict[str, JSON] = {
            "tenantId": self.tenant.tenant_id,
            "displayName": "Tenant Root Group" if name == self.tenant.tenant_id else name,
        }
        if children:
            properties["children"] = [
                {
                    "type": "/subscriptions",
                    "id": subscription_scope(sub),
                    "name": sub,
                    "displayName": self._display_name(sub),
                }
                for sub in self.tenant.management_groups[name]
            ]
        return {
            "id": f"{_MG_PREFIX}/{name}",
            "type": "Microsoft.Management/managementGroups",
            "name": name,
            "properties": properties,
        }

    def _display_name(self, subscription_id: str) -> str:
        doc = self.tenant.subscription(subscription_id)
        return str(doc.get("displayName")) if doc else subscription_id

    def _group(self, request: Request, name: str) -> Response:
        group = self.tenant.management_group(name)
        if group is None:
            return error_response("arm", 403, request)
        expand = "children" in (request.query.get("$expand") or "").lower()
        return json_response(200, self._group_doc(group[0], expand))

    def _descendants(self, request: Request, name: str) -> Response:
        group = self.tenant.management_group(name)
        if group is None:
            return error_response("arm", 403, request)
        parent = {"id": f"{_MG_PREFIX}/{group[0]}"}
        items: list[JSON] = [
            {
                "id": subscription_scope(sub),
                "type": "Microsoft.Management/managementGroups/subscriptions",
                "name": sub,
                "properties": {"displayName": self._display_name(sub), "parent": parent},
            }
            for sub in group[1]
        ]
        return self._list(request, items)

    def _group_subs(self, request: Request, name: str, one: str | None) -> Response:
        group = self.tenant.management_group(name)
        if group is None:
            return error_response("arm", 403, request)
        items: list[JSON] = []
        for sub in group[1]:
            doc = self.tenant.subscription(sub) or {}
            items.append(
                {
                    "id": f"{_MG_PREFIX}/{group[0]}/subscriptions/{sub}",
                    "type": "Microsoft.Management/managementGroups/subscriptions",
                    "name": sub,
                    "properties": {
                        "tenant": self.tenant.tenant_id,
                        "displayName": doc.get("displayName", sub),
                        "parent": {"id": f"{_MG_PREFIX}/{group[0]}"},
                        "state": "Active"
                        if doc.get("state", "Enabled") == "Enabled"
                        else "Disabled",
                    },
                }
            )
        if one is None:
            return self._list(request, items)
        for item in items:
            if item["name"].lower() == one.lower():
                return json_response(200, item)
        return _not_found(request)

    # -- shared ------------------------------------------------------------------------------

    def _list(self, request: Request, items: Sequence[JSON]) -> Response:
        """One page of a list, with an absolute nextLink when more remain."""
        list_id = f"{request.key}?{request.query.get('$filter', '')}"
        offset = 0
        token = request.query.get("$skiptoken")
        if token:
            try:
                offset = read_token(token, list_id)
            except BadSkipToken as exc:
                return arm_error(400, "InvalidSkipToken", str(exc))
        size = self.page_size
        top = request.query.get("$top")
        if top is not None:
            if not top.isdigit() or int(top) < 1:
                return arm_error(400, "InvalidQueryParameterValue", f"Invalid $top value {top!r}.")
            size = min(size, int(top))
        page = list(items[offset : offset + size])
        document: dict[str, JSON] = {"value": page}
        if offset + size < len(items):
            token = make_token(offset + size, list_id)
            document["nextLink"] = next_link(self.base_url(), request, "$skiptoken", token)
        return json_response(200, document)

    def _refuse_write(self, request: Request) -> Response:
        return error_response("arm", 403, request)


def _detail_route(key: str, source: str, scope_length: int) -> str:
    """Route name of a detail request whose document is absent: named after the source."""
    for known in all_sources():
        if not known.is_graph and key.endswith("/" + known.name.lower()):
            return f"arm.detail:{known.name.lower()}"
    return f"arm.detail:{source.lower()}" if scope_length > 2 else "arm.unknown"


def _type_filter(expression: str | None) -> set[str] | Response | None:
    """Types named by `resourceType eq '...' [or ...]`, the `$filter` form supported here."""
    if not expression:
        return None
    types: set[str] = set()
    for clause in re.split(r"\s+or\s+", expression, flags=re.IGNORECASE):
        match = _FILTER_CLAUSE.match(clause)
        if match is None:
            return arm_error(
                400,
                "InvalidFilterInQueryString",
                f"The $filter '{expression}' is not supported by this emulator; supported: "
                "resourceType eq '<type>' [or resourceType eq '<type>']...",
            )
        types.add(match.group(1).lower())
    return types


def _not_found(request: Request) -> Response:
    return arm_error(404, "ResourceNotFound", f"The Resource '{request.path}' was not found.")


def _no_subscription(subscription_id: str) -> Response:
    return arm_error(
        404, "SubscriptionNotFound", f"The subscription '{subscription_id}' could not be found."
    )


def _no_route(request: Request) -> Response:
    return arm_error(
        404,
        "NotFound",
        f"No HTTP resource was found that matches the request URI '{request.path}'.",
    )
