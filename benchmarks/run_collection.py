"""Time a real live collection of a synthetic tenant served by the emulator, beside its floor.

The emulator runs in this process with a per-request latency (default 100 ms, a stand-in for
the distance to Azure); the collector (`azaudit.collect.live.collect_live`, the code behind
`azaudit scan --all-subscriptions`, with the product's default options unless `--concurrency`
or `--per-scope-concurrency` is given) runs in a child process so that neither steals the
other's interpreter lock. Then, against the same emulator, a second child replays the very
request set the collector sent (same methods, paths, queries and Resource Graph bodies) with
bare aiohttp at `--replay-concurrency` in flight and no dependencies between requests: the
raw-replay floor, what this machine can do at all; it runs once per event loop of
`--replay-event-loops` (default uvloop's, the product's, then asyncio's), the first being the
floor. Reported, per tenant size: wall time of both and their ratio, requests by API family
and status, client CPU per request (and the kernel's part of it), peak RSS of the collector
and of the emulator, and the CPU steal the machine suffered (`/proc/stat`).

    python -m benchmarks.run_collection --subscriptions 20 --resources 50,500
    python -m benchmarks.run_collection --subscriptions 1 --resources 10000 --limits enforce \
        --no-replay

`--baseline DIR` first collects with the azaudit source tree in DIR (for example
`git archive <commit> | tar -x -C DIR`) against the same emulator, so a before/after pair comes
from one run on a noisy machine; `--profile FILE` writes the collector's cProfile statistics.
Each collector run also reports event-loop wake-ups and timers per request (asyncio's loop
only); `--event-loop` chooses the collector's loop and `--also-asyncio` collects once more on
asyncio's, for a same-run comparison with the default (uvloop where installed). Documents the
catalogue reads but the synthetic tenant lacks are served as stand-ins (an empty list or a
minimal document; their count is reported), so that the request set is the catalogue's and
every answer is a 200, as in a complete tenant. Peak RSS is the child's own (`VmHWM`).

Benchmarks are run by hand; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import cProfile
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
from azaudit.snapshot import Snapshot, subscription_scope
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


def _system_seconds() -> float:
    """CPU seconds this process spent in the kernel (system calls, the loopback TCP stack)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_stime


def _peak_rss_mb(who: int) -> float:
    """Peak RSS of this process (`who` RUSAGE_SELF) in MB.

    `VmHWM` where /proc exists: `ru_maxrss` survives `exec`, so a child started by a parent
    that holds the emulated tenant would report the parent's peak as its own.
    """
    if who == resource.RUSAGE_SELF:
        try:
            for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        except (OSError, ValueError, IndexError):
            pass
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(who).ru_maxrss / 1024.0


# -- the collector side (child process) ---------------------------------------------------------


def _collector_child(argv: Sequence[str]) -> int:
    """Run one live collection against the emulator named by the environment; print JSON."""
    parser = argparse.ArgumentParser(prog="run_collection (collector)")
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--per-scope-concurrency", type=int)
    parser.add_argument("--profile", type=Path)
    parser.add_argument("--event-loop", choices=["auto", "asyncio", "uvloop"])
    args = parser.parse_args(argv)

    from azure.identity.aio import ClientSecretCredential

    import azaudit
    from azaudit.catalogue import load_catalogue
    from azaudit.collect import live
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
    # Older versions (a --baseline tree) know no choice of event loop: they run asyncio's.
    factory = getattr(live, "event_loop_factory", None)
    choice: dict[str, Any] = {} if args.event_loop is None else {"event_loop": args.event_loop}
    event_loop = "asyncio"
    if factory is not None and factory(args.event_loop or "auto") is not None:
        event_loop = "uvloop"
    loop_counter = _LoopCounter()
    # CPU time, not wall time: on a loaded machine a send() that wakes the emulator is often
    # descheduled, which a wall-clock profile would blame on the send.
    profiler = cProfile.Profile(time.process_time) if args.profile is not None else None
    started_cpu = time.process_time()  # the collection only, not the imports
    started_sys = _system_seconds()
    started = time.perf_counter()
    with loop_counter:
        if profiler is not None:
            profiler.enable()
        snapshot = collect_live(
            options,
            catalogue,
            deps=LiveDeps(credential_factory=credential, environ=env, **choice),
        )
        if profiler is not None:
            profiler.disable()
    elapsed = time.perf_counter() - started
    cpu_seconds = time.process_time() - started_cpu
    sys_seconds = _system_seconds() - started_sys
    if profiler is not None:
        profiler.dump_stats(str(args.profile))
    report = {
        "collect_seconds": elapsed,
        "subscriptions": len(snapshot.subscriptions),
        "resources": len(snapshot.resources),
        "documents": sum(len(d) for d in snapshot.details.values()) + len(snapshot.graph),
        "gaps": len(snapshot.gaps),
        "gap_examples": [g.to_json() for g in snapshot.gaps[:3]],
        "peak_rss_mb": _peak_rss_mb(resource.RUSAGE_SELF),
        "cpu_seconds": cpu_seconds,
        "sys_seconds": sys_seconds,
        "loop_iterations": loop_counter.iterations,
        "timers": loop_counter.timers,
        "event_loop": event_loop,
        "concurrency": options.concurrency,
        "per_scope_concurrency": options.per_scope_concurrency,
        "azaudit": str(Path(azaudit.__file__).parent.parent),
    }
    print(json.dumps(report))
    return 0


class _LoopCounter:
    """Counts event-loop iterations (each one a wake-up from `select`) and timers scheduled.

    Patches the class for the duration of a `with` block: the collector's loop is created inside
    it by `asyncio.run`. Each count costs one Python call per iteration, far below a request's.
    """

    def __init__(self) -> None:
        self.iterations = 0
        self.timers = 0
        self._saved: tuple[Any, Any] | None = None

    def __enter__(self) -> _LoopCounter:
        import asyncio.base_events as base

        cls: Any = base.BaseEventLoop
        run_once, call_at = cls._run_once, cls.call_at
        self._saved = (run_once, call_at)
        counter = self

        def counted_run_once(loop: Any) -> None:
            counter.iterations += 1
            run_once(loop)

        def counted_call_at(loop: Any, when: float, callback: Any, *args: Any, **kw: Any) -> Any:
            counter.timers += 1
            return call_at(loop, when, callback, *args, **kw)

        cls._run_once = counted_run_once
        cls.call_at = counted_call_at
        return self

    def __exit__(self, *exc: object) -> None:
        import asyncio.base_events as base

        assert self._saved is not None
        cls: Any = base.BaseEventLoop
        cls._run_once, cls.call_at = self._saved


def _replay_child(argv: Sequence[str]) -> int:
    """Send a recorded request set (JSON lines on stdin) as fast as bare aiohttp can; print JSON."""
    import asyncio
    import ssl

    import aiohttp

    parser = argparse.ArgumentParser(prog="run_collection (replay)")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--event-loop", choices=["asyncio", "uvloop"], default="asyncio")
    args = parser.parse_args(argv)
    env = dict(os.environ)
    requests = [json.loads(line) for line in sys.stdin if line.strip()]
    loop_factory: Any = None
    if args.event_loop == "uvloop":
        import uvloop

        loop_factory = uvloop.new_event_loop
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
    started_sys = _system_seconds()
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        elapsed, failures = runner.run(replay())
    print(
        json.dumps(
            {
                "event_loop": args.event_loop,
                "seconds": elapsed,
                "requests": len(requests),
                "failures": failures,
                "cpu_seconds": time.process_time() - started_cpu,
                "sys_seconds": _system_seconds() - started_sys,
                "peak_rss_mb": _peak_rss_mb(resource.RUSAGE_SELF),
            }
        )
    )
    return 0


def _child(
    flag: str,
    args: Sequence[str],
    env: dict[str, str],
    stdin: str = "",
    source_tree: Path | None = None,
) -> Any:
    """Run a child; with `source_tree`, this file runs over the azaudit package found there."""
    if source_tree is None:
        command = [sys.executable, "-m", "benchmarks.run_collection", flag, *args]
    else:
        # This script by path (so the measurement harness is the same), azaudit from the tree.
        command = [sys.executable, str(Path(__file__).resolve()), flag, *args]
        env = {**env, "PYTHONPATH": str(source_tree.resolve())}
    result = subprocess.run(
        command,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=source_tree or Path(__file__).resolve().parent.parent,
        check=False,
        timeout=3600,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{flag} failed ({result.returncode}): {result.stderr.strip()}")
    return json.loads(result.stdout.strip().splitlines()[-1])


@dataclass(slots=True)
class _Collection:
    """One collector run against the emulator and what the emulator saw of it."""

    child: dict[str, Any]
    wall: float
    steal: float
    stats: Any
    recorded: list[Any]
    budget: dict[str, Any]


def _collect(
    emulator: Emulator,
    env: dict[str, str],
    tuning: Sequence[str],
    limits: LimitMode,
    source_tree: Path | None = None,
) -> _Collection:
    """Collect once with fresh emulator counters and fresh read budgets."""
    from azaudit.emulator.limits import Limits

    emulator.reset_stats()
    emulator.limits = Limits(limits)
    cpu_before = CpuSample.read()
    wall_started = time.perf_counter()
    child = _child(CHILD_FLAG, tuning, env, source_tree=source_tree)
    wall = time.perf_counter() - wall_started
    steal = CpuSample.read().steal_since(cpu_before)
    recorded = [
        r for r in emulator.requests if r.family in {"arm", "arg", "graph"} and r.status < 400
    ]
    return _Collection(child, wall, steal, emulator.stats(), recorded, _budget_bound(emulator))


def _budget_bound(emulator: Emulator) -> dict[str, Any]:
    """The busiest subscription's ARM reads and the time its read budget needs for them.

    ARM refills a subscription's bucket of 250 reads at 25 per second: no client reads one
    subscription faster than (reads - 250) / 25 seconds.
    """
    from azaudit.emulator.limits import ARM_BUCKET, ARM_REFILL_PER_S

    reads: dict[str, int] = {}
    for record in emulator.requests:
        parts = record.path.strip("/").split("/")
        if record.family == "arm" and len(parts) >= 2 and parts[0].lower() == "subscriptions":
            reads[parts[1].lower()] = reads.get(parts[1].lower(), 0) + 1
    busiest = max(reads.values(), default=0)
    return {
        "busiest_subscription_reads": busiest,
        "seconds": round(max(0.0, (busiest - ARM_BUCKET) / ARM_REFILL_PER_S), 3),
    }


# -- the harness (parent process) ---------------------------------------------------------------


def complete_for_collection(snapshot: Snapshot) -> tuple[Snapshot, int]:
    """`snapshot` with a stand-in for every document the collector reads that it lacks.

    The collection plan follows the catalogue, which may read documents the synthetic tenant
    does not generate yet; the emulator would answer those with 404s (gaps), and a benchmark
    of gaps measures neither a real tenant's request set nor its floor (the replay leaves
    error answers out). A missing list becomes `{"value": []}`, a missing single document a
    minimal ARM resource. Returns the tenant and how many documents were added.
    """
    from azaudit.catalogue import load_catalogue
    from azaudit.collect.plan import build_plan
    from azaudit.models import TENANT_SCOPE

    plan = build_plan(load_catalogue().checks)
    details = {scope: dict(docs) for scope, docs in snapshot.details.items()}
    graph = dict(snapshot.graph)
    added = 0

    def stand_in(scope: str, source: Any) -> dict[str, Any]:
        if source.paged:
            return {"value": []}
        name = source.name.rsplit("/", 1)[-1]
        return {"id": f"{scope.rstrip('/')}/{source.name}", "name": name, "properties": {}}

    def fill(scope: str, sources: Sequence[Any]) -> None:
        nonlocal added
        docs = details.setdefault(scope, {})
        for source in sources:
            if source.name not in docs:
                docs[source.name] = stand_in(scope, source)
                added += 1

    fill(TENANT_SCOPE, plan.tenant_sources)
    for sub in snapshot.subscriptions:
        fill(subscription_scope(str(sub["subscriptionId"])), plan.subscription_sources)
    for row in snapshot.resources:
        fill(str(row["id"]), plan.sources_for(row))
    for source in plan.graph_sources:
        if source.name not in graph:
            graph[source.name] = stand_in("/", source)
            added += 1
    if not details.get(TENANT_SCOPE):
        details.pop(TENANT_SCOPE, None)
    completed = dataclasses.replace(snapshot, details=details, graph=graph)
    return completed, added


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
    baseline: Path | None = None,
    profile: Path | None = None,
    event_loop: str | None = None,
    also_asyncio: bool = False,
    replay_loops: Sequence[str] = ("uvloop", "asyncio"),
) -> dict[str, Any]:
    """Generate the tenant, serve it, collect it (also with `baseline`), replay, and measure.

    `also_asyncio`: collect once more with this version on asyncio's event loop (after the
    main collection), so the event loop's share is measured in the same run.
    `replay_loops`: the event loops the raw replay runs on, one replay each; the first is the
    floor the collection is compared with (uvloop's, the product's).
    """
    started = time.perf_counter()
    snapshot, filled = complete_for_collection(generate(subscriptions, resources, seed))
    generate_seconds = time.perf_counter() - started
    plan = FaultPlan(latency_ms=latency_ms)
    tuning: list[str] = []
    if concurrency is not None:
        tuning += ["--concurrency", str(concurrency)]
    if per_scope_concurrency is not None:
        tuning += ["--per-scope-concurrency", str(per_scope_concurrency)]
    replays: dict[str, dict[str, Any]] = {}
    before: _Collection | None = None
    with Emulator(snapshot, plan, limits=limits) as emulator:
        env = {**os.environ, **emulator.environment()}
        if baseline is not None:
            before = _collect(emulator, env, tuning, limits, source_tree=baseline)
        profiling = ["--profile", str(profile.resolve())] if profile is not None else []
        choice = ["--event-loop", event_loop] if event_loop is not None else []
        after = _collect(emulator, env, [*tuning, *profiling, *choice], limits)
        child, wall, stats, recorded = after.child, after.wall, after.stats, after.recorded
        on_asyncio: _Collection | None = None
        if also_asyncio:
            on_asyncio = _collect(emulator, env, [*tuning, "--event-loop", "asyncio"], limits)
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
            for loop_name in replay_loops:
                replays[loop_name] = _child(
                    REPLAY_FLAG,
                    ["--concurrency", str(replay_concurrency), "--event-loop", loop_name],
                    {**env, "AZAUDIT_REPLAY_TOKEN": emulator.issue_token()},
                    lines,
                )
    replay = replays[replay_loops[0]] if replays else None
    total_resources = len(snapshot.resources)
    report: dict[str, Any] = {
        "tenant": {
            "subscriptions": subscriptions,
            "resources_per_subscription": resources,
            "resources": total_resources,
            "seed": seed,
            "generate_seconds": round(generate_seconds, 3),
            "stand_in_documents": filled,
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
        "collector": _collector_figures(child, stats.total),
        "emulator_peak_rss_mb": round(_peak_rss_mb(resource.RUSAGE_SELF), 1),
        "cpu_steal": round(after.steal, 4),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    report["arm_budget_bound"] = {
        **after.budget,
        "ratio": round(child["collect_seconds"] / max(after.budget["seconds"], 1e-9), 3)
        if after.budget["seconds"]
        else None,
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
            "event_loop": replay["event_loop"],
            "by_event_loop": {
                name: {
                    "seconds": round(other["seconds"], 3),
                    "cpu_ms_per_request": round(
                        1000 * other["cpu_seconds"] / max(other["requests"], 1), 3
                    ),
                    "system_ms_per_request": round(
                        1000 * other["sys_seconds"] / max(other["requests"], 1), 3
                    ),
                    "peak_rss_mb": round(other["peak_rss_mb"], 1),
                    "failures": other["failures"],
                }
                for name, other in replays.items()
            },
        }
    if on_asyncio is not None:
        report["on_asyncio"] = {
            "collect_seconds": round(on_asyncio.child["collect_seconds"], 3),
            "requests": on_asyncio.stats.total,
            "by_status": {str(k): v for k, v in sorted(on_asyncio.stats.by_status.items())},
            "gaps": on_asyncio.child["gaps"],
            "collector": _collector_figures(on_asyncio.child, on_asyncio.stats.total),
            "arm_budget_bound": on_asyncio.budget,
        }
        if replay is not None:
            report["on_asyncio"]["ratio"] = round(
                on_asyncio.child["collect_seconds"] / replay["seconds"], 2
            )
    if before is not None:
        report["baseline"] = {
            "source_tree": before.child["azaudit"],
            "collect_seconds": round(before.child["collect_seconds"], 3),
            "requests": before.stats.total,
            "by_status": {str(k): v for k, v in sorted(before.stats.by_status.items())},
            "documents": before.child["documents"],
            "gaps": before.child["gaps"],
            "collector": _collector_figures(before.child, before.stats.total),
            "cpu_steal": round(before.steal, 4),
            "arm_budget_bound": before.budget,
        }
        if before.budget["seconds"]:
            report["baseline"]["arm_budget_bound"]["ratio"] = round(
                before.child["collect_seconds"] / before.budget["seconds"], 3
            )
        if replay is not None:
            report["baseline"]["ratio"] = round(
                before.child["collect_seconds"] / replay["seconds"], 2
            )
    return report


def _collector_figures(child: dict[str, Any], requests: int) -> dict[str, Any]:
    per = max(requests, 1)
    asyncio_loop = child.get("event_loop", "asyncio") == "asyncio"
    return {
        "event_loop": child.get("event_loop", "asyncio"),
        "peak_rss_mb": round(child["peak_rss_mb"], 1),
        "cpu_seconds": round(child["cpu_seconds"], 2),
        "cpu_ms_per_request": round(1000 * child["cpu_seconds"] / per, 3),
        "system_ms_per_request": round(1000 * child.get("sys_seconds", 0.0) / per, 3),
        # Counted by patching asyncio's loop class: not available for uvloop's.
        "loop_iterations_per_request": round(child.get("loop_iterations", 0) / per, 2)
        if asyncio_loop
        else None,
        "timers_per_request": round(child.get("timers", 0) / per, 2) if asyncio_loop else None,
    }


def _cpu_text(figures: dict[str, Any]) -> str:
    return (
        f"{figures['cpu_ms_per_request']:.2f} ms per request "
        f"({figures['system_ms_per_request']:.2f} ms of it in the kernel)"
    )


def _wake_ups(figures: dict[str, Any]) -> str:
    if figures["loop_iterations_per_request"] is None:
        return f"n/a ({figures['event_loop']})"
    return (
        f"{figures['loop_iterations_per_request']:.2f} wake-ups and "
        f"{figures['timers_per_request']:.2f} timers per request"
    )


def _other_run(run: dict[str, Any]) -> str:
    """One line on a further collection of the same run (a baseline, or another event loop)."""
    collector = run["collector"]
    ratio = f"; collection / floor = {run['ratio']:.2f}" if "ratio" in run else ""
    return (
        f"{run['collect_seconds']:.1f} s, {run['requests']} requests "
        f"({run['by_status'].get('429', 0)} answered 429), client CPU "
        f"{_cpu_text(collector)}, peak RSS "
        f"{collector['peak_rss_mb']:.0f} MB, event loop {collector['event_loop']}: "
        f"{_wake_ups(collector)}{ratio}"
    )


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
        ("client CPU", _cpu_text(report["collector"])),
        ("event loop", f"{report['collector']['event_loop']}: {_wake_ups(report['collector'])}"),
        ("CPU steal", f"{report['cpu_steal'] * 100:.1f} %"),
        ("load average", " ".join(f"{x:.2f}" for x in report["load_average"])),
        (
            "ARM budget bound",
            f"{report['arm_budget_bound']['seconds']:.1f} s for the busiest subscription's "
            f"{report['arm_budget_bound']['busiest_subscription_reads']} reads"
            + (
                f"; collection / bound = {report['arm_budget_bound']['ratio']:.3f}"
                if report["arm_budget_bound"]["ratio"]
                else ""
            ),
        ),
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
        for name, other in floor["by_event_loop"].items():
            rows.append(
                (
                    f"bare aiohttp, {name}",
                    f"{other['seconds']:.1f} s, client CPU {_cpu_text(other)}, "
                    f"peak RSS {other['peak_rss_mb']:.0f} MB",
                )
            )
    if "baseline" in report:
        base = report["baseline"]
        bound = base["arm_budget_bound"]
        rows.append(
            (
                "baseline",
                f"{base['source_tree']}: {_other_run(base)}"
                + (
                    f"; collection / ARM budget bound = {bound['ratio']:.3f}"
                    if "ratio" in bound
                    else ""
                ),
            )
        )
    if "on_asyncio" in report:
        rows.append(("same, asyncio loop", _other_run(report["on_asyncio"])))
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
    parser.add_argument(
        "--replay-event-loops",
        default="uvloop,asyncio",
        help="event loops of the raw replay, one replay each; the first is the floor "
        "(default: uvloop,asyncio)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=1, help="runs (steal varies; compare)")
    parser.add_argument("--json", type=Path, help="also write the reports to this file")
    parser.add_argument(
        "--baseline",
        type=Path,
        help="a source tree of another azaudit version (e.g. from 'git archive'): collected "
        "first against the same emulator, so both figures come from one run",
    )
    parser.add_argument("--profile", type=Path, help="write the collector's cProfile stats here")
    parser.add_argument(
        "--event-loop",
        choices=["auto", "asyncio", "uvloop"],
        help="the collector's event loop (default: the product's, uvloop where installed)",
    )
    parser.add_argument(
        "--also-asyncio",
        action="store_true",
        help="collect once more on asyncio's event loop, for a same-run comparison",
    )
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
                baseline=args.baseline,
                profile=args.profile,
                event_loop=args.event_loop,
                also_asyncio=args.also_asyncio,
                replay_loops=[n.strip() for n in args.replay_event_loops.split(",") if n.strip()],
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
