"""Time an offline scan (`azaudit scan --snapshot`) of synthetic tenants, phase by phase.

For each size a synthetic snapshot (`benchmarks/synthetic.py`) is written to a file first (not
timed); then a child process runs exactly what `azaudit scan --snapshot FILE` runs - load the
snapshot, evaluate the built-in catalogue, build the result, render every format - and reports
the time of each phase, its peak RSS, and resource-checks per second for evaluation (findings on
resource targets per second of evaluation). Each size runs in its own process so that peak RSS
belongs to that size alone. Output: a table, and JSON with `--json`.

    python -m benchmarks.run_offline                       # 1k, 5k, 10k, 50k, 100k
    python -m benchmarks.run_offline --sizes 1000 10000 --json offline.json

Benchmarks are run by hand; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CHILD_FLAG = "--child"
SUBSCRIPTIONS = 10
DEFAULT_SIZES = (1_000, 5_000, 10_000, 50_000, 100_000)


def _child(snapshot_path: Path) -> dict[str, Any]:
    """The phases of `azaudit scan --snapshot` on one file, timed (runs in the child)."""
    from azaudit.catalogue import load_catalogue
    from azaudit.engine import evaluate
    from azaudit.evaluators.base import ScanConfig
    from azaudit.models import TargetKind
    from azaudit.reference import default_baa_list, default_us_regions
    from azaudit.render import OutputFormat, render
    from azaudit.result import build_result
    from azaudit.snapshot import load_snapshot

    catalogue = load_catalogue()
    baa_list = default_baa_list()
    regions = frozenset(default_us_regions())
    phases: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def timed(name: str, started: tuple[float, float]) -> None:
        phases[name] = time.perf_counter() - started[0]
        cpu[name] = time.process_time() - started[1]

    def now() -> tuple[float, float]:
        return time.perf_counter(), time.process_time()

    start = now()
    snapshot = load_snapshot(snapshot_path)
    timed("load", start)

    config = ScanConfig(baa_list=baa_list, allowed_regions=regions, now=snapshot.collected_time)
    start = now()
    findings = evaluate(snapshot, catalogue.checks, config)
    timed("evaluate", start)

    start = now()
    result = build_result(snapshot, catalogue, findings, config, snapshot.collected_at)
    timed("result", start)

    start = now()
    sizes = {fmt.value: len(render(fmt, result)) for fmt in OutputFormat}
    timed("render", start)

    resource_checks = {c.id for c in catalogue.checks if c.meta.target is TargetKind.RESOURCE}
    evaluated = sum(1 for f in findings if f.check_id in resource_checks)
    return {
        "resources": len(snapshot.resources),
        "findings": len(findings),
        "resource_checks": evaluated,
        "phases": phases,
        "cpu_phases": cpu,
        "total": sum(phases.values()),
        "resource_checks_per_s": evaluated / phases["evaluate"] if phases["evaluate"] else None,
        "resource_checks_per_cpu_s": evaluated / cpu["evaluate"] if cpu["evaluate"] else None,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "report_bytes": sizes,
        "cpu_s": time.process_time(),
    }


def _measure(size: int, workdir: Path) -> dict[str, Any]:
    from azaudit.snapshot import write_snapshot
    from benchmarks.synthetic import generate

    path = workdir / f"synthetic-{size}.json.gz"
    if not path.exists():
        snapshot = generate(SUBSCRIPTIONS, max(1, size // SUBSCRIPTIONS))
        write_snapshot(snapshot, path)
        del snapshot
        gc.collect()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_offline", CHILD_FLAG, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    measured: dict[str, Any] = json.loads(done.stdout)
    measured["wall_s"] = time.perf_counter() - started
    measured["snapshot_mb"] = path.stat().st_size / 2**20
    return measured


def _machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1_5_15": [round(x, 2) for x in load],
    }


def _table(rows: list[dict[str, Any]]) -> str:
    head = (
        f"{'resources':>9} {'findings':>9} {'load s':>7} {'eval s':>7} {'result s':>8} "
        f"{'render s':>8} {'total s':>7} {'res-checks/s':>12} {'per CPU s':>10} "
        f"{'eval CPU s':>10} {'peak RSS MB':>11}"
    )
    lines = [head]
    for r in rows:
        p = r["phases"]
        lines.append(
            f"{r['resources']:>9} {r['findings']:>9} {p['load']:>7.2f} {p['evaluate']:>7.2f} "
            f"{p['result']:>8.2f} {p['render']:>8.2f} {r['total']:>7.2f} "
            f"{r['resource_checks_per_s']:>12,.0f} {r['resource_checks_per_cpu_s']:>10,.0f} "
            f"{r['cpu_phases']['evaluate']:>10.2f} {r['peak_rss_mb']:>11.0f}"
        )
    return "\n".join(lines)


def _ratios(rows: list[dict[str, Any]]) -> dict[str, float]:
    by_size = {r["resources"]: r for r in rows}
    ratios: dict[str, float] = {}
    if 5_000 in by_size and 50_000 in by_size:
        small, big = by_size[5_000], by_size[50_000]
        ratios["evaluate_50k_over_5k"] = big["phases"]["evaluate"] / small["phases"]["evaluate"]
        ratios["evaluate_cpu_50k_over_5k"] = (
            big["cpu_phases"]["evaluate"] / small["cpu_phases"]["evaluate"]
        )
        ratios["load_50k_over_5k"] = big["phases"]["load"] / small["phases"]["load"]
        ratios["total_50k_over_5k"] = big["total"] / small["total"]
    return ratios


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == [CHILD_FLAG]:
        print(json.dumps(_child(Path(args[1]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES))
    parser.add_argument("--json", type=Path, help="also write the measurements here")
    parser.add_argument("--workdir", type=Path, help="keep the generated snapshots here")
    options = parser.parse_args(args)
    with tempfile.TemporaryDirectory() as scratch:
        workdir = options.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        rows = [_measure(size, workdir) for size in options.sizes]
    ratios = _ratios(rows)
    machine = _machine()
    report = {"machine": machine, "runs": rows, "ratios": ratios}
    print(_table(rows))
    for name, value in ratios.items():
        print(f"{name}: {value:.2f}")
    print(json.dumps(machine))
    if options.json:
        options.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
