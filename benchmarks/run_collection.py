"""Time a real live collection of a synthetic tenant served by the emulator.

The emulator runs in this process with a per-request latency (default 100 ms, a stand-in for
the distance to Azure); the collector (`azaudit.collect.live.collect_live`, the code behind
`azaudit scan --all-subscriptions`) runs in a child process so that neither steals the other's
interpreter lock. Reported: wall time, requests by API family, requests per resource, peak RSS
of the collector and of the emulator, CPU time, and the CPU steal the machine suffered
(`/proc/stat`), as JSON and as a table.

    python -m benchmarks.run_collection --subscriptions 5 --resources 200
    python -m benchmarks.run_collection --subscriptions 20 --resources 500 --json out.json

Benchmarks are run by hand; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from azaudit.emulator import Emulator, FaultPlan, LimitMode
from benchmarks.synthetic import generate

CHILD_FLAG = "--collector-child"


@dataclass(frozen=True, slots=True)
class CpuSample:
    """Aggregate CPU jiffies from the first line of /proc/stat."""

    total: int
    steal: int
    idle: int

    @classmethod
    def read(cls) -> CpuSample:
        """The current counters (zeros where /proc/stat does not exist)."""
        try:
            fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:]
        except (OSError, IndexError):
            return cls(0, 0, 0)
        values = [int(v) for v in fields]
        steal = values[7] if len(values) > 7 else 0
        # guest time is already counted in user time.
        total = sum(values[:8])
        return cls(total, steal, values[3] + (values[4] if len(values) > 4 else 0))

    def steal_since(self, earlier: CpuSample) -> float:
        """Fraction of CPU time stolen by the hypervisor between two samples."""
        elapsed = self.total - earlier.total
        return (self.steal - earlier.steal) / elapsed if elapsed > 0 else 0.0


def _peak_rss_mb(who: int) -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(who).ru_maxrss / 1024.0


# -- the collector side (child process) ---------------------------------------------------------


def _collector_child(argv: Sequence[str]) -> int:
    """Run one live collection against the emulator named by the environment; print JSON."""
    parser = argparse.ArgumentParser(prog="run_collection (collector)")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--per-scope-concurrency", type=int, required=True)
    args = parser.parse_args(argv)

    from azure.identity.aio import ClientSecretCredential

    from azaudit.catalogue import load_catalogue
    from azaudit.collect.live import collect_live
    from azaudit.collect.options import LiveDeps, LiveOptions

    env = dict(os.environ)
    started_cpu = time.process_time()

    def credential(endpoints: Any, tenant: str | None) -> ClientSecretCredential:
        return ClientSecretCredential(
            env["AZURE_TENANT_ID"],
            env["AZURE_CLIENT_ID"],
            env["AZURE_CLIENT_SECRET"],
            authority=env["AZAUDIT_AUTHORITY_HOST"],
            disable_instance_discovery=True,
            connection_verify=env["AZAUDIT_CA_BUNDLE"],
        )

    catalogue = load_catalogue()
    started = time.perf_counter()
    snapshot = collect_live(
        LiveOptions(
            all_subscriptions=True,
            concurrency=args.concurrency,
            per_scope_concurrency=args.per_scope_concurrency,
        ),
        catalogue,
        deps=LiveDeps(credential_factory=credential, environ=env),
    )
    elapsed = time.perf_counter() - started
    report = {
        "collect_seconds": elapsed,
        "subscriptions": len(snapshot.subscriptions),
        "resources": len(snapshot.resources),
        "documents": sum(len(d) for d in snapshot.details.values()) + len(snapshot.graph),
        "gaps": len(snapshot.gaps),
        "gap_examples": [g.to_json() for g in snapshot.gaps[:3]],
        "peak_rss_mb": _peak_rss_mb(resource.RUSAGE_SELF),
        "cpu_seconds": time.process_time() - started_cpu,
    }
    print(json.dumps(report))
    return 0


# -- the harness (parent process) ---------------------------------------------------------------


def run(
    subscriptions: int,
    resources: int,
    *,
    latency_ms: float,
    limits: LimitMode,
    concurrency: int,
    per_scope_concurrency: int,
    seed: int,
) -> dict[str, Any]:
    """Generate the tenant, serve it, collect it once, and measure."""
    started = time.perf_counter()
    snapshot = generate(subscriptions, resources, seed)
    generate_seconds = time.perf_counter() - started
    plan = FaultPlan(latency_ms=latency_ms)
    with Emulator(snapshot, plan, limits=limits) as emulator:
        env = {**os.environ, **emulator.environment()}
        command = [
            sys.executable,
            "-m",
            "benchmarks.run_collection",
            CHILD_FLAG,
            "--concurrency",
            str(concurrency),
            "--per-scope-concurrency",
            str(per_scope_concurrency),
        ]
        cpu_before = CpuSample.read()
        wall_started = time.perf_counter()
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            check=False,
            timeout=3600,
        )
        wall = time.perf_counter() - wall_started
        cpu_after = CpuSample.read()
        stats = emulator.stats()
    if result.returncode != 0:
        raise RuntimeError(f"collector failed ({result.returncode}): {result.stderr.strip()}")
    child = json.loads(result.stdout.strip().splitlines()[-1])
    total_resources = len(snapshot.resources)
    return {
        "tenant": {
            "subscriptions": subscriptions,
            "resources_per_subscription": resources,
            "resources": total_resources,
            "seed": seed,
            "generate_seconds": round(generate_seconds, 3),
        },
        "settings": {
            "latency_ms": latency_ms,
            "limits": limits.value,
            "concurrency": concurrency,
            "per_scope_concurrency": per_scope_concurrency,
        },
        "wall_seconds": round(wall, 3),
        "collect_seconds": round(child["collect_seconds"], 3),
        "collected": {
            "subscriptions": child["subscriptions"],
            "resources": child["resources"],
            "documents": child["documents"],
            "gaps": child["gaps"],
            "gap_examples": child["gap_examples"],
        },
        "requests": {
            "total": stats.total,
            "by_family": dict(sorted(stats.by_family.items())),
            "by_status": {str(k): v for k, v in sorted(stats.by_status.items())},
            "per_resource": round(stats.total / total_resources, 3),
            "per_second": round(stats.total / child["collect_seconds"], 1),
            "writes": stats.write_attempts,
        },
        "collector": {
            "peak_rss_mb": round(child["peak_rss_mb"], 1),
            "cpu_seconds": round(child["cpu_seconds"], 2),
        },
        "emulator_peak_rss_mb": round(_peak_rss_mb(resource.RUSAGE_SELF), 1),
        "cpu_steal": round(cpu_after.steal_since(cpu_before), 4),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }


def table(report: dict[str, Any]) -> str:
    """A human-readable summary of one run."""
    tenant, requests = report["tenant"], report["requests"]
    rows = [
        (
            "tenant",
            f"{tenant['subscriptions']} subs x {tenant['resources_per_subscription']} = "
            f"{tenant['resources']} resources",
        ),
        (
            "latency / limits",
            f"{report['settings']['latency_ms']:g} ms / {report['settings']['limits']}",
        ),
        (
            "concurrency",
            f"{report['settings']['concurrency']} "
            f"(per scope {report['settings']['per_scope_concurrency']})",
        ),
        (
            "wall time",
            f"{report['wall_seconds']:.1f} s (collection {report['collect_seconds']:.1f} s)",
        ),
        (
            "requests",
            f"{requests['total']} ({requests['per_second']:.0f}/s, "
            f"{requests['per_resource']:.2f} per resource)",
        ),
        ("by family", ", ".join(f"{k} {v}" for k, v in requests["by_family"].items())),
        ("by status", ", ".join(f"{k}: {v}" for k, v in requests["by_status"].items())),
        (
            "collected",
            f"{report['collected']['resources']} resources, "
            f"{report['collected']['documents']} documents, {report['collected']['gaps']} gaps",
        ),
        (
            "collector",
            f"peak RSS {report['collector']['peak_rss_mb']:.0f} MB, "
            f"CPU {report['collector']['cpu_seconds']:.1f} s",
        ),
        ("emulator", f"peak RSS {report['emulator_peak_rss_mb']:.0f} MB"),
        ("CPU steal", f"{report['cpu_steal'] * 100:.1f} %"),
        ("writes", str(requests["writes"])),
    ]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the table and write the JSON."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == [CHILD_FLAG]:
        return _collector_child(args_list[1:])
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run_collection", description=__doc__
    )
    parser.add_argument("--subscriptions", type=int, default=5)
    parser.add_argument("--resources", type=int, default=200, help="resources per subscription")
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument(
        "--limits",
        choices=[m.value for m in LimitMode],
        default=LimitMode.REPORT.value,
        help="how the emulator applies Azure's read quotas (default: report)",
    )
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--per-scope-concurrency", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs (steal varies; compare)")
    parser.add_argument("--json", type=Path, help="also write the reports to this file")
    args = parser.parse_args(args_list)
    reports = []
    for index in range(args.repeat):
        report = run(
            args.subscriptions,
            args.resources,
            latency_ms=args.latency_ms,
            limits=LimitMode(args.limits),
            concurrency=args.concurrency,
            per_scope_concurrency=args.per_scope_concurrency,
            seed=args.seed,
        )
        reports.append(report)
        if args.repeat > 1:
            print(f"-- run {index + 1}/{args.repeat}")
        print(table(report), flush=True)
    document = reports[0] if len(reports) == 1 else reports
    print(json.dumps(document, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
