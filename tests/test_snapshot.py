"""The snapshot format: round trips, and one clear error for every kind of bad file."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from azaudit.demo import build_demo_snapshot
from azaudit.errors import SnapshotError
from azaudit.models import CollectionGap
from azaudit.snapshot import (
    CANONICAL_BATCH,
    Snapshot,
    canonical_chunks,
    dump_snapshot,
    load_snapshot,
    snapshot_from_json,
    snapshot_sha256,
    write_snapshot,
)
from benchmarks.synthetic import generate

SUB = "11111111-2222-3333-4444-555555555555"


def _snapshot() -> Snapshot:
    rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app1"
    return Snapshot(
        collected_at="2026-11-01T06:00:00Z",
        tool_version="0.1.0",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": "tid", "displayName": "Tenant"},
        subscriptions=({"subscriptionId": SUB, "displayName": "prod", "state": "Enabled"},),
        resources=({"id": rid, "type": "Microsoft.Web/sites", "name": "app1", "properties": {}},),
        details={rid: {"config/web": {"properties": {"minTlsVersion": "1.2"}}}},
        graph={"graph:users": {"value": []}},
        gaps=(CollectionGap(f"/subscriptions/{SUB}", "firewallRules", "403", 403, "Forbidden"),),
    )


@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_round_trip_preserves_every_field(tmp_path: Path, name: str) -> None:
    original = _snapshot()
    path = tmp_path / name
    write_snapshot(original, path)
    loaded = load_snapshot(path)
    assert dump_snapshot(loaded) == dump_snapshot(original)
    assert loaded.gaps == original.gaps


def test_gzip_output_is_byte_stable(tmp_path: Path) -> None:
    write_snapshot(_snapshot(), tmp_path / "a.json.gz")
    write_snapshot(_snapshot(), tmp_path / "b.json.gz")
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()


def test_lookups_ignore_case_of_ids_and_source_names() -> None:
    snap = _snapshot()
    rid = str(snap.resources[0]["id"]).upper()
    found, body = snap.detail(rid, "CONFIG/WEB")
    assert found
    assert body["properties"]["minTlsVersion"] == "1.2"
    assert snap.detail(rid, "firewallRules") == (False, None)


def test_gap_covers_everything_below_its_scope() -> None:
    snap = _snapshot()
    below = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Sql/servers/s1"
    assert snap.gap_for(below, "firewallRules") is not None
    assert snap.gap_for(below, "config/web") is None
    assert snap.gap_for("/subscriptions/other", "firewallRules") is None


def _document() -> dict[str, Any]:
    return _snapshot().to_json()


def _write(tmp_path: Path, document: Any) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(schema_version=2), "schema_version: unsupported value 2; expected 1"),
        (lambda d: d.pop("schema_version"), "schema_version: missing"),
        (lambda d: d.pop("resources"), "resources: missing required field"),
        (lambda d: d["resources"][0].pop("type"), "resources[0].type: missing required field"),
        (
            lambda d: d["resources"][0].update(id=None),
            "resources[0].id: expected a string, got null",
        ),
        (
            lambda d: d.update(subscriptions={}),
            "subscriptions: expected a JSON array, got an object",
        ),
        (
            lambda d: d["collection_gaps"][0].update(status_code="403"),
            "collection_gaps[0].status_code: expected an integer or null",
        ),
        (lambda d: d.update(graph={"users": {}}), "graph['users']: expected a key of the form"),
        (lambda d: d.update(collected_at="yesterday"), "collected_at: expected an ISO 8601 time"),
        (
            lambda d: d["resources"].append(
                {**d["resources"][0], "id": d["resources"][0]["id"].upper()}
            ),
            "is listed twice (also at resources[0].id)",
        ),
        (
            lambda d: d["subscriptions"].append(dict(d["subscriptions"][0])),
            "is listed twice (also at subscriptions[0].subscriptionId)",
        ),
    ],
)
def test_invalid_documents_name_the_field(tmp_path: Path, mutate: Any, expected: str) -> None:
    document = _document()
    mutate(document)
    path = _write(tmp_path, document)
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_collected_time_is_the_evaluation_reference() -> None:
    when = _snapshot().collected_time
    assert (when.year, when.month, when.day, when.hour) == (2026, 11, 1, 6)
    assert when.utcoffset() is not None


def test_top_level_must_be_an_object() -> None:
    with pytest.raises(SnapshotError, match="top level: expected a JSON object, got an array"):
        snapshot_from_json([], origin="x.json")


def test_truncated_json(tmp_path: Path) -> None:
    path = tmp_path / "cut.json"
    path.write_bytes(dump_snapshot(_snapshot())[:200])
    with pytest.raises(SnapshotError, match=r"invalid JSON at line 1 column \d+"):
        load_snapshot(path)


def test_truncated_gzip(tmp_path: Path) -> None:
    path = tmp_path / "cut.json.gz"
    path.write_bytes(gzip.compress(dump_snapshot(_snapshot()))[:100])
    with pytest.raises(SnapshotError, match="truncated or corrupt gzip data"):
        load_snapshot(path)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no such snapshot file"):
        load_snapshot(tmp_path / "absent.json")
    with pytest.raises(SnapshotError, match="is a directory"):
        load_snapshot(tmp_path)


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.json"
    path.write_bytes(b"\xff\xfe\x00\x01")
    with pytest.raises(SnapshotError, match="not UTF-8 text"):
        load_snapshot(path)


# -- input that is JSON-ish but not a snapshot we can evaluate and report ----------------------


def _text_with(tmp_path: Path, replace: tuple[str, str]) -> Path:
    text = dump_snapshot(_snapshot()).decode("utf-8")
    assert replace[0] in text
    path = tmp_path / "snap.json"
    path.write_text(text.replace(replace[0], replace[1], 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("replace", "expected"),
    [
        (('"minTlsVersion":"1.2"', '"minTlsVersion":NaN'), "non-standard JSON constant NaN"),
        (('"minTlsVersion":"1.2"', '"minTlsVersion":Infinity'), "constant Infinity"),
        (('"minTlsVersion":"1.2"', '"minTlsVersion":-Infinity'), "constant -Infinity"),
        (('"minTlsVersion":"1.2"', '"minTlsVersion":1e400'), "number 1e400 is out of range"),
        (
            ('"minTlsVersion":"1.2"', '"minTlsVersion":"\\ud800x"'),
            "details.",
        ),
        (('"displayName":"prod"', '"displayName":"\\udc00"'), "lone UTF-16 surrogate"),
        (
            ('"collected_at":"2026-11-01T06:00:00Z"', '"collected_at":"0001-01-01T00:00:00Z"'),
            "collected_at: '0001-01-01T00:00:00Z' is out of range",
        ),
        (
            ('"collected_at":"2026-11-01T06:00:00Z"', '"collected_at":"9999-12-31T23:59:59-05:00"'),
            "collected_at: '9999-12-31T23:59:59-05:00' is out of range",
        ),
    ],
)
def test_non_standard_json_is_one_line_naming_the_problem(
    tmp_path: Path, replace: tuple[str, str], expected: str
) -> None:
    path = _text_with(tmp_path, replace)
    with pytest.raises(SnapshotError) as caught:
        load_snapshot(path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert expected in message
    assert "\n" not in message


def test_a_valid_surrogate_pair_is_text() -> None:
    path_text = dump_snapshot(_snapshot()).decode("utf-8").replace('"prod"', '"\\ud83d\\ude00"')
    from azaudit.snapshot import parse_json_text

    document = parse_json_text(path_text, "x")
    assert snapshot_from_json(document).subscriptions[0]["displayName"] == "\U0001f600"


@pytest.mark.parametrize("depth", [300, 100_000])
def test_deep_nesting_is_an_input_error(tmp_path: Path, depth: int) -> None:
    text = dump_snapshot(_snapshot()).decode("utf-8")
    nested = "[" * depth + "]" * depth
    path = tmp_path / "deep.json"
    path.write_text(text.replace('"1.2"', nested, 1), encoding="utf-8")
    with pytest.raises(SnapshotError, match="nested deeper than 200 levels"):
        load_snapshot(path)


def test_nesting_within_the_limit_loads(tmp_path: Path) -> None:
    text = dump_snapshot(_snapshot()).decode("utf-8")
    path = tmp_path / "nested.json"
    path.write_text(text.replace('"1.2"', "[" * 100 + "]" * 100, 1), encoding="utf-8")
    assert load_snapshot(path).resources


# -- the index answers exactly what a scan of the whole inventory would ----------------------


def test_gap_lookup_is_the_first_covering_gap() -> None:
    base = _snapshot()
    gaps = (
        CollectionGap(f"/subscriptions/{SUB}/resourceGroups/RG", "config/web", "rg web"),
        CollectionGap(f"/subscriptions/{SUB}", "*", "everything"),
        CollectionGap("/", "graph:users", "graph"),
        CollectionGap(f"/subscriptions/{SUB}/resourceGroups/rg", "*", "rg all"),
    )
    snap = Snapshot(**{**_fields(base), "gaps": gaps})
    site = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app1"
    probes = [
        (site, "config/web"),
        (site, "CONFIG/WEB"),
        (site.upper(), "firewallRules"),
        (f"/subscriptions/{SUB}", "resources"),
        (f"/subscriptions/{SUB}/resourceGroups/rg2", "config/web"),
        ("/subscriptions/other", "config/web"),
        ("/subscriptions/other", "graph:users"),
        ("/", "graph:users"),
        ("/", "graph:groups"),
    ]
    for scope, source in probes:
        linear = next((g for g in gaps if g.covers(scope, source)), None)
        assert snap.gap_for(scope, source) == linear, (scope, source)


def _fields(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "collected_at": snapshot.collected_at,
        "tool_version": snapshot.tool_version,
        "cloud": snapshot.cloud,
        "tenant": snapshot.tenant,
        "subscriptions": snapshot.subscriptions,
        "resources": snapshot.resources,
        "details": snapshot.details,
        "graph": snapshot.graph,
        "gaps": snapshot.gaps,
    }


def _escaping_snapshot() -> Snapshot:
    base = _snapshot()
    return dataclasses.replace(
        base,
        resources=(),
        details={},
        graph={"graph:users": {"value": [{"displayName": 'Zo\u00eb \u2028 "q" \\'}]}},
        gaps=(),
    )


def _batched_snapshot() -> Snapshot:
    """More resources and detail scopes than one batch, and one batch plus a single element."""
    base = generate(3, 3 * CANONICAL_BATCH // 4)
    resources = base.resources[: 2 * CANONICAL_BATCH + 1]
    assert len(resources) == 2 * CANONICAL_BATCH + 1 and len(base.details) > CANONICAL_BATCH
    return dataclasses.replace(base, resources=resources)


@pytest.mark.parametrize(
    "make",
    [build_demo_snapshot, _snapshot, _escaping_snapshot, _batched_snapshot],
    ids=["demo", "small", "empty lists and escapes", "several batches"],
)
def test_canonical_chunks_are_the_dumped_bytes(make: Any) -> None:
    """The evidence digest is taken over the exact bytes `dump_snapshot` writes."""
    value = make()
    assert b"".join(canonical_chunks(value)) == dump_snapshot(value)
    assert snapshot_sha256(value) == hashlib.sha256(dump_snapshot(value)).hexdigest()
