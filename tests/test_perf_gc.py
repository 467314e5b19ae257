"""Evaluation, result building and rendering run with the cyclic garbage collector paused.

They allocate a finding (or a line of output) per check and target and keep no reference
cycles; with the collector on, each full collection re-traverses the whole snapshot and every
finding so far, which grows faster than the tenant. These tests observe the collector's state
from inside each phase (through the hooks each phase calls: the deadline clock, the findings
iterable, the output stream) and that its state is restored afterwards, also on failure.
Within a scan, what each phase leaves alive is frozen until the scan ends, and no longer.
"""

from __future__ import annotations

import gc
import io
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from azaudit.casebook import case_config
from azaudit.demo import build_demo_snapshot
from azaudit.engine import evaluate
from azaudit.errors import SnapshotError
from azaudit.gc_pause import frozen_phases, paused_gc
from azaudit.models import Finding
from azaudit.pipeline import ScanRequest, SnapshotSource, run_scan
from azaudit.render import OutputFormat, write
from azaudit.result import build_result
from azaudit.snapshot import load_snapshot, write_snapshot
from tests.catalogue_support import builtin_catalogue

if TYPE_CHECKING:
    from typing_extensions import Buffer


pytestmark = pytest.mark.usefixtures("collector_on")


def test_evaluation_runs_with_the_collector_paused_and_restores_it() -> None:
    seen: list[bool] = []

    def clock() -> float:
        seen.append(gc.isenabled())
        return 0.0

    catalogue = builtin_catalogue()
    findings = evaluate(
        build_demo_snapshot(), catalogue.checks, case_config(), deadline=1.0, clock=clock
    )
    assert findings
    assert seen and not any(seen)
    assert gc.isenabled()


def test_evaluation_leaves_a_disabled_collector_disabled() -> None:
    gc.disable()
    evaluate(build_demo_snapshot(), builtin_catalogue().checks[:3], case_config())
    assert not gc.isenabled()


def test_the_collector_is_restored_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        assert not gc.isenabled()
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_the_result_is_built_with_the_collector_paused() -> None:
    snapshot = build_demo_snapshot()
    catalogue = builtin_catalogue()
    findings = evaluate(snapshot, catalogue.checks, case_config())
    seen: list[bool] = []

    def watched() -> Iterator[Finding]:
        for finding in findings:
            seen.append(gc.isenabled())
            yield finding

    result = build_result(snapshot, catalogue, watched(), case_config(), "2026-01-01T00:00:00Z")
    assert len(result.findings) == len(findings)
    assert seen and not any(seen)
    assert gc.isenabled()


class _Watching(io.BytesIO):
    """An output file that notes whether the collector was on at each write."""

    def __init__(self, fail_after: int | None = None) -> None:
        super().__init__()
        self.seen: list[bool] = []
        self.fail_after = fail_after

    def write(self, data: Buffer) -> int:
        self.seen.append(gc.isenabled())
        if self.fail_after is not None and len(self.seen) > self.fail_after:
            raise OSError(28, "No space left on device")
        return super().write(data)


@pytest.mark.parametrize("fmt", [OutputFormat.JSON, OutputFormat.HTML, OutputFormat.CSV])
def test_rendering_runs_with_the_collector_paused_and_restores_it(fmt: OutputFormat) -> None:
    snapshot = build_demo_snapshot()
    catalogue = builtin_catalogue()
    findings = evaluate(snapshot, catalogue.checks, case_config())
    result = build_result(snapshot, catalogue, findings, case_config(), "2026-01-01T00:00:00Z")
    stream = _Watching()
    write(fmt, result, stream)
    assert stream.seen and not any(stream.seen)
    assert gc.isenabled()
    failing = _Watching(fail_after=1)
    with pytest.raises(OSError, match="No space"):
        write(fmt, result, failing)
    assert gc.isenabled()


def test_loading_a_snapshot_triggers_no_collection(tmp_path: Path) -> None:
    from benchmarks.synthetic import generate

    path = tmp_path / "tenant.json.gz"
    write_snapshot(generate(2, 50), path)
    collections: list[str] = []

    def note(phase: str, info: dict[str, int]) -> None:
        collections.append(phase)

    threshold = gc.get_threshold()
    gc.set_threshold(10)  # on, a collection would start after every 10 new containers
    gc.callbacks.append(note)
    try:
        snapshot = load_snapshot(path)
    finally:
        gc.callbacks.remove(note)
        gc.set_threshold(*threshold)
    assert len(snapshot.resources) == 100
    # At most the one collection that runs as the collector resumes; decoding the 100
    # resources alone allocates thousands of containers, a collection per 10 if it were on.
    assert collections.count("start") <= 1
    assert gc.isenabled()


# -- a scan freezes what each phase leaves alive, and only for the scan ----------------------


class _Node:
    """An object that can take part in a reference cycle."""

    def __init__(self) -> None:
        self.other: object = None


def test_what_a_phase_leaves_alive_is_frozen_for_the_scan() -> None:
    assert gc.get_freeze_count() == 0
    with frozen_phases():
        with paused_gc():
            kept = [[i] for i in range(20_000)]
        frozen = gc.get_freeze_count()
        # Frozen, and the young generation's count starts afresh: no collection starts because
        # the phase allocated so much, and none will traverse what it built.
        assert frozen >= len(kept)
        assert gc.get_count()[0] < 100
        assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_cycles_dropped_during_a_scan_are_collected_after_it() -> None:
    with frozen_phases():
        node = _Node()
        node.other = node
        alive = weakref.ref(node)
        with paused_gc():
            pass
        del node
        gc.collect()
        assert alive() is not None  # frozen along with the phase's results, for the scan
    gc.collect()
    assert alive() is None


def test_a_scan_does_not_release_what_the_program_froze() -> None:
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with frozen_phases():
            with paused_gc():
                kept = [[i] for i in range(1_000)]
            assert gc.get_freeze_count() == before
        assert kept and gc.get_freeze_count() == before
    finally:
        gc.unfreeze()


def test_a_nested_scan_leaves_the_outer_one_frozen() -> None:
    with frozen_phases():
        with frozen_phases(), paused_gc():
            kept = [[i] for i in range(1_000)]
        assert gc.get_freeze_count() >= len(kept)
    assert gc.get_freeze_count() == 0


def test_a_scan_unfreezes_when_it_fails(tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    request = ScanRequest(SnapshotSource(missing), out=tmp_path / "out")
    with pytest.raises(SnapshotError, match="no such snapshot file"):
        run_scan(request)
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()


def test_a_scan_of_a_kept_snapshot_leaves_nothing_frozen(tmp_path: Path) -> None:
    path = tmp_path / "demo.json.gz"
    write_snapshot(build_demo_snapshot(), path)
    outcome = run_scan(
        ScanRequest(SnapshotSource(path), out=tmp_path / "out", formats=(OutputFormat.JSON,))
    )
    assert outcome.result.findings
    assert gc.get_freeze_count() == 0
    assert gc.isenabled()
