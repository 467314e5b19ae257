"""Size and headless open time of report.html, this tree against an earlier revision, in one run.

A synthetic tenant (`benchmarks.synthetic`) is written as a snapshot; each side (this working
tree, and the baseline revision extracted with `git archive`) evaluates it and renders
report.html and results.json in a child process of its own code, reporting render time and the
peak memory the rendering added. Then headless Chromium (the system `/usr/bin/chromium`, driven by
Playwright) opens each report.html and the time to the `load` event is measured. Results print as
a table and, with `--json`, as JSON.

    python -m benchmarks.run_report --subscriptions 20 --resources 500 --baseline main
    python -m benchmarks.run_report --subscriptions 20 --resources 2500 --baseline main

Benchmarks are run by hand; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from azaudit.chromium import DEFAULT_CHROMIUM, HEADLESS_ARGS
from benchmarks.synthetic import generate

ROOT = Path(__file__).resolve().parent.parent

# Runs inside each side's own tree: evaluate the snapshot, then time each renderer on its own.
_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from azaudit.catalogue import load_catalogue
from azaudit.engine import evaluate
from azaudit.evaluators.base import ScanConfig
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.result import build_result
from azaudit.snapshot import load_snapshot
import azaudit.render as render_module
from azaudit.render import OutputFormat

snapshot_path, out = Path(sys.argv[1]), Path(sys.argv[2])
snapshot = load_snapshot(snapshot_path)
catalogue = load_catalogue()
regions = frozenset(default_us_regions())
now = snapshot.collected_time
config = ScanConfig(baa_list=default_baa_list(), allowed_regions=regions, now=now)
findings = evaluate(snapshot, catalogue.checks, config)
result = build_result(snapshot, catalogue, findings, config, "2026-11-02T08:00:00Z")
report = {"findings": len(result.findings)}
for fmt in (OutputFormat.JSON, OutputFormat.HTML):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    target = out / fmt.filename
    if hasattr(render_module, "write"):
        with target.open("wb") as stream:
            render_module.write(fmt, result, stream)
    else:
        target.write_bytes(render_module.render(fmt, result))
    report[fmt.value + "_seconds"] = round(time.perf_counter() - start, 2)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report[fmt.value + "_added_rss_mb"] = round((after - before) / 1024, 1)
    report[fmt.value + "_mb"] = round(target.stat().st_size / 1e6, 2)
report["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(report))
"""


@dataclass(frozen=True, slots=True)
class Side:
    """One side's measurements."""

    name: str
    findings: int
    html_mb: float
    json_mb: float
    html_seconds: float
    json_seconds: float
    html_added_rss_mb: float
    json_added_rss_mb: float
    peak_rss_mb: float
    open_seconds: float


def _extract(revision: str, into: Path) -> Path:
    """The baseline revision's files (`git archive`), ready to import."""
    archive = into / "baseline.tar"
    with archive.open("wb") as handle:
        subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", revision],
            stdout=handle,
            check=True,
        )
    tree = into / "baseline"
    tree.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def _render(tree: Path, snapshot: Path, out: Path) -> dict[str, float]:
    out.mkdir(parents=True, exist_ok=True)
    # The catalogue and templates are read from the tree's own checks/ and reports/ directories.
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(snapshot), str(out)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"render in {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _open_seconds(pages: Sequence[Path], repeat: int) -> list[float]:
    """Best-of-`repeat` time from navigation to the `load` event, per page."""
    from playwright.sync_api import sync_playwright

    times: list[float] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=DEFAULT_CHROMIUM, args=list(HEADLESS_ARGS)
        )
        try:
            for page_file in pages:
                best = float("inf")
                for _ in range(repeat):
                    page = browser.new_page()
                    start = time.perf_counter()
                    page.goto(page_file.as_uri(), wait_until="load", timeout=600_000)
                    best = min(best, time.perf_counter() - start)
                    page.close()
                times.append(round(best, 2))
        finally:
            browser.close()
    return times


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run both sides, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--resources", type=int, default=500, help="per subscription")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    parser.add_argument(
        "--no-baseline", action="store_true", help="measure this tree only (no comparison)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="browser opens per report (best)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="azaudit-bench-report-") as work_dir:
        work = Path(work_dir)
        snapshot = generate(args.subscriptions, args.resources, args.seed)
        snapshot_file = work / "snapshot.json.gz"
        from azaudit.snapshot import write_snapshot

        write_snapshot(snapshot, snapshot_file)
        del snapshot
        trees = (
            {} if args.no_baseline else {"baseline " + args.baseline: _extract(args.baseline, work)}
        )
        trees["this tree"] = ROOT
        rendered = {
            name: (_render(tree, snapshot_file, work / f"out-{i}"), work / f"out-{i}")
            for i, (name, tree) in enumerate(trees.items())
        }
        opened = _open_seconds([out / "report.html" for _, out in rendered.values()], args.repeat)
        sides = [
            Side(
                name=name,
                findings=int(numbers["findings"]),
                html_mb=numbers["html_mb"],
                json_mb=numbers["json_mb"],
                html_seconds=numbers["html_seconds"],
                json_seconds=numbers["json_seconds"],
                html_added_rss_mb=numbers["html_added_rss_mb"],
                json_added_rss_mb=numbers["json_added_rss_mb"],
                peak_rss_mb=numbers["peak_rss_mb"],
                open_seconds=seconds,
            )
            for (name, (numbers, _)), seconds in zip(rendered.items(), opened, strict=True)
        ]
    resources = args.subscriptions * args.resources
    print(
        f"{resources:,} resources ({args.subscriptions} x {args.resources}), seed {args.seed}, "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}"
    )
    header = (
        "side", "findings", "report.html MB", "open s", "html render s", "html +RSS MB",
        "results.json MB", "json render s", "json +RSS MB", "peak RSS MB",
    )  # fmt: skip
    print(" | ".join(header))
    for s in sides:
        print(
            f"{s.name} | {s.findings:,} | {s.html_mb} | {s.open_seconds} | {s.html_seconds} | "
            f"{s.html_added_rss_mb} | {s.json_mb} | {s.json_seconds} | {s.json_added_rss_mb} | "
            f"{s.peak_rss_mb}"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"resources": resources, "sides": [asdict(s) for s in sides]}, indent=2)
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
