"""The evidence digest of a loaded snapshot, and the inventory checks of the loader's fast path.

A snapshot file that holds exactly `dump_snapshot`'s bytes (every file azaudit writes) is hashed
as it was read; any other file, however close, is encoded again. Either way the digest is the
SHA-256 of `dump_snapshot` of what was loaded: these tests compare with that, computed by the
standard library's encoder, never with the loader's own shortcut.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from azaudit.demo import build_demo_snapshot
from azaudit.errors import SnapshotError
from azaudit.models import CollectionGap
from azaudit.snapshot import (
    Snapshot,
    dump_snapshot,
    load_snapshot,
    snapshot_from_json,
    snapshot_sha256,
    write_snapshot,
)
from benchmarks.synthetic import generate

SUB = "11111111-2222-3333-4444-555555555555"
RID = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Web/sites/app1"


def _snapshot(value: Any = "1.2") -> Snapshot:
    return Snapshot(
        collected_at="2026-11-01T06:00:00Z",
        tool_version="0.1.0",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": "tid", "displayName": "Tenant"},
        subscriptions=({"subscriptionId": SUB, "displayName": "prod", "state": "Enabled"},),
        resources=({"id": RID, "type": "Microsoft.Web/sites", "name": "app1", "properties": {}},),
        details={RID: {"config/web": {"properties": {"minTlsVersion": value}}}},
        graph={"graph:users": {"value": [{"displayName": 'Zoë \u2028 "q" \\ \x7f \x01'}]}},
        gaps=(CollectionGap(f"/subscriptions/{SUB}", "firewallRules", "403", 403, "Forbidden"),),
    )


def _expected(loaded: Snapshot) -> str:
    return hashlib.sha256(dump_snapshot(loaded)).hexdigest()


@pytest.mark.parametrize(
    "make",
    [build_demo_snapshot, _snapshot, lambda: generate(3, 700)],
    ids=["demo", "escapes", "several batches"],
)
@pytest.mark.parametrize("name", ["snap.json", "snap.json.gz"])
def test_a_written_snapshot_is_digested_as_its_file(
    tmp_path: Path, make: Callable[[], Snapshot], name: str
) -> None:
    path = tmp_path / name
    write_snapshot(make(), path)
    loaded = load_snapshot(path)
    data = path.read_bytes()
    if name.endswith(".gz"):
        data = gzip.decompress(data)
    assert snapshot_sha256(loaded) == _expected(loaded) == hashlib.sha256(data).hexdigest()


def _canonical_text() -> str:
    return dump_snapshot(_snapshot()).decode("ascii")


def _replaced(old: str, new: str) -> Callable[[str], str]:
    def edit(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)

    return edit


def _redumped(**options: Any) -> Callable[[str], str]:
    return lambda text: json.dumps(json.loads(text), **options)


# Files that load to the same snapshot as the canonical file (or to a slightly different one)
# but are not byte for byte its canonical form.
NOT_CANONICAL: dict[str, Callable[[str], str]] = {
    "indented": _redumped(indent=2, sort_keys=True),
    "spaces after separators": _redumped(sort_keys=True),
    "unsorted keys": _replaced(f'"id":"{RID}","name":"app1"', f'"name":"app1","id":"{RID}"'),
    "raw UTF-8": _redumped(sort_keys=True, separators=(",", ":"), ensure_ascii=False),
    "one space": _replaced('"name":"app1"', '"name": "app1"'),
    "trailing newline": lambda text: text + "\n",
    "duplicate key": _replaced('"name":"app1"', '"name":"old","name":"app1"'),
    "escaped letter": _replaced('"app1"', '"\\u0061pp1"'),
    "escaped slash": _replaced("config/web", "config\\/web"),
    "upper-case hex escape": _replaced("\\u00eb", "\\u00EB"),
    "long escape of a newline": _replaced("\\u2028", "\\u2028\\u000a"),
    "raw DEL": _replaced("\\u007f", "\x7f"),
    "float with trailing zero": _replaced('"1.2"', "1.20"),
    "float with exponent": _replaced('"1.2"', "1e5"),
    "float in long form": _replaced('"1.2"', "0.00001"),
    "float with capital exponent": _replaced('"1.2"', "1.5E+300"),
    "negative zero integer": _replaced('"1.2"', "-0"),
    "extra tool field": _replaced('"tool":{', '"tool":{"build":7,'),
    "extra top-level field": _replaced('"tool":{', '"extra":1,"tool":{'),
    "no graph member": _replaced(
        '"graph":{"graph:users":{"value":[{"displayName":"Zo\\u00eb \\u2028 \\"q\\" \\\\ '
        '\\u007f \\u0001"}]}},',
        "",
    ),
}


@pytest.mark.parametrize("edit", NOT_CANONICAL.values(), ids=NOT_CANONICAL.keys())
def test_any_other_file_is_encoded_again(tmp_path: Path, edit: Callable[[str], str]) -> None:
    text = edit(_canonical_text())
    path = tmp_path / "snap.json"
    path.write_bytes(text.encode("utf-8"))
    loaded = load_snapshot(path)
    assert text.encode("utf-8") != dump_snapshot(loaded)
    assert snapshot_sha256(loaded) == _expected(loaded)
    assert snapshot_sha256(loaded) != hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "value",
    [2**70, -(2**64), 1e16, 1e-05, 5e-324, -0.0, 1.7976931348623157e308, 0.1, 10**18],
    ids=repr,
)
def test_canonical_numbers_of_any_size_digest_as_dumped(tmp_path: Path, value: Any) -> None:
    path = tmp_path / "snap.json"
    write_snapshot(_snapshot(value), path)
    loaded = load_snapshot(path)
    assert loaded.details[RID]["config/web"]["properties"]["minTlsVersion"] == value
    assert snapshot_sha256(loaded) == _expected(loaded)
    assert snapshot_sha256(loaded) == hashlib.sha256(path.read_bytes()).hexdigest()


TEXT = st.characters(exclude_categories=["Cs"])  # any character a JSON string can carry
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(TEXT, max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(TEXT, max_size=4), inner),
    max_leaves=12,
)
LAYOUTS = st.sampled_from(
    [
        {"sort_keys": True, "separators": (",", ":")},
        {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False},
        {"separators": (",", ":")},
        {"sort_keys": True, "indent": 1},
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=JSON_VALUES, layout=LAYOUTS)
def test_any_document_digests_as_dump_snapshot_of_what_was_loaded(
    tmp_path: Path, value: Any, layout: dict[str, Any]
) -> None:
    document = _snapshot().to_json()
    document["graph"] = {"graph:users": {"value": [value]}}
    path = tmp_path / "snap.json"
    path.write_text(json.dumps(document, **layout), encoding="utf-8")
    loaded = load_snapshot(path)
    assert snapshot_sha256(loaded) == _expected(loaded)


def test_a_changed_copy_of_a_loaded_snapshot_is_digested_anew(tmp_path: Path) -> None:
    path = tmp_path / "snap.json.gz"
    write_snapshot(_snapshot(), path)
    loaded = load_snapshot(path)
    changed = dataclasses.replace(loaded, graph={})
    assert snapshot_sha256(changed) == _expected(changed) != snapshot_sha256(loaded)


# -- inventory rows: every problem named as before, the first one first ----------------------


class _Row(dict[str, Any]):
    """A mapping that is not exactly `dict` (an embedder's document): checked field by field."""


def _with_rows(rows: list[Any]) -> dict[str, Any]:
    document = _snapshot().to_json()
    document["resources"] = rows
    return document


GOOD = {"id": RID, "type": "Microsoft.Web/sites", "properties": {}}


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([GOOD, "row"], "x: resources[1]: expected a JSON object, got a string"),
        ([{"type": "t"}], "x: resources[0].id: missing required field"),
        ([{"id": 7, "type": "t"}], "x: resources[0].id: expected a string, got a number"),
        ([{"id": RID}], "x: resources[0].type: missing required field"),
        ([{"id": RID, "type": None}], "x: resources[0].type: expected a string, got null"),
        (
            [{**GOOD, "properties": []}],
            "x: resources[0].properties: expected a JSON object, got an array",
        ),
        (
            [GOOD, {**GOOD, "id": RID.upper(), "type": 1}],
            f"x: resources[1].id: '{RID.upper()}' is listed twice (also at resources[0].id)",
        ),
        (
            [GOOD, {"id": "b", "type": "t"}, {"id": "B", "type": "t"}],
            "x: resources[2].id: 'B' is listed twice (also at resources[1].id)",
        ),
        (
            [_Row(GOOD), _Row({**GOOD, "id": f"{RID}/x", "properties": "x"})],
            "x: resources[1].properties: expected a JSON object, got a string",
        ),
        (
            [{"id": "a", "type": "t", "properties": 1}, {"id": "A", "type": "t"}],
            "x: resources[0].properties: expected a JSON object, got a number",
        ),
    ],
)
def test_inventory_problems_are_named_exactly(rows: list[Any], expected: str) -> None:
    with pytest.raises(SnapshotError) as caught:
        snapshot_from_json(_with_rows(rows), origin="x")
    assert str(caught.value) == expected


def test_rows_of_any_mapping_type_and_null_properties_load() -> None:
    rows = [_Row(GOOD), {"id": "/subscriptions/s/x/y", "type": "T", "properties": None}]
    snapshot = snapshot_from_json(_with_rows(rows), origin="x")
    assert [r["id"] for r in snapshot.resources_of_type(["t"])] == ["/subscriptions/s/x/y"]
    assert snapshot.children_of("/subscriptions/s", "t") == [rows[1]]


def test_a_detail_scope_that_is_not_an_object_is_named() -> None:
    document = _snapshot().to_json()
    document["details"] = {RID: {}, "/subscriptions/x": []}
    with pytest.raises(SnapshotError) as caught:
        snapshot_from_json(document, origin="x")
    assert (
        str(caught.value) == "x: details['/subscriptions/x']: expected a JSON object, got an array"
    )


@pytest.mark.parametrize(
    "make", [build_demo_snapshot, _snapshot, lambda: generate(2, 50)], ids=["demo", "small", "2x50"]
)
def test_the_shared_document_is_the_json_form(make: Callable[[], Snapshot]) -> None:
    """The canonical-form test reads the snapshot's documents in place of `to_json`'s copies."""
    snapshot = make()
    assert snapshot._document(shared=True) == snapshot.to_json()


def test_every_ascii_character_digests_as_dumped(tmp_path: Path) -> None:
    """Both encoders escape `"`, `\\` and control characters alike; DEL and the rest differ."""
    text = "".join(chr(c) for c in range(128))
    path = tmp_path / "snap.json"
    for value in [text, *text]:
        write_snapshot(_snapshot(value), path)
        loaded = load_snapshot(path)
        assert snapshot_sha256(loaded) == _expected(loaded)
        assert snapshot_sha256(loaded) == hashlib.sha256(path.read_bytes()).hexdigest()
