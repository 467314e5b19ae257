"""`azaudit web-scan URL... --out DIR`: scan given sites for trackers and write the reports.

The command only parses options; `web_scan_report` does the work (scan, a snapshot holding only
the `web:scan` document, the web checks through the normal engine, the usual renderers), so the
same steps can run inside other pipelines.
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from azaudit import __version__
from azaudit.catalogue import Catalogue, load_catalogue
from azaudit.cli_options import FailOnOption, FormatsOption
from azaudit.engine import evaluate
from azaudit.errors import InputError
from azaudit.evaluators.base import ScanConfig
from azaudit.files import check_output_dir, write_all_atomic
from azaudit.models import ScanResult
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.render import DEFAULT_FORMATS, OutputFormat, render
from azaudit.render.console import summary_text
from azaudit.result import FailOn, build_result, exit_code
from azaudit.snapshot import Snapshot, snapshot_file_bytes
from azaudit.web.options import SiteTarget, WebScanOptions, parse_resolve, site_targets
from azaudit.web.scan import scan_sites, web_sites_info, with_web_scan

SNAPSHOT_FILENAME = "snapshot.json.gz"
WEB_TENANT = "web-scan"
WEB_FAMILY = "web"


def web_only_snapshot(document: dict[str, object], collected_at: str) -> Snapshot:
    """A snapshot that holds nothing but the `web:scan` document (no Azure inventory)."""
    empty = Snapshot(
        collected_at=collected_at,
        tool_version=__version__,
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": WEB_TENANT, "displayName": "Web scan"},
        subscriptions=(),
        resources=(),
        details={},
        graph={},
        gaps=(),
    )
    return with_web_scan(empty, document)


def web_scan_report(
    targets: Sequence[SiteTarget],
    options: WebScanOptions,
    formats: Sequence[OutputFormat],
    out: Path,
) -> tuple[ScanResult, dict[Path, bytes]]:
    """Scan the sites, evaluate the web checks and render every format (nothing written yet)."""
    started = _iso(options.clock())
    document = scan_sites(targets, options)
    snapshot = web_only_snapshot(document, started)
    catalogue = load_catalogue()
    checks = tuple(c for c in catalogue.checks if c.meta.family == WEB_FAMILY)
    config = ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=snapshot.collected_time,
    )
    findings = evaluate(snapshot, checks, config)
    scoped = Catalogue(checks, catalogue.citations, catalogue.safeguards)
    result = build_result(snapshot, scoped, findings, config, _iso(options.clock()))
    result = dataclasses.replace(result, web_sites=web_sites_info(document))
    files = {out / fmt.filename: render(fmt, result) for fmt in formats}
    files[out / SNAPSHOT_FILENAME] = snapshot_file_bytes(snapshot, SNAPSHOT_FILENAME)
    return result, files


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def web_scan(
    urls: Annotated[
        list[str], typer.Argument(metavar="URL...", help="Start URLs of the sites to scan.")
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Directory for the reports.")
    ] = Path("azaudit-web-report"),
    render_pages: Annotated[
        bool,
        typer.Option("--render", help="Also load every page in headless Chromium (runtime tags)."),
    ] = False,
    max_pages: Annotated[
        int, typer.Option("--max-pages", min=1, max=1000, metavar="N", help="Pages per site.")
    ] = 20,
    max_depth: Annotated[
        int, typer.Option("--max-depth", min=0, max=20, metavar="N", help="Link hops per site.")
    ] = 3,
    timeout: Annotated[
        float,
        typer.Option("--timeout", min=1.0, metavar="SECONDS", help="Timeout of one request."),
    ] = 15.0,
    formats: FormatsOption = None,
    fail_on: FailOnOption = FailOn.HIGH,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict", help="Exit 3 when coverage is incomplete (a site or page not scanned)."
        ),
    ] = False,
    resolve: Annotated[
        list[str] | None,
        typer.Option(
            "--resolve",
            metavar="HOST:PORT:ADDRESS[:PORT]",
            help="Connect to ADDRESS for HOST:PORT, like curl --resolve (repeatable).",
        ),
    ] = None,
    ca_file: Annotated[
        Path | None,
        typer.Option("--ca-file", metavar="PEM", help="Also trust these CA certificates."),
    ] = None,
) -> None:
    """Scan websites for third-party trackers (GET only) and write the web tracker report."""
    targets = site_targets(urls)
    check_output_dir("--out", out)
    options = WebScanOptions(
        max_pages=max_pages,
        max_depth=max_depth,
        timeout=timeout,
        render=render_pages,
        resolve=parse_resolve(resolve or []),
        ssl_context=_trust(ca_file),
    )
    result, files = web_scan_report(targets, options, formats or list(DEFAULT_FORMATS), out)
    # Written only after every format rendered, all or none: no partial report.
    try:
        write_all_atomic(files)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write the reports: {exc.strerror or exc}") from None
    typer.echo(summary_text(result))
    typer.echo(f"Reports written to {out}/ ({', '.join(p.name for p in files)})")
    raise typer.Exit(int(exit_code(result, fail_on, strict)))


def _trust(ca_file: Path | None) -> ssl.SSLContext | None:
    if ca_file is None:
        return None
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"--ca-file {ca_file}: expected PEM CA certificates ({exc})") from None
    return context
