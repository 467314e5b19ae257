"""The `azaudit` command line: the only layer that knows Typer, Rich and the file system layout.

Every user error ends as one line on stderr and exit code 2; nothing is written unless the whole
report rendered.
"""

from __future__ import annotations

import enum
import json
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from azaudit import __version__, cli_live
from azaudit.casebook import run_case
from azaudit.catalogue import FAMILY_TITLES, Catalogue, load_catalogue
from azaudit.catalogue_views import by_citation_lines
from azaudit.cli_history import diff, history_app
from azaudit.cli_options import FailOnOption, FormatsOption, echo_outcome
from azaudit.cli_send import send
from azaudit.cli_web import web_scan
from azaudit.collect.options import LogFormat
from azaudit.config import current_environment, merge, split_commas, to_request
from azaudit.errors import AzauditError, InputError
from azaudit.models import Severity
from azaudit.pipeline import run_scan
from azaudit.render import Paper
from azaudit.result import ExitCode, FailOn

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


EXIT_CODES_EPILOG = (
    "Exit codes: 0 no failing finding at or above --fail-on; 1 failing findings at or above "
    "--fail-on; 2 usage or input error; 3 incomplete coverage under --strict; 130 interrupted "
    "(Ctrl-C)."
)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Config file (default: $AZAUDIT_CONFIG, ./azaudit.toml, or [tool.azaudit] of "
        "./pyproject.toml).",
    ),
]

# `scan` parameter name -> config key (azaudit/config.py); the option wins when given.
_SETTING_OF = {
    "demo": "scan.demo",
    "snapshot_file": "scan.snapshot",
    "subscription": "scan.subscriptions",
    "all_subscriptions": "scan.all_subscriptions",
    "management_group": "scan.management_group",
    "tenant": "scan.tenant",
    "cloud": "scan.cloud",
    "concurrency": "scan.concurrency",
    "timeout": "scan.timeout",
    "log_format": "scan.log_format",
    "out": "scan.out",
    "formats": "scan.formats",
    "paper": "scan.paper",
    "fail_on": "scan.fail_on",
    "strict": "scan.strict",
    "checks_dir": "scan.checks_dirs",
    "only": "scan.checks",
    "baa_list_file": "scan.baa_list",
    "allowed_regions": "scan.allowed_regions",
    "break_glass_account": "scan.break_glass_accounts",
    "waivers": "scan.waivers",
    "attestations": "scan.attestations",
    "history": "scan.history",
    "email_to": "scan.email_to",
    "web": "scan.web",
    "web_url": "scan.web_urls",
    "web_render": "scan.web_render",
    "web_max_pages": "scan.web_max_pages",
    "phi_subscription": "phi.subscriptions",
    "phi_resource_group": "phi.resource_groups",
    "phi_tag": "phi.tags",
}


@app.command(epilog=EXIT_CODES_EPILOG)
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
            "--concurrency",
            min=1,
            max=256,
            metavar="N",
            help="Ceiling of requests in flight; below it the limit adapts to latency and "
            "throttling.",
        ),
    ] = 256,
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
    formats: FormatsOption = None,
    paper: Annotated[
        Paper,
        typer.Option("--paper", help="Page size of the printed report and the PDF."),
    ] = Paper.LETTER,
    fail_on: FailOnOption = FailOn.HIGH,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict/--no-strict",
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
    break_glass_account: Annotated[
        list[str] | None,
        typer.Option(
            "--break-glass-account",
            metavar="ID|UPN",
            help="An emergency-access account that Conditional Access may exclude and that may "
            "hold a standing privileged role (object id or user principal name; repeatable).",
        ),
    ] = None,
    phi_subscription: Annotated[
        list[str] | None,
        typer.Option(
            "--phi-subscription",
            metavar="ID",
            help="A subscription that holds PHI (repeatable; default: everything is PHI).",
        ),
    ] = None,
    phi_resource_group: Annotated[
        list[str] | None,
        typer.Option(
            "--phi-resource-group",
            metavar="[SUB/]RG",
            help="A resource group that holds PHI, in any or one subscription (repeatable).",
        ),
    ] = None,
    phi_tag: Annotated[
        list[str] | None,
        typer.Option(
            "--phi-tag",
            metavar="KEY=VALUE",
            help="Resources with this tag hold PHI (repeatable).",
        ),
    ] = None,
    waivers: Annotated[
        Path | None,
        typer.Option("--waivers", metavar="FILE", help="Accepted risks (YAML, docs/waivers.md)."),
    ] = None,
    attestations: Annotated[
        Path | None,
        typer.Option(
            "--attestations",
            metavar="FILE",
            help="Attested administrative safeguards (YAML, docs/attestations.md).",
        ),
    ] = None,
    history: Annotated[
        str | None,
        typer.Option(
            "--history",
            metavar="PATH|URL",
            help="Record the run and compare with the previous one (SQLite path or "
            "postgresql:// URL; docs/history.md).",
        ),
    ] = None,
    email_to: Annotated[
        list[str] | None,
        typer.Option(
            "--email-to",
            metavar="ADDRESS",
            help="Mail the summary and reports here once written (repeatable; docs/email.md).",
        ),
    ] = None,
    web: Annotated[
        bool,
        typer.Option("--web", help="Also scan the tenant's public sites for trackers (live)."),
    ] = False,
    web_url: Annotated[
        list[str] | None,
        typer.Option("--web-url", metavar="URL", help="A further site for the web scan."),
    ] = None,
    web_render: Annotated[
        bool, typer.Option("--web-render", help="Web scan: render pages in headless Chromium.")
    ] = False,
    web_max_pages: Annotated[
        int,
        typer.Option(
            "--web-max-pages", min=1, max=1000, metavar="N", help="Web scan: pages per site."
        ),
    ] = 20,
    config: ConfigOption = None,
) -> None:
    """Audit a tenant (live, a snapshot, or the demo) and write the gap report."""
    given = {
        name: value for name, value in locals().items() if name in _SETTING_OF and _given(ctx, name)
    }
    options = {_SETTING_OF[name]: _as_setting(name, value) for name, value in given.items()}
    effective = merge(options, current_environment(), config, Path.cwd())
    outcome = run_scan(to_request(effective), ctx.obj)
    echo_outcome(outcome, effective.values["scan.out"])


def _given(ctx: typer.Context, name: str) -> bool:
    source = ctx.get_parameter_source(name)
    return source is not None and source.name == "COMMANDLINE"


def _as_setting(name: str, value: object) -> object:
    """An option's value in the form config settings use (tuples, plain strings)."""
    if name == "allowed_regions":
        return split_commas([str(value)])
    if isinstance(value, list):
        return tuple(str(v.value) if isinstance(v, enum.Enum) else v for v in value)
    if isinstance(value, enum.Enum):
        return str(value.value)
    return value


config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("show")
def config_show(config: ConfigOption = None) -> None:
    """Print every scan setting with its value and where it came from."""
    typer.echo(merge({}, current_environment(), config, Path.cwd()).show())


app.command("doctor")(cli_live.doctor)
app.command("send")(send)
app.add_typer(history_app, name="history")
app.command("diff")(diff)
app.command("web-scan")(web_scan)


def _catalogue(extra: list[Path]) -> Catalogue:
    return load_catalogue(tuple(extra))


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
    by_citation: Annotated[
        bool,
        typer.Option("--by-citation", help="Group the checks under each HIPAA citation."),
    ] = False,
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
    selected: set[str] = set()
    for check in catalogue.checks:
        meta = check.meta
        if family is not None and meta.family != family:
            continue
        if severity is not None and meta.severity is not severity:
            continue
        if citation is not None and not any(c.id.startswith(citation) for c in meta.citations):
            continue
        selected.add(check.id)
        rows.append(
            f"{meta.id:<40} {meta.severity.value:<8} {meta.primary_citation.id:<22} {meta.title}"
        )
    if by_citation:
        chosen = tuple(c for c in catalogue.checks if c.id in selected)
        subset = Catalogue(chosen, catalogue.citations, catalogue.safeguards)
        for line in by_citation_lines(
            subset, include_uncovered=len(chosen) == len(catalogue.checks)
        ):
            typer.echo(line)
        return
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
    # Cases are what this command reports on: load without refusing a check whose case fails.
    catalogue = load_catalogue(tuple(checks_dir or ()), prove_cases=False)
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


def _json_log(argv: list[str], environ: Mapping[str, str]) -> bool:
    """Whether `--log-format json` (or AZAUDIT_LOG_FORMAT=json) is in force for this run.

    Read from the raw arguments because the final error line may come before or instead of
    option parsing; under JSON logging every stderr line must be JSON.
    """
    for index, arg in enumerate(argv):
        if arg == "--log-format=json" or (
            arg == "--log-format" and argv[index + 1 : index + 2] == ["json"]
        ):
            return True
    return "--log-format" not in " ".join(argv) and environ.get("AZAUDIT_LOG_FORMAT") == "json"


def _say(message: str, level: str, as_json: bool) -> None:
    if as_json:
        record = {
            "time": datetime.now(UTC).isoformat(),
            "event": "log",
            "level": level,
            "message": message,
        }
        typer.echo(json.dumps(record, sort_keys=True), err=True)
    else:
        typer.echo(f"azaudit: {message}", err=True)


def main() -> None:
    """Console-script entry point: maps every user error to one line and exit code 2."""
    as_json = _json_log(sys.argv[1:], os.environ)
    try:
        code = app(standalone_mode=False, prog_name="azaudit")
    except _UsageError as exc:
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "azaudit"
        message = exc.format_message()  # type: ignore[attr-defined]
        _say(f"error: {message} (see '{command} --help')", "error", as_json)
        sys.exit(ExitCode.USAGE)
    except typer.Abort:
        _say("aborted", "error", as_json)
        sys.exit(INTERRUPTED)
    except AzauditError as exc:
        _say(f"error: {exc}", "error", as_json)
        sys.exit(ExitCode.USAGE)
    if code == INTERRUPTED:
        # Typer turns Ctrl-C (KeyboardInterrupt) into this code; say so in the CI log.
        _say("interrupted", "error", as_json)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
