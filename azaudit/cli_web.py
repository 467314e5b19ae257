"""`azaudit web-scan URL... --out DIR`: scan given sites for trackers and write the reports.

The command only parses options: the scan is a `ScanRequest` with a `WebSource`, run by
`pipeline.run_scan` like any other scan (web checks only, the snapshot of what was fetched kept
as evidence, reports written all or none).
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Annotated

import typer

from azaudit.cli_options import FailOnOption, FormatsOption, echo_outcome
from azaudit.errors import InputError
from azaudit.pipeline import ScanRequest, WebSource, run_scan
from azaudit.render import DEFAULT_FORMATS
from azaudit.result import FailOn
from azaudit.web.options import WebScanOptions, parse_resolve, site_targets


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
    options = WebScanOptions(
        max_pages=max_pages,
        max_depth=max_depth,
        timeout=timeout,
        render=render_pages,
        resolve=parse_resolve(resolve or []),
        ssl_context=_trust(ca_file),
    )
    request = ScanRequest(
        source=WebSource(tuple(site_targets(urls)), options),
        out=out,
        formats=tuple(dict.fromkeys(formats or DEFAULT_FORMATS)),
        fail_on=fail_on,
        strict=strict,
    )
    echo_outcome(run_scan(request), out)


def _trust(ca_file: Path | None) -> ssl.SSLContext | None:
    if ca_file is None:
        return None
    context = ssl.create_default_context()
    try:
        context.load_verify_locations(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as exc:
        raise InputError(f"--ca-file {ca_file}: expected PEM CA certificates ({exc})") from None
    return context
