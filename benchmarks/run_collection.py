"""Time a real live collection of a synthetic tenant served by the emulator, beside its floor.

The emulator runs in this process with a per-request latency (default 100 ms, a stand-in for
the distance to Azure); the collector (`azaudit.collect.live.collect_live`, the code behind
`azaudit scan --all-subscriptions`, with the product's default options unless `--concurrency`
or `--per-scope-concurrency` is given) runs in a child process so that neither steals the
other's interpreter lock. Then, against the same emulator, a second child replays the very
request set the collector sent (same methods, paths, queries and Resource Graph bodies) with
bare aiohttp at `--replay-concurrency` in flight and no dependencies between requests: the
raw-replay floor, what this machine can do at all. Reported, per tenant size: wall time of
both and their ratio, requests by API family and status, client CPU per request, peak RSS of
the collector and of the emulator, and the CPU steal the machine suffered (`/proc/stat`).

    python -m benchmarks.run_collection --subscriptions 20 --resources 50,500
    python -m benchmarks.run_collection --subscriptions 1 --resources 10000 --limits enforce \
        --no-replay

Benchmarks are run by hand; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
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
REPLAY_FLAG = "--replay-child"


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
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--per-scope-concurrency", type=int)
    args = parser.parse_args(argv)

    from azure.identity.aio import ClientSecretCredential

    from azaudit.catalogue import load_catalogue
    from azaudit.collect.live import collect_live
    from azaudit.collect.options import LiveDeps, LiveOptions

    env = dict(os.environ)

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
    options = LiveOptions(all_subscriptions=True)  # the product's defaults...
    if args.concurrency is not None:  # ...unless told otherwise
        options = dataclasses.replace(options, concurrency=args.concurrency)
    if args.per_scope_concurrency is not None:
        options = dataclasses.replace(options, per_scope_concurrency=args.per_scope_concurrency)
    started_cpu = time.process_time()  # the collection only, not the imports
    started = time.perf_counter()
    snapshot = collect_live(
        options,
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
        "concurrency": options.concurrency,
        "per_scope_concurrency": options.per_scope_concurrency,
    }
    print(json.dumps(report))
    return 0


def _replay_child(argv: Sequence[str]) -> int:
    """Send a recorded request set (JSON lines on stdin) as fast as bare aiohttp can; print JSON."""
    import asyncio
    import ssl

    import aiohttp

    parser = argparse.ArgumentParser(prog="run_collection (replay)")
    parser.add_argument("--concurrency", type=int, required=True)
    args = parser.parse_args(argv)
    env = dict(os.environ)
    requests = [json.loads(line) for line in sys.stdin if line.strip()]
    base = env["AZAUDIT_ARM_ENDPOINT"]
    token = env["AZAUDIT_REPLAY_TOKEN"]

    async def replay() -> tuple[float, int]:
        context = ssl.create_default_context(cafile=env["AZAUDIT_CA_BUNDLE"])
        connector = aiohttp.TCPConnector(ssl=context, limit=args.concurrency)
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for item in requests:
            queue.put_nowait(item)
        failures = 0

        async def worker(session: aiohttp.ClientSession) -> None:
            nonlocal failures
            while not queue.empty():
                item = queue.get_nowait()
                url = f"{base}{item['path']}" + (f"?{item['query']}" if item["query"] else "")
                body = item["body"].encode() if item["body"] else None
                extra = {"Content-Type": "application/json"} if body else {}
                async with session.request(
                    item["method"], url, data=body, headers={**headers, **extra}
                ) as response:
                    await response.read()
                    failures += response.status >= 400

        async with aiohttp.ClientSession(connector=connector) as session:
            started = time.perf_counter()
            await asyncio.gather(*(worker(session) for _ in range(args.concurrency)))
            return time.perf_counter() - started, failures

    started_cpu = time.process_time()
    elapsed, failures = asyncio.run(replay())
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "requests": len(requests),
                "failures": failures,
                "cpu_seconds": time.process_time() - started_cpu,
                "peak_rss_mb": _peak_rss_mb(resource.RUSAGE_SELF),
            }
        )
    )
    return 0


def _child(flag: str, args: Sequence[str], env: dict[str, str], stdin: str = "") -> Any:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_collection", flag, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parent.parent,
        check=False,
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{flag} failed ({result.returncode}): {result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# -- the harness (parent process) ---------------------------------------------------------------


def run(
    subscriptions: int,
    resources: int,
    *,
    latency_ms: float,
    limits: LimitMode,
    concurrency: int | None,
    per_scope_concurrency: int | None,
    seed: int,
    replay_concurrency: int | None,
) -> dict[str, Any]:
    """Generate the tenant, serve it, collect it once, replay its requests, and measure."""
    started = time.perf_counter()
    snapshot = generate(subscriptions, resources, seed)
    generate_seconds = time.perf_counter() - started
    plan = FaultPlan(latency_ms=latency_ms)
    tuning: list[str] = []
    if concurrency is not None:
        tuning += ["--concurrency", str(concurrency)]
    if per_scope_concurrency is not None:
        tuning += ["--per-scope-concurrency", str(per_scope_concurrency)]
    replay: dict[str, Any] | None = None
    with Emulator(snapshot, plan, limits=limits) as emulator:
        env = {**os.environ, **emulator.environment()}
        cpu_before = CpuSample.read()
        wall_started = time.perf_counter()
        child = _child(CHILD_FLAG, tuning, env)
        wall = time.perf_counter() - wall_started
        cpu_after = CpuSample.read()
        stats = emulator.stats()
        recorded = [
            r for r in emulator.requests if r.family in {"arm", "arg", "graph"} and r.status < 400
        ]
        if replay_concurrency is not None:
            lines = "\n".join(
                json.dumps(
                    {
                        "method": r.method,
                        "path": r.path,
                        "query": r.query,
                        "body": r.body.decode("utf-8"),
                    }
                )
                for r in recorded
            )
            emulator.limits.mode = LimitMode.UNLIMITED  # the floor is not paced
            replay = _child(
                REPLAY_FLAG,
                ["--concurrency", str(replay_concurrency)],
                {**env, "AZAUDIT_REPLAY_TOKEN": emulator.issue_token()},
                lines,
            )
    total_resources = len(snapshot.resources)
    report: dict[str, Any] = {
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
            "concurrency": child["concurrency"],
            "per_scope_concurrency": child["per_scope_concurrency"],
            "defaults": concurrency is None and per_scope_concurrency is None,
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
            "cpu_ms_per_request": round(1000 * child["cpu_seconds"] / max(stats.total, 1), 3),
        },
        "emulator_peak_rss_mb": round(_peak_rss_mb(resource.RUSAGE_SELF), 1),
        "cpu_steal": round(cpu_after.steal_since(cpu_before), 4),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    if replay is not None:
        report["replay"] = {
            "concurrency": replay_concurrency,
            "requests": replay["requests"],
            "failures": replay["failures"],
            "seconds": round(replay["seconds"], 3),
            "cpu_ms_per_request": round(
                1000 * replay["cpu_seconds"] / max(replay["requests"], 1), 3
            ),
            "ratio": round(child["collect_seconds"] / replay["seconds"], 2),
        }
    return report


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
        ("client CPU", f"{report['collector']['cpu_ms_per_request']:.2f} ms per request"),
        ("CPU steal", f"{report['cpu_steal'] * 100:.1f} %"),
        ("writes", str(requests["writes"])),
    ]
    if "replay" in report:
        floor = report["replay"]
        rows.append(
            (
                "raw-replay floor",
                f"{floor['seconds']:.1f} s for {floor['requests']} requests at "
                f"{floor['concurrency']} in flight ({floor['failures']} failed); "
                f"collection / floor = {floor['ratio']:.2f}",
            )
        )
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in rows)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse arguments, run the benchmark, print the table and write the JSON."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == [CHILD_FLAG]:
        return _collector_child(args_list[1:])
    if args_list[:1] == [REPLAY_FLAG]:
        return _replay_child(args_list[1:])
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run_collection", description=__doc__
    )
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument(
        "--resources",
        default="50,500",
        help="resources per subscription; a comma-separated list runs each size in turn",
    )
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument(
        "--limits",
        choices=[m.value for m in LimitMode],
        default=LimitMode.REPORT.value,
        help="how the emulator applies Azure's read quotas (default: report)",
    )
    parser.add_argument("--concurrency", type=int, help="default: the product's default")
    parser.add_argument("--per-scope-concurrency", type=int, help="default: the product's")
    parser.add_argument(
        "--replay-concurrency",
        type=int,
        default=256,
        help="requests in flight of the raw-replay floor (default 256)",
    )
    parser.add_argument("--no-replay", action="store_true", help="skip the raw-replay floor")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs (steal varies; compare)")
    parser.add_argument("--json", type=Path, help="also write the reports to this file")
    args = parser.parse_args(args_list)
    reports = []
    sizes = [int(n) for n in str(args.resources).split(",") if n.strip()]
    for index in range(args.repeat):
        for size in sizes:
            report = run(
                args.subscriptions,
                size,
                latency_ms=args.latency_ms,
                limits=LimitMode(args.limits),
                concurrency=args.concurrency,
                per_scope_concurrency=args.per_scope_concurrency,
                seed=args.seed,
                replay_concurrency=None if args.no_replay else args.replay_concurrency,
            )
            reports.append(report)
            print(f"-- run {index + 1}/{args.repeat}, {args.subscriptions} x {size}")
            print(table(report), flush=True)
    document = reports[0] if len(reports) == 1 else reports
    print(json.dumps(document, indent=2))
    if args.json is not None:
        args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
