"""Azure Resource Graph: `POST /providers/Microsoft.ResourceGraph/resources` over the snapshot.

The body is a QueryRequest (`subscriptions`, `managementGroups`, `query`, `options` with `$top`,
`$skip`, `$skipToken`, `resultFormat`); the answer is a QueryResponse (`totalRecords`, `count`,
`resultTruncated`, `$skipToken`, `facets`, `data`) as in Microsoft's Resources_*Query examples.
Queries use the subset in `kql.py`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from azaudit.emulator import kql
from azaudit.emulator.failures import GapResponder
from azaudit.emulator.paging import BadSkipToken, make_token, read_token
from azaudit.emulator.tenant import RESOURCE_COLUMNS, Tenant
from azaudit.emulator.wire import Request, Response, arm_error, json_response
from azaudit.models import JSON, CollectionGap

MAX_TOP = 1000
"""Resource Graph returns at most 1,000 rows per page and rejects a larger `$top`."""


@dataclass(frozen=True, slots=True)
class GraphQuery:
    """A validated QueryRequest body."""

    text: str
    subscriptions: tuple[str, ...] | None
    management_groups: tuple[str, ...] | None
    top: int | None
    skip: int
    skip_token: str | None
    result_format: str


class BadQueryRequest(ValueError):
    """The request body is not a valid QueryRequest."""


def parse_body(body: bytes) -> GraphQuery:
    """Validate the POST body.

    Raises:
        BadQueryRequest: naming the field that is wrong.
    """
    try:
        document = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise BadQueryRequest("the request body is not valid JSON") from None
    if not isinstance(document, dict):
        raise BadQueryRequest("the request body must be a JSON object (a QueryRequest)")
    text = document.get("query")
    if not isinstance(text, str) or not text.strip():
        raise BadQueryRequest("'query' is required and must be a non-empty string")
    subscriptions = _string_list(document, "subscriptions")
    groups = _string_list(document, "managementGroups")
    options = document.get("options") or {}
    if not isinstance(options, dict):
        raise BadQueryRequest("'options' must be a JSON object")
    top = options.get("$top")
    if top is not None and (not isinstance(top, int) or isinstance(top, bool) or top < 1):
        raise BadQueryRequest("'options.$top' must be an integer >= 1")
    if top is not None and top > MAX_TOP:
        raise BadQueryRequest(f"'options.$top' must be at most {MAX_TOP}")
    skip = options.get("$skip") or 0
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise BadQueryRequest("'options.$skip' must be an integer >= 0")
    token = options.get("$skipToken")
    if token is not None and not isinstance(token, str):
        raise BadQueryRequest("'options.$skipToken' must be a string")
    result_format = options.get("resultFormat") or "objectArray"
    if result_format not in {"objectArray", "table"}:
        raise BadQueryRequest("'options.resultFormat' must be 'objectArray' or 'table'")
    return GraphQuery(
        text=text,
        subscriptions=subscriptions,
        management_groups=groups,
        top=top,
        skip=skip,
        skip_token=token or None,
        result_format=result_format,
    )


def _string_list(document: Mapping[str, JSON], name: str) -> tuple[str, ...] | None:
    value = document.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadQueryRequest(f"'{name}' must be an array of strings")
    return tuple(value) if value else None


def requested_subscriptions(body: bytes) -> frozenset[str]:
    """Lower-cased subscription ids named in a request body (for fault matching); never fails."""
    try:
        document = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        return frozenset()
    subs = document.get("subscriptions") if isinstance(document, dict) else None
    if not isinstance(subs, list):
        return frozenset()
    return frozenset(s.lower() for s in subs if isinstance(s, str))


def _invalid_query(message: str, extra: list[JSON] | None = None) -> Response:
    """Resource Graph's 400: BadRequest with an InvalidQuery detail (and the parser's detail)."""
    correlation = str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    details: list[JSON] = [
        {
            "code": "InvalidQuery",
            "message": "Query is invalid. Please refer to the documentation for the Azure "
            "Resource Graph service and fix the error before retrying.",
        }
    ]
    details.extend(extra or [])
    return arm_error(
        400,
        "BadRequest",
        "Please provide below info when asking for support: "
        f"timestamp = {stamp}, correlationId = {correlation}. {message}",
        details=details,
    )


class ResourceGraph:
    """Answers Resource Graph queries from a `Tenant`.

    Args:
        tenant: the data.
        gap_response: turns a snapshot collection gap into the error answer to reproduce it.
        page_size: the server's page size when the query sets no `$top` (at most 1,000).
        omitted: subscriptions whose rows every query silently leaves out although ARM serves
            them (Resource Graph lagging behind, or not serving a subscription it should).
        unreturned: rows counted in `totalRecords` but never returned (the last page is short).
    """

    def __init__(
        self,
        tenant: Tenant,
        gap_response: GapResponder,
        page_size: int = MAX_TOP,
        omitted: frozenset[str] = frozenset(),
        unreturned: int = 0,
    ) -> None:
        self.tenant = tenant
        self.gap_response = gap_response
        self.page_size = max(1, min(page_size, MAX_TOP))
        self.omitted = frozenset(s.lower() for s in omitted)
        self.unreturned = unreturned

    def handle(self, request: Request) -> Response:
        """Run one query."""
        try:
            body = parse_body(request.body)
        except BadQueryRequest as exc:
            return arm_error(400, "BadRequest", str(exc))
        try:
            query = kql.parse(body.text)
        except kql.QueryError as exc:
            return _invalid_query(str(exc), [_parser_detail(exc)])
        scope = self._scope(body)
        if isinstance(scope, Response):
            return scope
        subscriptions, hidden = scope
        if hidden is not None:
            return self.gap_response(hidden, request)
        table = self._table(query.table, subscriptions)
        try:
            rows = query.run(table, RESOURCE_COLUMNS)
        except kql.QueryError as exc:
            return _invalid_query(str(exc), [_parser_detail(exc)])
        return self._page(rows, query, body)

    def _scope(self, body: GraphQuery) -> tuple[set[str], CollectionGap | None] | Response:
        """Subscriptions whose rows the query sees, and the gap to answer with if none can."""
        if body.management_groups:
            wanted: list[str] = []
            for name in body.management_groups:
                group = self.tenant.management_group(name)
                if group is None:
                    return arm_error(
                        403,
                        "AuthorizationFailed",
                        f"The client does not have authorization to perform action "
                        f"'Microsoft.Management/managementGroups/read' over scope "
                        f"'/providers/Microsoft.Management/managementGroups/{name}' or the scope "
                        "is invalid.",
                    )
                wanted.extend(group[1])
        elif body.subscriptions:
            wanted = list(body.subscriptions)
        else:
            wanted = [str(s["subscriptionId"]) for s in self.tenant.subscriptions]
        known = [s for s in wanted if self.tenant.subscription(s) is not None]
        visible = {s.lower() for s in known if self.tenant.inventory_gap(s) is None}
        if known and not visible and body.subscriptions:
            # Every subscription asked for is unreadable: answer with the recorded failure so a
            # collector querying subscription by subscription sees it (Resource Graph silently
            # leaves out unreadable subscriptions only when some others are readable).
            return visible, self.tenant.inventory_gap(known[0])
        return visible - self.omitted, None

    def _table(self, table: str, subscriptions: set[str]) -> list[dict[str, JSON]]:
        if table == "ResourceContainers":
            return [
                r
                for r in self.tenant.containers()
                if str(r["subscriptionId"]).lower() in subscriptions
            ]
        rows: list[dict[str, JSON]] = []
        for sub in self.tenant.subscriptions:
            sub_id = str(sub["subscriptionId"])
            if sub_id.lower() in subscriptions:
                rows.extend(self.tenant.resources_of(sub_id))
        return rows

    def _page(self, rows: list[dict[str, JSON]], query: kql.Query, body: GraphQuery) -> Response:
        digest_scope = json.dumps(
            [body.text, body.subscriptions, body.management_groups], separators=(",", ":")
        )
        offset = body.skip
        if body.skip_token is not None:
            try:
                offset = read_token(body.skip_token, digest_scope)
            except BadSkipToken as exc:
                return arm_error(400, "BadRequest", f"Invalid $skipToken: {exc}")
        # The service pages at its own size at most, whatever `$top` asks for.
        size = min(body.top or self.page_size, self.page_size)
        page = rows[offset : offset + size]
        more = offset + size < len(rows)
        total = len(rows) + (0 if query.aggregated else self.unreturned)
        document: dict[str, JSON] = {
            "totalRecords": total,
            "count": len(page),
            # A query with limit/take cannot be paged: Resource Graph then reports truncation and
            # sends no $skipToken.
            "resultTruncated": "true" if more and query.limited else "false",
            "facets": [],
            "data": _format(page, body.result_format),
        }
        if more and not query.limited:
            document["$skipToken"] = make_token(offset + size, digest_scope)
        return json_response(200, document)


def _parser_detail(exc: kql.QueryError) -> JSON:
    return {
        "code": "ParserFailure",
        "message": str(exc),
        "line": 1,
        "characterPositionInLine": exc.position,
    }


def _format(rows: list[dict[str, JSON]], result_format: str) -> JSON:
    if result_format == "objectArray":
        return rows
    names: list[str] = []
    for row in rows:
        for name in row:
            if name not in names:
                names.append(name)
    columns = [{"name": n, "type": _column_type(rows, n)} for n in names]
    return {"columns": columns, "rows": [[row.get(n) for n in names] for row in rows]}


def _column_type(rows: list[dict[str, JSON]], name: str) -> str:
    for row in rows:
        value = row.get(name)
        if value is None:
            continue
        if isinstance(value, bool):
            return "boolean"
        if isinstance(value, int):
            return "integer"
        if isinstance(value, float):
            return "number"
        if isinstance(value, str):
            return "string"
        return "object"
    return "string"
