"""History at scale: `diff` and `compare()` on a store of 365 nightly runs against 1 or 2 runs.

A 10,000-resource synthetic tenant (`benchmarks/synthetic.py`, 20 subscriptions x 500 resources)
is evaluated once with the whole catalogue; each night varies that base set of findings
(a deterministic 0.5 % of findings flip between FAIL and PASS, and 0.1 % of resources are
replaced by new ones, so identities churn as in a real estate). Stores are built with the
product's own `HistoryStore.record`:

- `history-365.db`: nights 0..364;
- `history-2.db`: nights 363 and 364 (the least a diff of two recorded runs needs);
- `history-1.db`: night 364 (the least `compare()` needs).

Then, alternating small and large stores in fresh child processes (so peak RSS is per
operation, and both sides share the machine's load of the moment), after one warm-up round that
is not counted:

- `diff`: `azaudit diff <night 363> <night 364> --history STORE` (the command's function, text
  output to /dev/null);
- `compare`: `open_store(STORE)` + `compare(night 365)`, what the scan pipeline calls to
  render the report's history section;
- `record`: `record(night 365)` into each store, once, after the repetitions.

    python -m benchmarks.run_history --workdir /tmp/azaudit-history-bench --repeat 3

The work directory keeps the base result and the stores, so a second run skips the build.
Benchmarks are run by hand; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import pickle
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from azaudit.models import ScanResult, Status

CHILD_FLAG = "--history-child"
FIRST_NIGHT = datetime(2026, 1, 1, 2, 0, tzinfo=UTC)
FLIP_SHARE = 0.005
CHURN_SHARE = 0.001


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024.0
    return 0.0


def _peak_rss_mb() -> float:
    # VmHWM belongs to this program's address space; getrusage's ru_maxrss would carry the
    # parent's peak over fork and exec.
    return _status_mb("VmHWM")


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def base_result(subscriptions: int, resources: int) -> ScanResult:
    """The synthetic tenant evaluated with the whole catalogue, as `azaudit scan` does."""
    from azaudit.catalogue import load_catalogue
    from azaudit.engine import evaluate
    from azaudit.evaluators.base import ScanConfig
    from azaudit.reference import default_baa_list, default_us_regions
    from azaudit.result import build_result
    from benchmarks.synthetic import generate

    snapshot = generate(subscriptions, resources)
    catalogue = load_catalogue(())
    config = ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=snapshot.collected_time,
    )
    findings = evaluate(snapshot, catalogue.checks, config)
    return build_result(snapshot, catalogue, findings, config, _stamp(0))


def _stamp(night: int) -> str:
    return (FIRST_NIGHT + timedelta(days=night)).strftime("%Y-%m-%dT%H:%M:%SZ")


def night(base: ScanResult, number: int) -> ScanResult:
    """Night `number`: the base findings with that night's flips and replaced resources."""
    rng = random.Random(number)
    findings = list(base.findings)
    size = len(findings)
    for index in rng.sample(range(size), int(size * FLIP_SHARE)):
        finding = findings[index]
        if finding.status is Status.FAIL:
            findings[index] = finding._replace(status=Status.PASS)
        elif finding.status is Status.PASS:
            findings[index] = finding._replace(status=Status.FAIL)
    for index in rng.sample(range(size), int(size * CHURN_SHARE)):
        finding = findings[index]
        findings[index] = finding._replace(
            resource_id=f"{finding.resource_id}-n{number}",
            resource_name=f"{finding.resource_name}-n{number}",
        )
    return dataclasses.replace(base, findings=tuple(findings), generated_at=_stamp(number))


def _load(path: Path) -> Any:
    return pickle.loads(path.read_bytes())  # noqa: S301 - a file this script wrote


def build(workdir: Path, nights: int, subscriptions: int, resources: int) -> dict[str, Any]:
    """The base result and the three stores (skipped when the work directory has them)."""
    from azaudit.history import run_id_for
    from azaudit.history.store import open_store

    workdir.mkdir(parents=True, exist_ok=True)
    base_file = workdir / "base.pickle"
    if not base_file.exists():
        started = time.perf_counter()
        base_file.write_bytes(pickle.dumps(base_result(subscriptions, resources)))
        print(f"base result: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    base = _load(base_file)
    last = nights - 1
    (workdir / "next.pickle").write_bytes(pickle.dumps(night(base, nights)))
    info: dict[str, Any] = {
        "resources": subscriptions * resources,
        "findings_per_run": len(base.findings),
        "open_per_run": sum(f.status in (Status.FAIL, Status.ERROR) for f in base.findings),
        "nights": nights,
        "old_run": run_id_for(night(base, last - 1)),
        "new_run": run_id_for(night(base, last)),
        "next_run": run_id_for(night(base, nights)),
    }
    plans = {
        "history-1.db": [last],
        "history-2.db": [last - 1, last],
        f"history-{nights}.db": list(range(nights)),
    }
    record_times: list[float] = []
    for name, numbers in plans.items():
        path = workdir / name
        done = workdir / f"{name}.done"
        if done.exists():
            continue
        path.unlink(missing_ok=True)
        with open_store(str(path)) as store:
            for number in numbers:
                result = night(base, number)
                started = time.perf_counter()
                store.record(result)
                record_times.append(time.perf_counter() - started)
                if len(numbers) > 2 and number % 50 == 0:
                    print(f"{name}: night {number} recorded", file=sys.stderr)
        done.write_text("", encoding="utf-8")
        if len(numbers) == nights:
            info["build_seconds"] = round(sum(record_times[-nights:]), 1)
            info["record_first_10_median_s"] = round(
                statistics.median(record_times[-nights:][:10]), 3
            )
            info["record_last_10_median_s"] = round(
                statistics.median(record_times[-nights:][-10:]), 3
            )
    build_file = workdir / "build.json"
    if "build_seconds" in info:
        build_file.write_text(json.dumps(info), encoding="utf-8")
    elif build_file.exists():
        info = {**json.loads(build_file.read_text(encoding="utf-8")), **info}
    info[f"store_mb_{nights}"] = round((workdir / f"history-{nights}.db").stat().st_size / 2**20, 1)
    return info


def base_placeholder() -> Any:
    """Stands for the scan result in the `diff` child, which reads only the store."""
    return None


def child(operation: str, location: str, workdir: Path, old: str, new: str) -> dict[str, Any]:
    """Run one operation in this (fresh) process and measure it."""
    from azaudit.cli_history import ListFormat, diff
    from azaudit.history.store import open_store

    needs_result = operation in ("compare", "record")
    result: ScanResult = _load(workdir / "next.pickle") if needs_result else base_placeholder()
    before = _rss_mb()
    started = time.perf_counter()
    if operation == "diff":
        with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):  # noqa: PTH123
            diff(old, new, history=location, output=ListFormat.TEXT)
        detail: dict[str, Any] = {}
    elif operation == "compare":
        with open_store(location) as store:
            info = store.compare(result)
        detail = {"new": len(info.new), "resolved": len(info.resolved)}
        detail |= {"still_open": info.still_open, "trend": len(info.trend)}
    else:
        with open_store(location) as store:
            store.record(result)
        detail = {}
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 3),
        "rss_before_mb": round(before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        **detail,
    }


def _forget(store: Path, run_id: str) -> None:
    """Remove the run the `record` measurement added, so the stores stay as described."""
    with contextlib.closing(sqlite3.connect(store)) as conn, conn:
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("DELETE FROM runs WHERE run_id = ?", (run_id,))


def _run_child(operation: str, store: Path, workdir: Path, info: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks.run_history",
            CHILD_FLAG,
            operation,
            str(store),
            str(workdir),
            info["old_run"],
            info["new_run"],
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    measured: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return measured


def measure(workdir: Path, info: dict[str, Any], repeat: int) -> dict[str, Any]:
    """Time and peak RSS of each operation on the small and the large store, interleaved."""
    nights = info["nights"]
    cases = {
        ("diff", "small"): workdir / "history-2.db",
        ("diff", "large"): workdir / f"history-{nights}.db",
        ("compare", "small"): workdir / "history-1.db",
        ("compare", "large"): workdir / f"history-{nights}.db",
    }
    samples: dict[tuple[str, str], list[dict[str, Any]]] = {case: [] for case in cases}
    for round_number in range(repeat + 1):
        for case, store in cases.items():
            measured = _run_child(case[0], store, workdir, info)
            if round_number:  # the first round only warms the page cache
                samples[case].append(measured)
    for size, store in (("small", workdir / "history-1.db"), ("large", cases["diff", "large"])):
        samples["record", size] = [_run_child("record", store, workdir, info)]
        _forget(store, info["next_run"])
    report: dict[str, Any] = {}
    for (operation, size), runs in samples.items():
        report.setdefault(operation, {})[size] = {
            "seconds_median": round(statistics.median(r["seconds"] for r in runs), 3),
            "seconds_all": [r["seconds"] for r in runs],
            "peak_rss_mb_max": max(r["peak_rss_mb"] for r in runs),
            "rss_before_mb": runs[0]["rss_before_mb"],
            **{
                k: v
                for k, v in runs[0].items()
                if k not in ("seconds", "peak_rss_mb", "rss_before_mb")
            },
        }
    for sides in report.values():
        small, large = sides["small"], sides["large"]
        sides["time_ratio"] = round(large["seconds_median"] / small["seconds_median"], 2)
        sides["rss_ratio"] = round(large["peak_rss_mb_max"] / small["peak_rss_mb_max"], 2)
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """Build (or reuse) the stores, measure, print a table and optionally write JSON."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == CHILD_FLAG:
        operation, location, directory, old, new = args[1:6]
        print(json.dumps(child(operation, location, Path(directory), old, new)))
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run_history", description=__doc__)
    parser.add_argument("--nights", type=int, default=365)
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--resources", type=int, default=500, help="resources per subscription")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, help="keeps the stores (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    options = parser.parse_args(args)
    if options.nights < 3:
        parser.error("--nights must be at least 3")
    with contextlib.ExitStack() as stack:
        workdir: Path = options.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="azaudit-history-"))
        )
        info = build(workdir, options.nights, options.subscriptions, options.resources)
        report = measure(workdir, info, options.repeat)
    document = {
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "build": info,
        "results": report,
    }
    print(json.dumps(document, indent=2))
    n = options.nights
    print(f"\n{'operation':<9} {'store':<10} {'median s':>9} {'peak RSS MB':>12}")
    for operation, sides in report.items():
        for size in ("small", "large"):
            label = (
                f"{n} runs" if size == "large" else ("2 runs" if operation == "diff" else "1 run")
            )
            side = sides[size]
            seconds, peak = side["seconds_median"], side["peak_rss_mb_max"]
            print(f"{operation:<9} {label:<10} {seconds:>9} {peak:>12}")
        print(f"{'':<9} {'ratio':<10} {sides['time_ratio']:>9} {sides['rss_ratio']:>12}")
    if options.json:
        options.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
