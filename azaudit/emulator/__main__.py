"""`python -m azaudit.emulator`: serve the demo tenant or a snapshot file until interrupted.

Prints the base URL, the CA certificate path and the environment that points `azaudit scan`
at the emulator. Bad input ends with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from azaudit.emulator.faults import FaultPlan
from azaudit.emulator.limits import LimitMode
from azaudit.emulator.server import Emulator
from azaudit.errors import AzauditError, InputError
from azaudit.snapshot import Snapshot, load_snapshot

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m azaudit.emulator",
        description="Serve a snapshot as a local Azure tenant (ARM, Resource Graph, Microsoft "
        "Graph, Entra ID tokens) over HTTPS on 127.0.0.1.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--demo", action="store_true", help="serve the bundled demo tenant")
    source.add_argument("--snapshot", type=Path, help="serve this snapshot (.json or .json.gz)")
    parser.add_argument("--port", type=int, default=0, help="TCP port (default: ephemeral)")
    parser.add_argument(
        "--latency-ms", type=float, default=None, help="added latency of every request (ms)"
    )
    parser.add_argument("--faults", type=Path, help="fault plan (JSON, see docs/emulator.md)")
    parser.add_argument("--arm-page-size", type=int, default=100, help="items per ARM page")
    parser.add_argument("--graph-page-size", type=int, default=100, help="items per Graph page")
    parser.add_argument(
        "--limits",
        choices=[m.value for m in LimitMode],
        default=LimitMode.REPORT.value,
        help="Azure read quotas: report the remaining budget (default), enforce it with 429, "
        "or report an unlimited budget",
    )
    parser.add_argument(
        "--client-secret", help="secret token requests must present (default: any secret)"
    )
    return parser


def _load_plan(path: Path | None, latency_ms: float | None) -> FaultPlan:
    plan = FaultPlan()
    if path is not None:
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(f"{path}: no such fault plan file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read the fault plan ({exc})") from None
        except json.JSONDecodeError as exc:
            raise InputError(
                f"{path}: invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})"
            ) from None
        plan = FaultPlan.from_json(document, origin=str(path))
    if latency_ms is not None:
        if latency_ms < 0:
            raise InputError(f"--latency-ms {latency_ms:g}: expected a number >= 0")
        plan = FaultPlan(latency_ms=latency_ms, rules=plan.rules)
    return plan


def _snapshot(args: argparse.Namespace) -> Snapshot:
    if args.demo:
        from azaudit.demo import build_demo_snapshot

        return build_demo_snapshot()
    return load_snapshot(args.snapshot)


def instructions(emulator: Emulator) -> str:
    """What a human needs to point azaudit (or another tool) at the running emulator."""
    lines = [
        f"azaudit emulator: tenant {emulator.tenant_id or '(none)'}, "
        f"{len(emulator.snapshot.subscriptions)} subscription(s), "
        f"{len(emulator.snapshot.resources)} resource(s)",
        f"  ARM / authority : {emulator.base_url}",
        f"  Microsoft Graph : {emulator.graph_endpoint}",
        f"  CA certificate  : {emulator.ca_path}",
        "",
        "Point azaudit at it (POSIX shell):",
    ]
    for name, value in emulator.environment().items():
        lines.append(f"  export {name}='{value}'")
    lines += [
        "  # azure-identity's token request uses the default TLS trust store:",
        f"  export SSL_CERT_FILE='{emulator.ca_path}' REQUESTS_CA_BUNDLE='{emulator.ca_path}'",
        f"  azaudit scan --all-subscriptions --tenant {emulator.tenant_id or 'common'}",
        "",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground."""
    args = _parser().parse_args(argv)
    try:
        if not 0 <= args.port <= 65535:
            raise InputError(f"--port {args.port}: expected 0-65535")
        if args.arm_page_size < 1 or args.graph_page_size < 1:
            raise InputError("--arm-page-size/--graph-page-size: expected a positive number")
        plan = _load_plan(args.faults, args.latency_ms)
        emulator = Emulator(
            _snapshot(args),
            plan,
            arm_page_size=args.arm_page_size,
            graph_page_size=args.graph_page_size,
            limits=LimitMode(args.limits),
            client_secret=args.client_secret,
            port=args.port,
        )
        emulator.start()
    except AzauditError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    stopped = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        print(instructions(emulator), flush=True)
        while not stopped.wait(0.5):
            pass
    finally:
        stats = emulator.stats()
        emulator.stop()
    families = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_family.items())) or "none"
    print(
        f"stopped after {stats.total} request(s) ({families}); writes refused: "
        f"{stats.write_attempts}",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
