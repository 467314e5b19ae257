"""Time an offline scan (`azaudit scan --snapshot`) of synthetic tenants, phase by phase.

For each size a synthetic snapshot (`benchmarks/synthetic.py`) is written to a file first (not
timed); then a child process runs exactly what `azaudit scan --snapshot FILE` runs, with the
pipeline's own functions in the pipeline's order - load (inputs and snapshot), digest (the
snapshot's SHA-256 for the evidence chain), evaluate, result, render (report.html and
results.json streamed into an output directory) - and reports the CPU and wall time of each
phase, the peak RSS after each phase, and resource-checks per CPU second for evaluation
(findings of resource-targeted checks per CPU second of evaluation). Each size runs in its own
process so that peak RSS belongs to that size alone. CPU time (`getrusage`, user + system) is
the figure to compare on a shared machine: wall time also counts what other jobs took.
Output: a table, and JSON with `--json`.

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


PHASES = ("load", "digest", "evaluate", "result", "render")
"""The steps of `azaudit scan --snapshot FILE` (`pipeline.run_scan`), in order."""


def _cpu() -> float:
    """CPU seconds (user + system) this process used so far: on a shared machine the time that
    other jobs take from this one shows in wall time, not here."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    """Peak RSS of this process's own address space (`VmHWM`).

    `ru_maxrss` is not used where `/proc` is available: Linux carries it over from the parent
    through fork and exec, so a child would report the parent's peak (here: generating the
    synthetic snapshot) when that was higher.
    """
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(snapshot_path: Path) -> dict[str, Any]:
    """`pipeline.run_scan` on one snapshot file, step by step and timed (runs in the child).

    The steps are the pipeline's own functions, called in its order: load (inputs and the
    snapshot), digest (the canonical bytes whose SHA-256 the evidence chain records), evaluate,
    result (attestations, PHI scope, waivers, summaries) and render (report.html and
    results.json streamed into the output directory, as a scan without `--format` writes them).
    """
    from azaudit import pipeline
    from azaudit.attestations import apply_attestations
    from azaudit.engine import evaluate
    from azaudit.evaluators.base import ScanConfig
    from azaudit.gc_pause import frozen_phases
    from azaudit.models import EvidenceInfo, TargetKind
    from azaudit.render import RenderOptions
    from azaudit.result import build_result
    from azaudit.snapshot import snapshot_sha256
    from azaudit.web.scan import recorded_web_sites

    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    rss: dict[str, float] = {}
    clock = [time.perf_counter(), _cpu()]

    def done(name: str) -> None:
        now_wall, now_cpu = time.perf_counter(), _cpu()
        wall[name] = now_wall - clock[0]
        cpu[name] = now_cpu - clock[1]
        rss[name] = _peak_rss_mb()
        clock[:] = [now_wall, now_cpu]

    # `frozen_phases` as `pipeline.run_scan` applies it around the whole run.
    with tempfile.TemporaryDirectory() as out, frozen_phases():
        request = pipeline.ScanRequest(
            source=pipeline.SnapshotSource(snapshot_path), out=Path(out) / "report"
        )
        baseline_rss = _peak_rss_mb()
        clock[:] = [time.perf_counter(), _cpu()]
        inputs = pipeline.load_inputs(request)
        obtained = pipeline.obtain_snapshot(request.source, inputs.catalogue)
        snapshot = obtained.snapshot
        done("load")

        digest = snapshot_sha256(snapshot)
        done("digest")

        config = ScanConfig(
            baa_list=inputs.baa_list.for_cloud(str(snapshot.cloud.get("name") or "")),
            allowed_regions=inputs.regions,
            now=snapshot.collected_time,
        )
        findings = evaluate(snapshot, inputs.scoped.checks, config)
        done("evaluate")
        # Counted outside every phase, then the steps hold the findings as `pipeline.build`
        # does: each step's input is dropped once the next generation exists.
        resource_checks = {
            c.id for c in inputs.scoped.checks if c.meta.target is TargetKind.RESOURCE
        }
        finding_count = len(findings)
        evaluated = sum(1 for f in findings if f.check_id in resource_checks)
        clock[:] = [time.perf_counter(), _cpu()]

        now = pipeline._utc_now()
        raw = apply_attestations(findings, inputs.attestations, snapshot.collected_time)
        del findings
        annotated, waivers = pipeline.annotate(raw, snapshot, inputs, request.phi, now.date())
        del raw
        evidence = EvidenceInfo(
            snapshot_sha256=digest,
            scanning_identity=obtained.identity,
            tool_version="benchmark",
            catalogue_version=pipeline.catalogue_version(inputs.catalogue),
        )
        result = build_result(
            snapshot,
            inputs.scoped,
            annotated,
            config,
            pipeline._iso(now),
            phi_scope=request.phi.info,
            waivers=waivers,
            evidence=evidence,
            web_sites=recorded_web_sites(snapshot),
        )
        del annotated
        done("result")

        files = pipeline.render_all(request.formats, result, RenderOptions(paper=request.paper))
        pipeline.write_reports(request.out, files, ())
        done("render")
        sizes = {name: (request.out / name).stat().st_size for name in files}

    return {
        "resources": len(snapshot.resources),
        "findings": finding_count,
        "resource_checks": evaluated,
        "phases": wall,
        "cpu_phases": cpu,
        "rss_after_phase_mb": rss,
        "start_rss_mb": baseline_rss,
        "total": sum(wall.values()),
        "total_cpu": sum(cpu.values()),
        "resource_checks_per_s": evaluated / wall["evaluate"] if wall["evaluate"] else None,
        "resource_checks_per_cpu_s": evaluated / cpu["evaluate"] if cpu["evaluate"] else None,
        "peak_rss_mb": _peak_rss_mb(),
        "report_bytes": sizes,
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
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_offline", CHILD_FLAG, str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    measured: dict[str, Any] = json.loads(done.stdout)
    measured["wall_s"] = time.perf_counter() - started
    measured["load_average_before_after"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    measured["snapshot_mb"] = path.stat().st_size / 2**20
    return measured


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": _cpu_model(),
        "cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def _table(rows: list[dict[str, Any]]) -> str:
    """CPU seconds per phase (the comparable figures on a shared machine), then wall and RSS."""
    head = (
        f"{'resources':>9} {'findings':>8} "
        + " ".join(f"{p + ' CPU':>12}" for p in PHASES)
        + f" {'total CPU':>9} {'res-chk/CPU s':>13} {'total wall':>10} {'peak RSS MB':>11}"
        f" {'load avg':>11}"
    )
    lines = [head]
    for r in rows:
        cpu = r["cpu_phases"]
        load = r["load_average_before_after"]
        lines.append(
            f"{r['resources']:>9} {r['findings']:>8} "
            + " ".join(f"{cpu[p]:>12.2f}" for p in PHASES)
            + f" {r['total_cpu']:>9.2f} {r['resource_checks_per_cpu_s']:>13,.0f}"
            f" {r['total']:>10.2f} {r['peak_rss_mb']:>11.0f} {load[0]:>5.1f}-{load[1]:<5.1f}"
        )
    return "\n".join(lines)


def _ratios(rows: list[dict[str, Any]]) -> dict[str, float]:
    by_size = {r["resources"]: r for r in rows}
    ratios: dict[str, float] = {}
    if 5_000 in by_size and 50_000 in by_size:
        small, big = by_size[5_000], by_size[50_000]
        ratios["evaluate_cpu_50k_over_5k"] = (
            big["cpu_phases"]["evaluate"] / small["cpu_phases"]["evaluate"]
        )
        ratios["total_cpu_50k_over_5k"] = big["total_cpu"] / small["total_cpu"]
        ratios["evaluate_wall_50k_over_5k"] = (
            big["phases"]["evaluate"] / small["phases"]["evaluate"]
        )
        ratios["total_wall_50k_over_5k"] = big["total"] / small["total"]
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
