"""Seeded mutations of the demo snapshot through the CLI: never a crash, never half a report.

Every mutated snapshot must end in one of the documented exit codes (0, 1, 2, 3); exit 2 says
exactly one line on stderr; and the reports are either all written and complete, or absent.
"""

from __future__ import annotations

import copy
import json
import math
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from azaudit import pipeline
from azaudit.cli import main
from azaudit.demo import build_demo_snapshot
from tests.catalogue_support import builtin_catalogue

SEED = 20261204
RUNS = 200

Path_ = tuple[str | int, ...]


def _paths(node: Any, prefix: Path_ = ()) -> list[Path_]:
    found: list[Path_] = []
    if isinstance(node, dict):
        for key, value in node.items():
            found.append((*prefix, key))
            found.extend(_paths(value, (*prefix, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.append((*prefix, index))
            found.extend(_paths(value, (*prefix, index)))
    return found


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


REPLACEMENTS: tuple[Callable[[random.Random, Any], Any], ...] = (
    lambda rng, old: None,
    lambda rng, old: rng.choice([0, -1, 7, 2**70, 1.5, -0.0]),
    lambda rng, old: rng.choice([True, False]),
    lambda rng, old: rng.choice(["", "*", "x" * 5000, "é\u202e\u0000<script>", "\ud800"]),
    lambda rng, old: rng.choice([[], [None], [1, "a"], {}, {"k": None}]),
    lambda rng, old: rng.choice([math.nan, math.inf, -math.inf]),
    lambda rng, old: _nested(rng.choice([5, 150, 400])),
    lambda rng, old: str(old),
    lambda rng, old: [old] if not isinstance(old, list) else {"value": old},
    lambda rng, old: rng.choice(["0001-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "yesterday"]),
)


def _mutate(document: dict[str, Any], rng: random.Random, paths: list[Path_]) -> None:
    for _ in range(rng.choice([1, 1, 2, 3])):
        path = rng.choice(paths)
        parent: Any = document
        try:
            for key in path[:-1]:
                parent = parent[key]
            old = parent[path[-1]]
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation replaced part of the path
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[path[-1]]
        else:
            parent[path[-1]] = rng.choice(REPLACEMENTS)(rng, old)


@pytest.fixture(scope="module")
def demo_document() -> dict[str, Any]:
    return build_demo_snapshot().to_json()


def _scan(snapshot: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    argv = ["azaudit", "scan", "--snapshot", str(snapshot), "--out", str(out)]
    saved = sys.argv
    sys.argv = argv
    try:
        with pytest.raises(SystemExit) as ended:
            main()
    finally:
        sys.argv = saved
    code = ended.value.code
    return (code if isinstance(code, int) else 0), capsys.readouterr().err


def _assert_complete_or_absent(out: Path) -> None:
    written = sorted(p.name for p in out.iterdir()) if out.exists() else []
    if not written:
        return
    assert written == ["report.html", "results.json"], written
    json.loads((out / "results.json").read_text(encoding="utf-8"))
    html = (out / "report.html").read_text(encoding="utf-8")
    assert html.rstrip().endswith("</html>")


def test_mutated_snapshots_never_crash_the_scan(
    demo_document: dict[str, Any],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The catalogue files do not change between runs: parse them once (the same function,
    # memoised) so that the runs' time goes to loading, evaluating and rendering the snapshots.
    monkeypatch.setattr(pipeline, "load_catalogue", lambda *args, **kwargs: builtin_catalogue())
    rng = random.Random(SEED)
    paths = [p for p in _paths(demo_document) if p[0] != "schema_version"]
    codes: dict[int, int] = {}
    for run in range(RUNS):
        document = copy.deepcopy(demo_document)
        _mutate(document, rng, paths)
        snapshot = tmp_path / f"snap-{run}.json"
        # json.dumps writes NaN/Infinity and escapes lone surrogates: the loader must reject them.
        snapshot.write_text(json.dumps(document), encoding="utf-8")
        out = tmp_path / f"out-{run}"
        code, err = _scan(snapshot, out, capsys)
        codes[code] = codes.get(code, 0) + 1
        assert code in (0, 1, 2, 3), (run, code, err)
        if code == 2:
            assert len(err.strip().splitlines()) == 1, (run, err)
            assert not out.exists() or not any(out.iterdir()), run
        else:
            _assert_complete_or_absent(out)
            assert (out / "results.json").exists(), run
        snapshot.unlink()
    # The mutations reach both outcomes: rejected input and evaluated findings.
    assert codes.get(2, 0) > 0
    assert codes.get(1, 0) + codes.get(3, 0) + codes.get(0, 0) > RUNS // 3
