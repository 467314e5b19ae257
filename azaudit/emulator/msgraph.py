"""Microsoft Graph v1.0 under `/graph/v1.0/...`, served from the snapshot's `graph:` documents.

Collections page by `@odata.nextLink` (absolute, carrying `$skiptoken`; clients follow it
verbatim). `$top`, `$select`, `$expand=members`, `$count` (with `ConsistencyLevel: eventual`)
and a small `$filter` subset (`prop eq|ne literal`, `startswith(prop,'x')`, joined by `and`) are
honoured; any other `$filter` is a 400, never a silently unfiltered answer.

A navigation property stored in an item (`members` of a directory role) is served as its own
paged collection at `<list path>/{id}/members`. `$expand` of it returns at most 20 objects and
no next link, as Graph does for relationships of directory objects
(https://developer.microsoft.com/graph/known-issues/?search=13635), so a client that expands
instead of paging sees the same silent truncation it would see against Azure.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence

from azaudit.emulator.failures import GapResponder, error_response
from azaudit.emulator.paging import BadSkipToken, make_token, next_link, read_token
from azaudit.emulator.tenant import Tenant
from azaudit.emulator.wire import Request, Response, Route, graph_error, json_response
from azaudit.models import JSON, TENANT_SCOPE

GRAPH_PREFIX = "/graph"
"""Path prefix of the Graph endpoint: the collector's Graph endpoint is `<base_url>/graph`."""

VERSION = "v1.0"
MAX_TOP = 999
EXPAND_LIMIT = 20
"""Objects Graph returns for an expanded directory-object relationship (no next link)."""
NAVIGATION = frozenset({"members"})
"""Navigation properties: left out unless expanded, served as `<list>/{id}/<name>`."""
_CLAUSE = re.compile(
    r"^\s*(?:(?P<prop>[A-Za-z_][\w/]*)\s+(?P<op>eq|ne)\s+(?P<value>'(?:[^']|'')*'|true|false|null"
    r"|-?\d+)|startswith\(\s*(?P<sprop>[A-Za-z_][\w/]*)\s*,\s*(?P<svalue>'(?:[^']|'')*')\s*\))\s*$",
    re.IGNORECASE,
)

Filter = Callable[[Mapping[str, JSON]], bool]


class MicrosoftGraph:
    """Routes Graph requests to the snapshot's documents.

    Args:
        tenant: the data.
        page_size: default items per page (Graph's default for users is 100).
        base_url: returns the emulator's base URL.
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
        self.page_size = max(1, min(page_size, MAX_TOP))
        self.base_url = base_url
        self.gap_response = gap_response

    def route(self, request: Request) -> Route:
        """Classify a Graph request and bind its handler."""
        parts = [p for p in request.path.split("/") if p][1:]  # drop "graph"
        if request.method not in {"GET", "HEAD"}:
            return Route("graph", "graph.write", lambda: self._refuse_write(request), write=True)
        if not parts or parts[0].lower() != VERSION:
            return Route("graph", "graph.unknown", lambda: self._bad_version(request))
        path = "/".join(parts[1:])
        found, body = self.tenant.graph_doc(path)
        if not found and path.lower() == "organization":
            # Not an audit source: the tenant's name for report headers, from the snapshot.
            found, body = True, self._organization()
        if found:
            return Route(
                "graph", f"graph:{path.lower()}", lambda: self._document(request, path, body)
            )
        relation = self._relation_route(request, parts[1:])
        if relation is not None:
            return relation
        if len(parts) > 2:
            parent = "/".join(parts[1:-1])
            found_parent, listed = self.tenant.graph_doc(parent)
            if found_parent:
                return Route(
                    "graph",
                    f"graph:{parent.lower()}/{{id}}",
                    lambda: self._item(request, parent, listed, parts[-1]),
                )
        return Route("graph", f"graph:{path.lower()}", lambda: self._missing(request, path))

    def _relation_route(self, request: Request, segments: list[str]) -> Route | None:
        """`<list path>/{id}/<navigation property>` of a list the snapshot holds, else None."""
        if len(segments) < 3 or segments[-1].lower() not in NAVIGATION:
            return None
        collection, item_id, name = "/".join(segments[:-2]), segments[-2], segments[-1].lower()
        found, listed = self.tenant.graph_doc(collection)
        if not found:
            return None
        return Route(
            "graph",
            f"graph:{collection.lower()}/{{id}}/{name}",
            lambda: self._relation(request, collection, listed, item_id, name),
        )

    # -- handlers ------------------------------------------------------------------------------

    def _document(self, request: Request, path: str, body: JSON) -> Response:
        gap = self.tenant.gap_for(TENANT_SCOPE, f"graph:{path}", present=True)
        if gap is not None:
            return self.gap_response(gap, request)
        if isinstance(body, dict) and isinstance(body.get("value"), list):
            return self._collection(request, path, body["value"])
        if isinstance(body, dict):
            selected = _select(body, request.query.get("$select"), _expands(request))
            return self._ok(request, {"@odata.context": self._context(path, True), **selected})
        return self._ok(request, body)

    def _item(self, request: Request, parent: str, body: JSON, item_id: str) -> Response:
        gap = self.tenant.gap_for(TENANT_SCOPE, f"graph:{parent}", present=True)
        if gap is not None:
            return self.gap_response(gap, request)
        item = _find_item(body, item_id)
        if item is None:
            return self._not_found(request)
        selected = _select(item, request.query.get("$select"), _expands(request))
        return self._ok(request, {"@odata.context": self._context(parent, True), **selected})

    def _relation(
        self, request: Request, collection: str, body: JSON, item_id: str, name: str
    ) -> Response:
        gap = self.tenant.gap_for(TENANT_SCOPE, f"graph:{collection}", present=True)
        if gap is not None:
            return self.gap_response(gap, request)
        item = _find_item(body, item_id)
        related = item.get(name) if item is not None else None
        # A role whose members the snapshot does not record is unknown, not empty: 404.
        if not isinstance(related, list):
            return self._not_found(request)
        return self._collection(request, f"{collection}/{item_id}/{name}", related)

    def _missing(self, request: Request, path: str) -> Response:
        # A gap on a list also covers its items and their relationships.
        segments = path.split("/")
        for length in range(len(segments), 0, -1):
            prefix = "/".join(segments[:length])
            gap = self.tenant.gap_for(TENANT_SCOPE, f"graph:{prefix}", present=False)
            if gap is not None:
                return self.gap_response(gap, request)
        return self._not_found(request)

    def _collection(self, request: Request, path: str, items: Sequence[JSON]) -> Response:
        query = request.query
        predicate = _parse_filter(query.get("$filter"))
        if isinstance(predicate, str):
            return graph_error(400, "BadRequest", predicate, request, self._headers(request))
        count_wanted = query.get("$count", "").lower() == "true"
        if count_wanted and (request.header("consistencylevel") or "").lower() != "eventual":
            return graph_error(
                400,
                "Request_BadRequest",
                "$count is not currently supported without the header ConsistencyLevel: eventual.",
                request,
                self._headers(request),
            )
        size = self.page_size
        top = query.get("$top")
        if top is not None:
            if not top.isdigit() or not 1 <= int(top) <= MAX_TOP:
                return graph_error(
                    400,
                    "Request_BadRequest",
                    f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_TOP} "
                    "inclusive.",
                    request,
                    self._headers(request),
                )
            size = int(top)
        matching = [
            i for i in items if not isinstance(i, dict) or predicate is None or predicate(i)
        ]
        list_id = "|".join(
            [
                path.lower(),
                query.get("$select", ""),
                query.get("$expand", ""),
                query.get("$filter", ""),
            ]
        )
        offset = 0
        token = query.get("$skiptoken")
        if token:
            try:
                offset = read_token(token, list_id)
            except BadSkipToken as exc:
                return graph_error(400, "BadRequest", str(exc), request, self._headers(request))
        expands = _expands(request)
        page = [
            _select(i, query.get("$select"), expands) if isinstance(i, dict) else i
            for i in matching[offset : offset + size]
        ]
        document: dict[str, JSON] = {"@odata.context": self._context(path, False)}
        if count_wanted:
            document["@odata.count"] = len(matching)
        if offset + size < len(matching):
            link = next_link(
                self.base_url(), request, "$skiptoken", make_token(offset + size, list_id)
            )
            document["@odata.nextLink"] = link
        document["value"] = page
        return self._ok(request, document)

    def _organization(self) -> JSON:
        entry: dict[str, JSON] = {"id": self.tenant.tenant_id}
        if self.tenant.display_name:
            entry["displayName"] = self.tenant.display_name
        return {"value": [entry]}

    # -- shared --------------------------------------------------------------------------------

    def _context(self, path: str, entity: bool) -> str:
        suffix = "/$entity" if entity else ""
        return f"{self.base_url()}{GRAPH_PREFIX}/{VERSION}/$metadata#{path}{suffix}"

    @staticmethod
    def _headers(request: Request) -> dict[str, str]:
        request_id = str(uuid.uuid4())
        return {
            "request-id": request_id,
            "client-request-id": request.header("client-request-id") or request_id,
        }

    def _ok(self, request: Request, document: JSON) -> Response:
        return json_response(200, document, self._headers(request))

    def _not_found(self, request: Request) -> Response:
        return error_response(
            "graph",
            404,
            request,
            message=f"Resource not found for the segment '{request.path.rsplit('/', 1)[-1]}'.",
            headers=self._headers(request),
        )

    def _bad_version(self, request: Request) -> Response:
        return graph_error(
            400,
            "BadRequest",
            f"Invalid version: only {VERSION} is served under {GRAPH_PREFIX}/.",
            request,
            self._headers(request),
        )

    def _refuse_write(self, request: Request) -> Response:
        return error_response("graph", 403, request, headers=self._headers(request))


def _expands(request: Request) -> frozenset[str]:
    raw = request.query.get("$expand") or ""
    return frozenset(p.strip().split("(")[0].lower() for p in raw.split(",") if p.strip())


def _find_item(body: JSON, item_id: str) -> dict[str, JSON] | None:
    """The item of a `{"value": [...]}` document whose `id` is `item_id` (any letter case)."""
    items = body.get("value") if isinstance(body, dict) else None
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and str(item.get("id", "")).lower() == item_id.lower():
            return item
    return None


def _select(
    item: Mapping[str, JSON], select: str | None, expands: frozenset[str]
) -> dict[str, JSON]:
    """Apply `$select`; drop navigation properties not expanded, cap the expanded ones."""
    out: dict[str, JSON] = {}
    for key, value in item.items():
        if key.lower() not in NAVIGATION:
            out[key] = value
        elif key.lower() in expands:
            # Graph returns at most EXPAND_LIMIT related directory objects and no next link.
            out[key] = value[:EXPAND_LIMIT] if isinstance(value, list) else value
    if not select:
        return out
    wanted = {s.strip().lower() for s in select.split(",") if s.strip()}
    return {
        k: v
        for k, v in out.items()
        if k.lower() in wanted or k.startswith("@odata") or k.lower() in expands
    }


def _parse_filter(expression: str | None) -> Filter | str | None:
    """A predicate for the `$filter` subset, or an error message for anything else."""
    if not expression:
        return None
    tests: list[Filter] = []
    for clause in re.split(r"\s+and\s+", expression, flags=re.IGNORECASE):
        match = _CLAUSE.match(clause)
        if match is None:
            return (
                f"Invalid filter clause: '{clause.strip()}' is not supported by this emulator "
                "(supported: <property> eq|ne <literal>, startswith(<property>,'<text>'), "
                "joined by 'and')."
            )
        if match.group("sprop"):
            prop = match.group("sprop")
            prefix = str(_literal(match.group("svalue"))).lower()
            tests.append(_starts_with(prop, prefix))
            continue
        prop, op = match.group("prop"), match.group("op").lower()
        tests.append(_equals(prop, _literal(match.group("value")), negate=op == "ne"))
    return lambda item: all(t(item) for t in tests)


def _starts_with(prop: str, prefix: str) -> Filter:
    return lambda item: str(_get(item, prop) or "").lower().startswith(prefix)


def _equals(prop: str, value: JSON, negate: bool) -> Filter:
    return lambda item: _equal(_get(item, prop), value) != negate


def _literal(text: str) -> JSON:
    lowered = text.lower()
    if lowered in {"true", "false"}:
        return lowered == "true"
    if lowered == "null":
        return None
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return int(text)


def _get(item: Mapping[str, JSON], path: str) -> JSON:
    value: JSON = item
    for step in path.split("/"):
        if not isinstance(value, dict):
            return None
        value = next((v for k, v in value.items() if k.lower() == step.lower()), None)
    return value


def _equal(actual: JSON, expected: JSON) -> bool:
    # Graph compares strings case-insensitively in $filter eq on directory objects.
    if isinstance(actual, str) and isinstance(expected, str):
        return actual.lower() == expected.lower()
    return bool(actual == expected)
