"""The snapshot: raw Azure JSON exactly as Azure returned it, plus what could not be collected.

It is the one data format between collection and evaluation. `docs/snapshot.md` documents it.
Loading validates the structure strictly (fail closed): a file we do not understand is an input
error, never an empty tenant.
"""

from __future__ import annotations

import gzip
import hashlib
import inspect
import json
import math
import re
import sys
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import orjson

from azaudit.errors import SnapshotError
from azaudit.files import write_atomic
from azaudit.gc_pause import paused_gc
from azaudit.models import JSON, CollectionGap

SCHEMA_VERSION = 1

T = TypeVar("T")


def subscription_scope(subscription_id: str) -> str:
    """`/subscriptions/<id>` - the ARM scope string of a subscription."""
    return f"/subscriptions/{subscription_id}"


def subscription_of(resource_id: str) -> str | None:
    """The subscription id inside an ARM resource id, or None."""
    parts = resource_id.strip("/").split("/")
    if len(parts) >= 2 and parts[0].lower() == "subscriptions":
        return parts[1]
    return None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What a collector saw, grouped by source. Documents are raw Azure JSON.

    Attributes:
        collected_at: ISO 8601 UTC time the collection started.
        tool_version: azaudit version that wrote the snapshot.
        cloud: `{"name": "AzureCloud", ...}` - the cloud and its endpoints.
        tenant: `{"tenantId": ..., "displayName": ...}`.
        subscriptions: subscription objects as ARM's Subscriptions - List returns them.
        resources: resource rows as Resource Graph's `resources` table returns them
            (`id`, `name`, `type`, `location`, `subscriptionId`, `properties`, ...).
        details: per-scope documents: scope id -> data-source name -> response body. A list
            response is stored as `{"value": [...]}` with every page merged. Tenant-level ARM
            documents (Microsoft Entra diagnostic settings) use the scope `/` (`TENANT_SCOPE`).
        graph: Microsoft Graph documents: `graph:<path>` -> response body.
        gaps: data that could not be collected.
    """

    collected_at: str
    tool_version: str
    cloud: Mapping[str, JSON]
    tenant: Mapping[str, JSON]
    subscriptions: tuple[Mapping[str, JSON], ...]
    resources: tuple[Mapping[str, JSON], ...]
    details: Mapping[str, Mapping[str, JSON]]
    graph: Mapping[str, JSON]
    gaps: tuple[CollectionGap, ...]
    schema_version: int = SCHEMA_VERSION
    _details_index: dict[str, dict[str, JSON]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _graph_index: dict[str, JSON] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _by_type: dict[tuple[str | None, str], list[tuple[int, Mapping[str, JSON]]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _children: dict[tuple[str, str], list[Mapping[str, JSON]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _gap_index: dict[tuple[str, str], tuple[int, CollectionGap]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _derived: dict[Hashable, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _scope_docs: dict[str, dict[str, JSON] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """`_details_index` entry of each scope as evaluators spell it (see `detail`)."""
    _canonical_sha256: str | None = field(default=None, init=False, repr=False, compare=False)
    """SHA-256 of the file this snapshot was loaded from, when that file is exactly
    `dump_snapshot(self)` (see `snapshot_sha256`)."""

    def __post_init__(self) -> None:
        # ARM ids and paths are case-insensitive; index once so lookups need not care. The
        # same few source names, types and subscriptions recur in every scope and row: each is
        # lowered once.
        lowered: dict[str, str] = {}
        details_index = self._details_index
        for scope, docs in self.details.items():
            scope_key = scope.strip("/").lower()
            bucket = details_index.get(scope_key)
            if bucket is None:
                bucket = details_index[scope_key] = {}
            for name, body in docs.items():
                name_key = lowered.get(name)
                if name_key is None:
                    name_key = lowered[name] = name.lower()
                bucket[name_key] = body
        for name, body in self.graph.items():
            self._graph_index[name.lower()] = body
        # The inventory is indexed once by (subscription, type) and by (parent id, type), and
        # the gaps by (scope, source), so that lookups cost the same at 100 or 100k resources.
        by_type = self._by_type
        children = self._children
        for position, resource in enumerate(self.resources):
            raw_type = resource.get("type", "")
            if raw_type.__class__ is str:
                rtype = lowered.get(raw_type)
                if rtype is None:
                    rtype = lowered[raw_type] = raw_type.lower()
            else:
                rtype = str(raw_type).lower()
            owner = resource_subscription(resource)
            owner_key: str | None = None
            if owner is not None:
                owner_key = lowered.get(owner)
                if owner_key is None:
                    owner_key = lowered[owner] = owner.lower()
            entry = (position, resource)
            bucket_key = (owner_key, rtype)
            rows = by_type.get(bucket_key)
            if rows is None:
                rows = by_type[bucket_key] = []
            rows.append(entry)
            rows = by_type.get(("*", rtype))
            if rows is None:
                rows = by_type["*", rtype] = []
            rows.append(entry)
            rid = resource.get("id")
            if isinstance(rid, str) and rid.count("/") >= 2:
                parent = rid.rstrip("/").rsplit("/", 2)[0].lower()
                child_key = (parent, rtype)
                siblings = children.get(child_key)
                if siblings is None:
                    siblings = children[child_key] = []
                siblings.append(resource)
        for position, gap in enumerate(self.gaps):
            key = (gap.scope.strip("/").lower(), gap.source.lower())
            self._gap_index.setdefault(key, (position, gap))

    @property
    def collected_time(self) -> datetime:
        """`collected_at` as an aware datetime: the reference time checks evaluate against."""
        return parse_timestamp(self.collected_at)

    @property
    def tenant_id(self) -> str:
        """The tenant id, or an empty string when unknown."""
        return str(self.tenant.get("tenantId") or "")

    def subscription_ids(self) -> list[str]:
        """Subscription ids in the order collected."""
        return [str(s["subscriptionId"]) for s in self.subscriptions]

    def detail(self, scope: str, name: str) -> tuple[bool, JSON]:
        """`(found, body)` for the document `name` stored for `scope`.

        Each check asks for its documents by the target's id as the inventory spells it: the
        normalised key is looked up once per spelling, not at every read.
        """
        scope_docs = self._scope_docs
        if scope in scope_docs:
            docs = scope_docs[scope]
        else:
            docs = scope_docs[scope] = self._details_index.get(scope.strip("/").lower())
        if docs is None:
            return False, None
        key = name.lower()
        if key not in docs:
            return False, None
        return True, docs[key]

    def graph_doc(self, name: str) -> tuple[bool, JSON]:
        """`(found, body)` for a Microsoft Graph document (`graph:<path>`)."""
        key = name.lower()
        if key not in self._graph_index:
            return False, None
        return True, self._graph_index[key]

    def gap_for(self, scope: str, source: str) -> CollectionGap | None:
        """The first collection gap that covers `source` at `scope`, if any.

        A gap covers its scope and everything below it, for its source or every source (`*`):
        looking up each ancestor of `scope` costs the depth of the id, not the number of gaps.
        """
        if not self._gap_index:
            return None
        parts = scope.strip("/").lower().split("/")
        ancestors = [""] + ["/".join(parts[: i + 1]) for i in range(len(parts))]
        wanted = source.lower()
        best: tuple[int, CollectionGap] | None = None
        for ancestor in ancestors:
            for key in ((ancestor, wanted), (ancestor, "*")):
                found = self._gap_index.get(key)
                if found is not None and (best is None or found[0] < best[0]):
                    best = found
        return best[1] if best is not None else None

    def resources_of_type(
        self, types: Iterable[str], subscription_ids: Iterable[str] | None = None
    ) -> list[Mapping[str, JSON]]:
        """Inventory rows of the given types (in the given subscriptions, or all), in order."""
        subs: list[str | None] = (
            ["*"] if subscription_ids is None else [s.lower() for s in subscription_ids]
        )
        buckets = [
            self._by_type.get((sub, rtype.lower()), [])
            for sub in dict.fromkeys(subs)
            for rtype in dict.fromkeys(t.lower() for t in types)
        ]
        buckets = [b for b in buckets if b]
        if len(buckets) == 1:
            return [row for _, row in buckets[0]]
        return [row for _, row in sorted((e for b in buckets for e in b), key=lambda e: e[0])]

    def children_of(self, parent_id: str, child_type: str) -> list[Mapping[str, JSON]]:
        """Inventory rows of `child_type` whose id is `<parent_id>/<segment>/<name>`."""
        return list(self._children.get((parent_id.rstrip("/").lower(), child_type.lower()), []))

    def derived(self, key: Hashable, build: Callable[[], T]) -> T:
        """`build()`, computed once per snapshot and `key`.

        For an index that an evaluator consults for every target but that depends on the
        snapshot alone (a vault's protected items by machine): built at the first target, looked
        up at the others. `key` names everything `build` reads, so that it means one value.
        """
        if key not in self._derived:
            self._derived[key] = build()
        value: T = self._derived[key]
        return value

    def resources_in(self, subscription_id: str) -> Iterator[Mapping[str, JSON]]:
        """Resources whose id lies in the given subscription."""
        wanted = subscription_id.lower()
        for resource in self.resources:
            owner = resource_subscription(resource)
            if owner is not None and owner.lower() == wanted:
                yield resource

    def to_json(self) -> dict[str, JSON]:
        """Return the documented JSON form (schema_version 1)."""
        return self._document(shared=False)

    def _document(self, *, shared: bool) -> dict[str, JSON]:
        """`to_json()`; with `shared`, holding the snapshot's own documents instead of copies
        (plain dicts when the snapshot was decoded from a file), for reading only."""
        return {
            "schema_version": self.schema_version,
            "tool": {"name": "azaudit", "version": self.tool_version},
            "collected_at": self.collected_at,
            "cloud": self.cloud if shared else dict(self.cloud),
            "tenant": self.tenant if shared else dict(self.tenant),
            "subscriptions": (
                list(self.subscriptions) if shared else [dict(s) for s in self.subscriptions]
            ),
            "resources": list(self.resources) if shared else [dict(r) for r in self.resources],
            "details": (
                self.details
                if shared
                else {scope: dict(docs) for scope, docs in self.details.items()}
            ),
            "graph": self.graph if shared else dict(self.graph),
            "collection_gaps": [g.to_json() for g in self.gaps],
        }


def parse_timestamp(value: str) -> datetime:
    """An ISO 8601 time (`Z` or offset; naive means UTC) as an aware datetime.

    Raises:
        ValueError: if `value` is not ISO 8601.
    """
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def resource_subscription(resource: Mapping[str, JSON]) -> str | None:
    """The subscription a resource row belongs to (`subscriptionId`, else parsed from `id`)."""
    explicit = resource.get("subscriptionId")
    if isinstance(explicit, str) and explicit:
        return explicit
    rid = resource.get("id")
    return subscription_of(rid) if isinstance(rid, str) else None


# -- loading ------------------------------------------------------------------------------------


def load_snapshot(path: Path) -> Snapshot:
    """Read and validate a snapshot file (`.json` or `.json.gz`).

    Raises:
        SnapshotError: with one line naming the file and field, on any problem.
    """
    # Decoding and indexing build one container per JSON object and array, and no cycles.
    with paused_gc():
        return _load_snapshot(path)


def _load_snapshot(path: Path) -> Snapshot:
    try:
        raw_bytes = path.read_bytes()
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such snapshot file") from None
    except IsADirectoryError:
        raise SnapshotError(f"{path}: is a directory, expected a snapshot file") from None
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read: {exc.strerror}") from None
    if raw_bytes[:2] == b"\x1f\x8b":
        try:
            raw_bytes = gzip.decompress(raw_bytes)
        except (OSError, EOFError, zlib.error):
            raise SnapshotError(
                f"{path}: truncated or corrupt gzip data, expected a complete .json.gz snapshot"
            ) from None
    try:
        text = raw_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise SnapshotError(f"{path}: not UTF-8 text, expected a JSON snapshot") from None
    del raw_bytes  # the text is all that is needed now: one copy fewer while decoding
    document, floats_canonical = _decode(text, str(path))
    # Canonical bytes are ASCII (`dump_snapshot` escapes the rest); `str.isascii` is a flag.
    candidate = text if floats_canonical and text.isascii() else None
    del text
    snapshot = snapshot_from_json(document, origin=str(path))
    del document
    if candidate is not None and _is_canonical_form(snapshot, candidate):
        # The file is byte for byte what `dump_snapshot` writes for it (as every snapshot
        # azaudit writes is): its SHA-256 is the snapshot's digest, no second encoding needed.
        object.__setattr__(snapshot, "_canonical_sha256", _ascii_sha256(candidate))
    return snapshot


_HASH_SLICE = 1 << 20
"""Characters of the loaded text encoded and hashed at a time: never a second copy of it all."""


def _ascii_sha256(text: str) -> str:
    digest = hashlib.sha256()
    for start in range(0, len(text), _HASH_SLICE):
        digest.update(text[start : start + _HASH_SLICE].encode("ascii"))
    return digest.hexdigest()


MAX_NESTING = 200
"""Deepest nesting a snapshot may have. Azure documents nest a few dozen levels; anything far
deeper is not Azure data and would exhaust the stack of every later layer."""

EARLIEST_COLLECTION = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_COLLECTION = datetime(9000, 1, 1, tzinfo=UTC)
"""`collected_at` must lie between these: checks compute ages from it (a year-1 time would
overflow date arithmetic), and no real collection happened outside them."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _reject_constant(name: str) -> float:
    raise ValueError(f"non-standard JSON constant {name}")


class _FloatReader:
    """`parse_float` of the snapshot decoder: finite numbers only, noting whether every number
    was written as `dump_snapshot` writes it (`repr` of its value)."""

    __slots__ = ("canonical",)

    def __init__(self) -> None:
        self.canonical = True

    def __call__(self, text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"number {text} is out of range")
        if self.canonical and repr(value) != text:
            self.canonical = False
        return value


def parse_json_text(text: str, origin: str) -> JSON:
    """Decode snapshot JSON strictly: standard JSON only, bounded nesting, valid Unicode.

    NaN, Infinity and numbers that overflow to infinity are not JSON (RFC 8259) and Azure never
    sends them; a string with a lone UTF-16 surrogate (`"\\ud800"`) cannot be written to any
    UTF-8 report. Each is an input error naming the file, never a crash later.

    Raises:
        SnapshotError: one line naming `origin` and what was wrong.
    """
    return _decode(text, origin)[0]


def _decode(text: str, origin: str) -> tuple[JSON, bool]:
    """`parse_json_text`, and whether every number in `text` is written canonically."""
    floats = _FloatReader()
    limit = sys.getrecursionlimit()
    # The C decoder counts nesting against the interpreter's recursion limit: lowering it for
    # the decode bounds nesting at no cost per value.
    sys.setrecursionlimit(len(inspect.stack(0)) + MAX_NESTING)
    try:
        document = json.loads(text, parse_constant=_reject_constant, parse_float=floats)
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{origin}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg}); "
            "expected a complete JSON snapshot"
        ) from None
    except RecursionError:
        raise SnapshotError(
            f"{origin}: JSON nested deeper than {MAX_NESTING} levels; expected an azaudit snapshot"
        ) from None
    except ValueError as exc:
        raise SnapshotError(f"{origin}: {exc}; expected standard JSON") from None
    finally:
        sys.setrecursionlimit(limit)
    # Text without a backslash has no escape at all: one `memchr` instead of the pattern's scan.
    if "\\" in text and _SURROGATE_ESCAPE.search(text):
        where = _lone_surrogate(document, "")
        if where is not None:
            raise SnapshotError(
                f"{origin}: {where or 'top level'}: string contains a lone UTF-16 surrogate "
                "(\\ud800-\\udfff escape without its pair); expected valid Unicode text"
            )
    return document, floats.canonical


def _lone_surrogate(value: JSON, where: str) -> str | None:
    """The JSON path of the first string (or key) that is not valid Unicode, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            if _lone_surrogate(key, inner) is not None:
                return repr(inner)
            found = _lone_surrogate(item, inner)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _lone_surrogate(item, f"{where}[{i}]")
            if found is not None:
                return found
    return None


def snapshot_from_json(document: JSON, origin: str = "snapshot") -> Snapshot:
    """Validate a decoded snapshot document and build a `Snapshot`.

    Raises:
        SnapshotError: naming `origin` and the offending field.
    """
    v = _Validator(origin)
    root = v.mapping(document, "")
    version = root.get("schema_version")
    if version is None:
        v.fail("schema_version", "missing; expected 1 (is this an azaudit snapshot?)")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        v.fail("schema_version", f"unsupported value {version!r}; expected {SCHEMA_VERSION}")
    tool = v.mapping(v.required(root, "tool"), "tool")
    tool_version = v.string(v.required(tool, "version", "tool"), "tool.version")
    collected_at = v.string(v.required(root, "collected_at"), "collected_at")
    try:
        collected = parse_timestamp(collected_at)
    except ValueError:
        v.fail("collected_at", f"expected an ISO 8601 time, got {collected_at!r}")
    if not EARLIEST_COLLECTION <= collected <= LATEST_COLLECTION:
        v.fail(
            "collected_at",
            f"{collected_at!r} is out of range; expected a time between 2000 and 9000",
        )
    cloud = v.mapping(v.required(root, "cloud"), "cloud")
    tenant = v.mapping(v.required(root, "tenant"), "tenant")
    subscriptions = v.sequence(v.required(root, "subscriptions"), "subscriptions")
    # A scope listed twice would be evaluated, counted and reported twice.
    seen_subscriptions: dict[str, str] = {}
    for i, sub in enumerate(subscriptions):
        where = f"subscriptions[{i}]"
        sid = v.string(
            v.required(v.mapping(sub, where), "subscriptionId", where), f"{where}.subscriptionId"
        )
        v.unique(seen_subscriptions, sid, f"{where}.subscriptionId")
    resources = v.sequence(v.required(root, "resources"), "resources")
    seen_resources: dict[str, int] = {}
    for i, res in enumerate(resources):
        # The common case, a well-formed row with a new id, in one test; anything else is
        # checked field by field below, which names the first problem.
        if res.__class__ is dict:
            rid = res.get("id")
            properties = res.get("properties")
            if (
                rid.__class__ is str
                and res.get("type").__class__ is str
                and (properties is None or properties.__class__ is dict)
                and seen_resources.setdefault(rid.lower(), i) == i
            ):
                continue
        _check_resource(v, res, i, seen_resources)
    details = v.mapping(root.get("details", {}), "details")
    for scope, docs in details.items():
        if not isinstance(docs, dict):
            v.mapping(docs, f"details[{scope!r}]")
    graph = v.mapping(root.get("graph", {}), "graph")
    for name in graph:
        if not name.startswith("graph:"):
            v.fail(f"graph[{name!r}]", "expected a key of the form 'graph:<path>'")
    gaps_raw = v.sequence(root.get("collection_gaps", []), "collection_gaps")
    gaps = []
    for i, gap in enumerate(gaps_raw):
        where = f"collection_gaps[{i}]"
        g = v.mapping(gap, where)
        status_code = g.get("status_code")
        if status_code is not None and (
            not isinstance(status_code, int) or isinstance(status_code, bool)
        ):
            v.fail(f"{where}.status_code", f"expected an integer or null, got {status_code!r}")
        error_code = g.get("error_code")
        if error_code is not None and not isinstance(error_code, str):
            v.fail(f"{where}.error_code", f"expected a string or null, got {error_code!r}")
        gaps.append(
            CollectionGap(
                scope=v.string(v.required(g, "scope", where), f"{where}.scope"),
                source=v.string(v.required(g, "source", where), f"{where}.source"),
                reason=v.string(v.required(g, "reason", where), f"{where}.reason"),
                status_code=status_code,
                error_code=error_code,
            )
        )
    return Snapshot(
        collected_at=collected_at,
        tool_version=tool_version,
        cloud=cloud,
        tenant=tenant,
        subscriptions=tuple(subscriptions),
        resources=tuple(resources),
        details=details,
        graph=graph,
        gaps=tuple(gaps),
    )


def _check_resource(v: _Validator, res: Any, i: int, seen: dict[str, int]) -> None:
    """Validate `resources[i]` field by field; fail naming the first problem."""
    where = f"resources[{i}]"
    row = v.mapping(res, where)
    rid = v.string(v.required(row, "id", where), f"{where}.id")
    # Ids compare case-insensitively, as ARM compares them.
    first = seen.setdefault(rid.lower(), i)
    if first != i:
        v.fail(f"{where}.id", f"{rid!r} is listed twice (also at resources[{first}].id)")
    v.string(v.required(row, "type", where), f"{where}.type")
    if "properties" in row and row["properties"] is not None:
        v.mapping(row["properties"], f"{where}.properties")


class _Validator:
    """Small structural checks whose errors name the file and the JSON path."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, what: str) -> NoReturn:
        location = f"{self.origin}: {where}" if where else self.origin
        raise SnapshotError(f"{location}: {what}")

    def required(self, obj: Mapping[str, Any], key: str, parent: str = "") -> Any:
        if key not in obj:
            self.fail(f"{parent}.{key}" if parent else key, "missing required field")
        return obj[key]

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(where or "top level", f"expected a JSON object, got {_kind(value)}")
        return value

    def sequence(self, value: Any, where: str) -> Sequence[Any]:
        if not isinstance(value, list):
            self.fail(where, f"expected a JSON array, got {_kind(value)}")
        return value

    def unique(self, seen: dict[str, str], key: str, where: str) -> None:
        """Ids compare case-insensitively, as ARM compares them."""
        first = seen.setdefault(key.lower(), where)
        if first != where:
            self.fail(where, f"{key!r} is listed twice (also at {first})")

    def string(self, value: Any, where: str) -> str:
        if not isinstance(value, str):
            self.fail(where, f"expected a string, got {_kind(value)}")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"


# -- writing ------------------------------------------------------------------------------------


def dump_snapshot(snapshot: Snapshot) -> bytes:
    """Serialise a snapshot to compact, key-stable JSON bytes."""
    return json.dumps(snapshot.to_json(), sort_keys=True, separators=(",", ":")).encode("utf-8")


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"))
"""The encoder of `dump_snapshot` (same options as its `json.dumps`)."""

CANONICAL_BATCH = 1_000
"""Array elements (or object members) encoded per call: each call of the C encoder has a fixed
cost, so one call per resource would cost as much again as the encoding itself, while one call
for the whole snapshot would hold it a second time, as text."""


def canonical_chunks(snapshot: Snapshot) -> Iterator[bytes]:
    """The bytes of `dump_snapshot`, a batch of a top-level member's elements at a time.

    Joined they are exactly `dump_snapshot(snapshot)`; digesting them one by one keeps a
    snapshot of 50,000 resources from being held a second time as one large byte string. A batch
    of array elements is encoded as an array and a batch of members (consecutive in sorted
    order) as an object, then unwrapped: the encoder writes both exactly as it writes them
    inside the whole document.
    """
    return _chunks(snapshot.to_json(), _canonical_bytes)


def _canonical_bytes(value: JSON) -> bytes:
    return _CANONICAL.encode(value).encode("utf-8")


def _orjson_bytes(value: JSON) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def _chunks(document: dict[str, JSON], encode: Callable[[JSON], bytes]) -> Iterator[bytes]:
    """`document` as compact JSON with sorted keys, in batches, each encoded by `encode`."""
    yield b"{"
    for index, key in enumerate(sorted(document)):
        if index:
            yield b","
        yield encode(key) + b":"
        value = document[key]
        if isinstance(value, list):
            yield b"["
            for start in range(0, len(value), CANONICAL_BATCH):
                if start:
                    yield b","
                yield encode(value[start : start + CANONICAL_BATCH])[1:-1]
            yield b"]"
        elif isinstance(value, dict):
            yield b"{"
            members = sorted(value)
            for start in range(0, len(members), CANONICAL_BATCH):
                if start:
                    yield b","
                batch = {m: value[m] for m in members[start : start + CANONICAL_BATCH]}
                yield encode(batch)[1:-1]
            yield b"}"
        else:
            yield encode(value)
    yield b"}"


def _is_canonical_form(snapshot: Snapshot, text: str) -> bool:
    """Whether the ASCII `text` of a decoded file, all of whose numbers are written as `repr`
    writes them, is exactly `dump_snapshot(snapshot)`.

    orjson encodes the snapshot's JSON at native speed for the comparison. For such input its
    bytes are exactly the standard library encoder's: both write compact JSON with keys in code
    point order, integers in decimal and the same escapes for `"`, `\\` and control characters
    (orjson writes any other character as UTF-8, and DEL raw, which ASCII `text` cannot hold
    where `dump_snapshot` would escape it); floats agree because `text`'s are `repr`'s and
    equal bytes mean orjson wrote the same. Anything orjson cannot encode is not the canonical
    form as far as this test goes: `snapshot_sha256` then encodes the snapshot itself.
    """
    if "\x7f" in text:
        return False
    position = 0
    try:
        for chunk in _chunks(snapshot._document(shared=True), _orjson_bytes):
            if not text.startswith(chunk.decode("ascii"), position):
                return False
            position += len(chunk)
    # orjson.JSONEncodeError (a TypeError): an integer beyond 64 bits, for one;
    # UnicodeDecodeError: a character `dump_snapshot` would have escaped.
    except (TypeError, UnicodeDecodeError):
        return False
    return position == len(text)


def snapshot_sha256(snapshot: Snapshot) -> str:
    """SHA-256 (hex) of `dump_snapshot(snapshot)`, computed without building those bytes.

    A snapshot loaded from a file that holds exactly those bytes (every file azaudit writes)
    has that file's digest already: the snapshot's documents are read-only evidence, so they
    still are what was loaded.
    """
    if snapshot._canonical_sha256 is not None:
        return snapshot._canonical_sha256
    digest = hashlib.sha256()
    # The copies `to_json` makes and the encoded batches hold no cycles (see `load_snapshot`).
    with paused_gc():
        for chunk in canonical_chunks(snapshot):
            digest.update(chunk)
    return digest.hexdigest()


def snapshot_file_bytes(snapshot: Snapshot, name: str) -> bytes:
    """The bytes of a snapshot file called `name`: gzip-compressed when it ends with `.gz`."""
    data = dump_snapshot(snapshot)
    if name.endswith(".gz"):
        # mtime=0 keeps the file byte-identical for the same snapshot.
        data = gzip.compress(data, mtime=0)
    return data


def write_snapshot(snapshot: Snapshot, path: Path) -> None:
    """Write a snapshot atomically; gzip when the name ends with `.gz`."""
    write_atomic(path, snapshot_file_bytes(snapshot, path.name))
