"""The live-Azure side of the command line: progress output of a scan, and `azaudit doctor`.

Part of the CLI layer (the only place that knows Typer and Rich). Progress goes to stderr so
that stdout keeps the summary; nothing printed here ever holds a token or a response body.
Log records of the libraries underneath (azure-identity's credential chain, azure-core, Python
warnings) are captured for the duration of a collection and written in the chosen format: one
JSON object per line under `--log-format json`, one bounded line otherwise, each redacted.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Annotated, Any

import typer

from azaudit.catalogue import Catalogue
from azaudit.collect.options import LiveDeps, LiveOptions, LogFormat
from azaudit.collect.progress import CollectionStats, ProgressObserver, RequestInfo
from azaudit.models import CollectionGap
from azaudit.snapshot import Snapshot


def collect_with_progress(
    options: LiveOptions, catalogue: Catalogue, log_format: LogFormat, deps: object = None
) -> Snapshot:
    """Run a live collection, showing progress in the chosen format on stderr.

    `deps` is the Typer context object: a `LiveDeps` when an embedder or a test injects a
    credential factory or environment, anything else otherwise.
    """
    from azaudit.collect.live import collect_live

    injected = deps if isinstance(deps, LiveDeps) else None
    stream = sys.stderr
    fmt = log_format
    if fmt is LogFormat.AUTO:
        fmt = LogFormat.RICH if stream.isatty() else LogFormat.PLAIN
    with captured_logs(stream, fmt):
        if fmt is LogFormat.RICH:
            with RichProgress(stream) as bar:
                return collect_live(options, catalogue, bar, injected)
        observer: ProgressObserver = (
            JsonLinesProgress(stream) if fmt is LogFormat.JSON else PlainProgress(stream)
        )
        return collect_live(options, catalogue, observer, injected)


MAX_LOG_MESSAGE = 2000


class LogLineHandler(logging.Handler):
    """Writes each log record as one redacted line: a JSON object, or `azaudit: level: text`."""

    def __init__(self, stream: IO[str], json_lines: bool) -> None:
        super().__init__(logging.WARNING)
        self._stream = stream
        self._json = json_lines

    def emit(self, record: logging.LogRecord) -> None:
        """Write the record (never raises, never prints a traceback)."""
        from azaudit.collect.fetch import redact

        try:
            text = " ".join(redact(record.getMessage()).split())
            if len(text) > MAX_LOG_MESSAGE:
                text = text[: MAX_LOG_MESSAGE - 3] + "..."
            level = record.levelname.lower()
            if self._json:
                line = json.dumps(
                    {
                        "time": datetime.now(UTC).isoformat(),
                        "event": "log",
                        "level": level,
                        "logger": record.name,
                        "message": text,
                    },
                    sort_keys=True,
                )
            else:
                line = f"azaudit: {level}: {record.name}: {text}"
            self._stream.write(line + "\n")
            self._stream.flush()
        except Exception:  # a log line must never break the scan
            return


@contextmanager
def captured_logs(stream: IO[str], fmt: LogFormat) -> Iterator[None]:
    """Route library log records and Python warnings through `LogLineHandler` for a while."""
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    handler = LogLineHandler(stream, json_lines=fmt is LogFormat.JSON)
    root.handlers = [handler]
    if saved_level == logging.NOTSET or saved_level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(False)
        root.handlers = saved_handlers
        root.setLevel(saved_level)


GROWTH = frozenset({"slow start", "increase"})
"""Reasons of an adaptive-limit change that are growth, not a back-off."""


def _summary(stats: CollectionStats) -> str:
    return (
        f"collected {stats.resources} resources in {stats.subscriptions} subscription(s): "
        f"{stats.requests} requests ({stats.throttled} throttled, {stats.failed} failed, "
        f"at most {stats.peak_concurrency} in flight), {stats.gaps} gap(s), "
        f"{stats.elapsed:.1f} s"
    )


def _worth_showing(request: RequestInfo) -> bool:
    """Only throttled or failed attempts (they are retried); final errors show up as gaps."""
    return request.status is None or request.status == 429 or request.status >= 500


class PlainProgress(ProgressObserver):
    """One human-readable line per notable event (CI logs, pipes)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def _line(self, text: str) -> None:
        self._stream.write(f"azaudit: {text}\n")
        self._stream.flush()

    def scope_resolved(self, subscriptions: int) -> None:
        """Announce the scope."""
        self._line(f"{subscriptions} subscription(s) in scope")

    def subscription_started(self, subscription_id: str, display_name: str) -> None:
        """Announce a subscription."""
        self._line(f"subscription {display_name} ({subscription_id}): collecting")

    def subscription_done(self, subscription_id: str, resources: int, gaps: int) -> None:
        """Summarise a subscription."""
        self._line(f"subscription {subscription_id}: {resources} resources, {gaps} gap(s)")

    def request_done(self, request: RequestInfo) -> None:
        """Show failed attempts (they are retried when retryable)."""
        if _worth_showing(request):
            status = request.status if request.status is not None else "no response"
            self._line(f"{request.api} {request.method} {request.path}: {status}")

    def gap_recorded(self, gap: CollectionGap) -> None:
        """Show what could not be collected."""
        self._line(f"gap: {gap.scope} {gap.source}: {gap.reason}")

    def collection_done(self, stats: CollectionStats) -> None:
        """Final totals."""
        self._line(_summary(stats))


class JsonLinesProgress(ProgressObserver):
    """One JSON object per line, for log pipelines (`--log-format json`)."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def _emit(self, event: str, **fields: Any) -> None:
        record = {"time": datetime.now(UTC).isoformat(), "event": event, **fields}
        self._stream.write(json.dumps(record, sort_keys=True) + "\n")
        self._stream.flush()

    def scope_resolved(self, subscriptions: int) -> None:
        """Scope event."""
        self._emit("scope_resolved", subscriptions=subscriptions)

    def subscription_started(self, subscription_id: str, display_name: str) -> None:
        """Subscription start event."""
        self._emit(
            "subscription_started", subscription_id=subscription_id, display_name=display_name
        )

    def subscription_done(self, subscription_id: str, resources: int, gaps: int) -> None:
        """Subscription end event."""
        self._emit(
            "subscription_done", subscription_id=subscription_id, resources=resources, gaps=gaps
        )

    def resources_counted(self, subscription_id: str, count: int) -> None:
        """Inventory event."""
        self._emit("resources_counted", subscription_id=subscription_id, count=count)

    def request_done(self, request: RequestInfo) -> None:
        """Failed-attempt event."""
        if _worth_showing(request):
            self._emit(
                "request_failed",
                api=request.api,
                method=request.method,
                path=request.path,
                status=request.status,
                elapsed=round(request.elapsed, 3),
            )

    def gap_recorded(self, gap: CollectionGap) -> None:
        """Gap event (the gap's documented JSON form)."""
        self._emit("gap", **gap.to_json())

    def concurrency_changed(self, limit: int, reason: str) -> None:
        """Back-off event (growth is not reported: it happens on almost every answer)."""
        if reason not in GROWTH:
            self._emit("concurrency_changed", limit=limit, reason=reason)

    def collection_done(self, stats: CollectionStats) -> None:
        """Totals event."""
        self._emit(
            "collection_done",
            subscriptions=stats.subscriptions,
            resources=stats.resources,
            requests=stats.requests,
            throttled=stats.throttled,
            failed=stats.failed,
            gaps=stats.gaps,
            elapsed=round(stats.elapsed, 3),
            peak_concurrency=stats.peak_concurrency,
        )


class RichProgress(ProgressObserver):
    """A live progress bar on a terminal: subscriptions done, requests sent, gaps."""

    def __init__(self, stream: IO[str]) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._console = Console(file=stream)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=self._console,
            transient=False,
        )
        self._task = self._progress.add_task("resolving scope", total=None, detail="")
        self._requests = 0
        self._resources = 0
        self._gaps = 0

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def _refresh(self) -> None:
        self._progress.update(
            self._task,
            detail=f"{self._resources} resources, {self._requests} requests, {self._gaps} gap(s)",
        )

    def scope_resolved(self, subscriptions: int) -> None:
        """Size the bar."""
        self._progress.update(self._task, description="subscriptions", total=subscriptions)

    def subscription_done(self, subscription_id: str, resources: int, gaps: int) -> None:
        """Advance the bar."""
        self._progress.advance(self._task)

    def resources_counted(self, subscription_id: str, count: int) -> None:
        """Count resources."""
        self._resources += count
        self._refresh()

    def request_done(self, request: RequestInfo) -> None:
        """Count requests."""
        self._requests += 1
        if self._requests % 25 == 0:
            self._refresh()

    def gap_recorded(self, gap: CollectionGap) -> None:
        """Print the gap above the bar."""
        self._gaps += 1
        self._progress.console.print(
            f"[yellow]gap[/yellow] {gap.scope} {gap.source}: {gap.reason}",
            markup=True,
            highlight=False,
        )
        self._refresh()

    def collection_done(self, stats: CollectionStats) -> None:
        """Final totals."""
        self._refresh()
        self._progress.console.print(_summary(stats), highlight=False)


# Declared once for `scan` and `doctor`, so both commands describe them the same way.
TenantOption = Annotated[
    str | None, typer.Option("--tenant", metavar="ID", help="Entra tenant id.")
]
CloudOption = Annotated[
    str,
    typer.Option(
        "--cloud",
        metavar="NAME",
        help="AzureCloud, AzureUSGovernment or AzureChinaCloud.",
        show_default=True,
    ),
]


# -- azaudit doctor -----------------------------------------------------------------------------


def doctor(
    ctx: typer.Context,
    tenant: TenantOption = None,
    cloud: CloudOption = "AzureCloud",
    subscription: Annotated[
        list[str] | None,
        typer.Option(
            "--subscription",
            "-s",
            metavar="ID",
            help="Subscription to probe (repeatable; default: all visible).",
        ),
    ] = None,
    management_group: Annotated[
        str | None,
        typer.Option(
            "--management-group", metavar="ID", help="Also probe read access to this group."
        ),
    ] = None,
) -> None:
    """Check the credential: tokens for ARM and Graph, and each permission a scan needs."""
    from azaudit.collect.doctor import run_doctor

    options = LiveOptions(
        subscriptions=tuple(subscription or ()),
        management_group=management_group,
        tenant=tenant,
        cloud=cloud,
    )
    injected = ctx.obj if isinstance(ctx.obj, LiveDeps) else None
    with captured_logs(sys.stderr, LogFormat.PLAIN):
        report = run_doctor(options, injected)
    typer.echo(render_doctor(report))
    raise typer.Exit(0 if report.ok else 1)


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def render_doctor(report: Any) -> str:
    """The doctor's table and the commands that grant what is missing."""
    from azaudit.collect.doctor import DoctorReport, IdentityKind, ProbeStatus

    assert isinstance(report, DoctorReport)
    identity = report.identity
    who = identity.kind.value
    if identity.kind is not IdentityKind.UNKNOWN:
        parts = [
            f"{label} {value}"
            for label, value in (
                ("name", identity.name),
                ("app id", identity.app_id),
                ("object id", identity.object_id),
                ("tenant", identity.tenant_id),
            )
            if value
        ]
        if parts:
            who += " (" + ", ".join(parts) + ")"
    lines = [f"azaudit doctor: cloud {report.cloud}, identity: {who}", ""]
    header = ("STATUS", "PERMISSION", "SCOPE", "CHECK", "ANSWER")
    rows = [
        (p.status.value, p.permission, p.scope, p.what, _shorten(p.detail, 110))
        for p in report.probes
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        cells = [row[i].ljust(widths[i]) for i in range(4)]
        lines.append("  ".join([*cells, row[4]]).rstrip())
    fixes: dict[tuple[str, str], tuple[str, ...]] = {}
    for probe in report.probes:
        if probe.status is not ProbeStatus.OK and probe.fix:
            fixes.setdefault((probe.permission, probe.scope), probe.fix)
    failed = sum(1 for p in report.probes if p.status is not ProbeStatus.OK)
    if fixes:
        lines += ["", "To fix:"]
        for (permission, scope), commands in fixes.items():
            lines.append(f"  {permission} on {scope}:")
            lines.extend(f"    {command}" for command in commands)
    lines.append("")
    if failed:
        lines.append(f"{failed} of {len(report.probes)} checks failed.")
    else:
        lines.append(f"All {len(report.probes)} checks passed.")
    return "\n".join(lines)
