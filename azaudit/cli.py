"""The `azaudit` command line: the only layer that knows Typer, Rich and the file system layout.

Every user error ends as one line on stderr and exit code 2; nothing is written unless the whole
report rendered.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from azaudit import __version__, cli_live
from azaudit.casebook import run_case
from azaudit.catalogue import FAMILY_TITLES, Catalogue, load_catalogue
from azaudit.collect.options import LiveOptions, LogFormat
from azaudit.engine import evaluate
from azaudit.errors import AzauditError, InputError
from azaudit.evaluators.base import ScanConfig
from azaudit.files import check_output_dir, write_all_atomic
from azaudit.models import Severity
from azaudit.reference import (
    BaaList,
    default_baa_list,
    default_us_regions,
    load_baa_list,
    normalise_region,
)
from azaudit.render import OutputFormat, render
from azaudit.render.console import summary_text
from azaudit.result import ExitCode, FailOn, build_result, exit_code
from azaudit.snapshot import Snapshot, load_snapshot, snapshot_file_bytes

app = typer.Typer(
    name="azaudit",
    help="Azure HIPAA posture auditor: BAA scope and shared-responsibility controls.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
checks_app = typer.Typer(help="Browse and test the check catalogue.", no_args_is_help=True)
app.add_typer(checks_app, name="checks")

SNAPSHOT_FILENAME = "snapshot.json.gz"
INTERRUPTED = 130
"""Exit code after Ctrl-C (128 + SIGINT, as shells report it)."""

# Typer bundles its own copy of click in recent releases; its public BadParameter derives from
# click's UsageError either way, which is what every command-line mistake raises.
_UsageError: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError"
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"azaudit {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Azure HIPAA posture auditor."""


ChecksDirOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--checks-dir",
        metavar="DIR",
        help="Directory of additional YAML checks (repeatable).",
        exists=False,
    ),
]


@app.command(
    epilog="Exit codes: 0 no failing finding at or above --fail-on; 1 failing findings at or "
    "above --fail-on; 2 usage or input error; 3 incomplete coverage under --strict."
)
def scan(
    ctx: typer.Context,
    demo: Annotated[bool, typer.Option("--demo", help="Scan the bundled demo tenant.")] = False,
    snapshot_file: Annotated[
        Path | None,
        typer.Option(
            "--snapshot", metavar="FILE", help="Scan a snapshot file (.json or .json.gz)."
        ),
    ] = None,
    subscription: Annotated[
        list[str] | None,
        typer.Option(
            "--subscription", "-s", metavar="ID", help="Subscription id to audit (repeatable)."
        ),
    ] = None,
    all_subscriptions: Annotated[
        bool, typer.Option("--all-subscriptions", help="Audit every visible subscription.")
    ] = False,
    management_group: Annotated[
        str | None,
        typer.Option(
            "--management-group", metavar="ID", help="Audit every subscription below this group."
        ),
    ] = None,
    tenant: cli_live.TenantOption = None,
    cloud: cli_live.CloudOption = "AzureCloud",
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency", min=1, max=256, metavar="N", help="Maximum requests in flight."
        ),
    ] = 16,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", min=1.0, metavar="SECONDS", help="Overall collection deadline (seconds)."
        ),
    ] = 1800.0,
    log_format: Annotated[
        LogFormat, typer.Option("--log-format", help="Progress/log output format.")
    ] = LogFormat.AUTO,
    out: Annotated[
        Path, typer.Option("--out", "-o", metavar="DIR", help="Directory for the reports.")
    ] = Path("azaudit-report"),
    formats: Annotated[
        list[OutputFormat] | None,
        typer.Option(
            "--format",
            "-f",
            metavar="html|json",
            help="Report format (repeatable; default html and json).",
        ),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option("--fail-on", help="Exit 1 on failing findings at or above this severity."),
    ] = FailOn.HIGH,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help="Exit 3 when coverage is incomplete (a collection gap or an ERROR finding).",
        ),
    ] = False,
    checks_dir: ChecksDirOption = None,
    only: Annotated[
        list[str] | None,
        typer.Option("--check", metavar="ID", help="Run only this check id (repeatable)."),
    ] = None,
    baa_list_file: Annotated[
        Path | None,
        typer.Option(
            "--baa-list", metavar="FILE", help="Your organisation's BAA service list (JSON)."
        ),
    ] = None,
    allowed_regions: Annotated[
        str | None,
        typer.Option(
            "--allowed-regions",
            metavar="REGIONS",
            help="Comma-separated ARM locations allowed for PHI (default: every US region).",
        ),
    ] = None,
) -> None:
    """Audit a tenant (live, a snapshot, or the demo) and write the gap report."""
    live = bool(subscription or all_subscriptions or management_group is not None)
    chosen = [
        name
        for name, on in (
            ("--demo", demo),
            ("--snapshot", snapshot_file is not None),
            ("--subscription/--all-subscriptions/--management-group", live),
        )
        if on
    ]
    if len(chosen) != 1:
        raise InputError(
            "choose exactly one of --demo, --snapshot FILE, or --subscription/"
            "--all-subscriptions/--management-group"
            + (f" (got {', '.join(chosen)})" if chosen else "")
        )
    options = LiveOptions(
        subscriptions=tuple(subscription or ()),
        all_subscriptions=all_subscriptions,
        management_group=management_group,
        tenant=tenant,
        cloud=cloud,
        concurrency=concurrency,
        timeout=timeout,
    )
    if live:
        options.validate_scan()  # before anything is loaded or collected
    check_output_dir("--out", out)
    catalogue = _catalogue(checks_dir or [])
    checks = catalogue.checks
    if only:
        unknown = [c for c in only if catalogue.get(c) is None]
        if unknown:
            raise InputError(f"--check: unknown check id(s) {', '.join(map(repr, unknown))}")
        wanted = {catalogue.get(c).id for c in only}  # type: ignore[union-attr]
        checks = tuple(c for c in checks if c.id in wanted)
    baa_list = _baa_list(baa_list_file)
    regions = _regions(allowed_regions)

    if demo:
        from azaudit.demo import build_demo_snapshot

        snapshot = build_demo_snapshot()
    elif snapshot_file is not None:
        snapshot = load_snapshot(snapshot_file)
    else:
        snapshot = _collect_live(options, catalogue, log_format, ctx.obj)

    # Checks judge ages (sign-ins, keys) as of collection, so re-scanning a kept snapshot
    # reproduces the same findings.
    config = ScanConfig(baa_list=baa_list, allowed_regions=regions, now=snapshot.collected_time)
    findings = evaluate(snapshot, checks, config)
    scoped = Catalogue(checks, catalogue.citations, catalogue.safeguards)
    result = build_result(snapshot, scoped, findings, config, _now_iso())
    files = {out / fmt.filename: render(fmt, result) for fmt in (formats or list(OutputFormat))}
    if not demo and snapshot_file is None:
        files[out / SNAPSHOT_FILENAME] = snapshot_file_bytes(snapshot, SNAPSHOT_FILENAME)
    # Written only after every format rendered, all or none: no partial report.
    try:
        write_all_atomic(files)
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write the reports: {exc.strerror or exc}") from None
    typer.echo(summary_text(result))
    typer.echo(f"Reports written to {out}/ ({', '.join(p.name for p in files)})")
    raise typer.Exit(int(exit_code(result, fail_on, strict)))


def _collect_live(
    options: LiveOptions, catalogue: Catalogue, log_format: LogFormat, deps: object
) -> Snapshot:
    from azaudit.cli_live import collect_with_progress

    return collect_with_progress(options, catalogue, log_format, deps)


app.command("doctor")(cli_live.doctor)


def _catalogue(extra: list[Path]) -> Catalogue:
    return load_catalogue(tuple(extra))


def _baa_list(path: Path | None) -> BaaList:
    return load_baa_list(path) if path is not None else default_baa_list()


def _regions(raw: str | None) -> frozenset[str]:
    if raw is None:
        return frozenset(default_us_regions())
    regions = frozenset(normalise_region(r) for r in raw.split(",") if r.strip())
    if not regions:
        raise InputError("--allowed-regions: expected a comma-separated list of ARM locations")
    return regions


def _now_iso() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@checks_app.command("list")
def checks_list(
    family: Annotated[
        str | None, typer.Option("--family", metavar="FAMILY", help="Only this family.")
    ] = None,
    severity: Annotated[
        Severity | None, typer.Option("--severity", help="Only this severity.")
    ] = None,
    citation: Annotated[
        str | None,
        typer.Option(
            "--citation",
            metavar="PARAGRAPH",
            help="Only checks citing this paragraph, e.g. 164.312(e).",
        ),
    ] = None,
    checks_dir: ChecksDirOption = None,
) -> None:
    """List the checks (id, severity, primary citation, title)."""
    catalogue = _catalogue(checks_dir or [])
    if family is not None and family not in {c.meta.family for c in catalogue.checks}:
        raise InputError(
            f"--family: unknown family {family!r}; expected one of "
            + ", ".join(sorted({c.meta.family for c in catalogue.checks}))
        )
    if citation is not None:
        # Accept the label form the reports print ("45 CFR 164.312(e)").
        citation = citation.strip().removeprefix("45 CFR").strip()
        if not any(c.startswith(citation) for c in catalogue.citations):
            raise InputError(
                f"--citation: no paragraph of the citation table starts with {citation!r}; "
                "expected e.g. 164.312(e) (see checks/citations.yaml)"
            )
    rows = []
    for check in catalogue.checks:
        meta = check.meta
        if family is not None and meta.family != family:
            continue
        if severity is not None and meta.severity is not severity:
            continue
        if citation is not None and not any(c.id.startswith(citation) for c in meta.citations):
            continue
        rows.append(
            f"{meta.id:<40} {meta.severity.value:<8} {meta.primary_citation.id:<22} {meta.title}"
        )
    typer.echo(f"{'ID':<40} {'SEVERITY':<8} {'HIPAA':<22} TITLE")
    for row in rows:
        typer.echo(row)
    typer.echo(f"{len(rows)} check(s)")


@checks_app.command("show")
def checks_show(
    check_id: Annotated[str, typer.Argument(metavar="CHECK_ID", help="Check id (or alias).")],
    checks_dir: ChecksDirOption = None,
) -> None:
    """Show a check: citations, rationale, remediation, rule and its data sources."""
    catalogue = _catalogue(checks_dir or [])
    check = catalogue.get(check_id)
    if check is None:
        raise InputError(f"checks show: unknown check id {check_id!r} (see 'azaudit checks list')")
    meta = check.meta
    lines = [
        f"{meta.id}: {meta.title}",
        f"  family:      {FAMILY_TITLES.get(meta.family, meta.family)}",
        f"  severity:    {meta.severity.value}",
        "  HIPAA:       "
        + "; ".join(f"{c.label} {c.title} ({c.implementation})" for c in meta.citations),
        f"  target:      {meta.target.value} {', '.join(meta.resource_types)}".rstrip(),
        f"  rule:        {check.rule.evaluator} {json.dumps(dict(check.rule.params))}",
        f"  data:        {', '.join(check.requires) or 'resource inventory'}",
        f"  rationale:   {meta.rationale}",
        f"  remediation: {meta.remediation.summary}",
    ]
    if meta.remediation.cli:
        lines.append(f"    az CLI:    {meta.remediation.cli}")
    if meta.remediation.portal:
        lines.append(f"    portal:    {meta.remediation.portal}")
    if meta.remediation.azure_policy_id:
        policy = meta.remediation
        lines.append(f"    policy:    {policy.azure_policy_name} ({policy.azure_policy_id})")
    lines.extend(f"  reference:   {ref}" for ref in meta.references)
    lines.append(f"  source file: {check.path}")
    typer.echo("\n".join(lines))


@checks_app.command("test")
def checks_test(checks_dir: ChecksDirOption = None) -> None:
    """Run every check's inline pass/fail cases (use with --checks-dir for your own checks)."""
    catalogue = _catalogue(checks_dir or [])
    failures = []
    total = 0
    for check in catalogue.checks:
        for case in check.cases:
            total += 1
            outcome = run_case(check, case)
            if not outcome.ok:
                failures.append(outcome.explain())
    for line in failures:
        typer.echo(f"FAIL {line}")
    typer.echo(f"{total - len(failures)} passed, {len(failures)} failed")
    raise typer.Exit(1 if failures else 0)


def main() -> None:
    """Console-script entry point: maps every user error to one line and exit code 2."""
    try:
        code = app(standalone_mode=False, prog_name="azaudit")
    except _UsageError as exc:
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "azaudit"
        message = exc.format_message()  # type: ignore[attr-defined]
        typer.echo(f"azaudit: error: {message} (see '{command} --help')", err=True)
        sys.exit(ExitCode.USAGE)
    except typer.Abort:
        typer.echo("azaudit: aborted", err=True)
        sys.exit(INTERRUPTED)
    except AzauditError as exc:
        typer.echo(f"azaudit: error: {exc}", err=True)
        sys.exit(ExitCode.USAGE)
    if code == INTERRUPTED:
        # Typer turns Ctrl-C (KeyboardInterrupt) into this code; say so in the CI log.
        typer.echo("azaudit: interrupted", err=True)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
