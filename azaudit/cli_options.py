"""What several scanning commands share (`scan`, `web-scan`): options declared once, and the
lines they print about a finished scan."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from azaudit.models import ScanResult
from azaudit.pipeline import ScanOutcome
from azaudit.render import OutputFormat
from azaudit.render.console import summary_text
from azaudit.result import FailOn
from azaudit.waivers import waiver_summary

FormatsOption = Annotated[
    list[OutputFormat] | None,
    typer.Option(
        "--format",
        "-f",
        metavar="|".join(f.value for f in OutputFormat),
        help="Report format (repeatable; default html and json).",
    ),
]

FailOnOption = Annotated[
    FailOn,
    typer.Option("--fail-on", help="Exit 1 on failing findings at or above this severity."),
]


def echo_outcome(outcome: ScanOutcome, out_dir: Path | str) -> None:
    """Print a finished scan (warnings on stderr; summary, files and notes on stdout) and exit
    with its exit code."""
    for warning in outcome.warnings:
        typer.echo(f"azaudit: warning: {warning}", err=True)
    typer.echo(summary_text(outcome.result))
    if outcome.result.waivers:
        typer.echo(waivers_line(outcome.result))
    typer.echo(f"Reports written to {out_dir}/ ({', '.join(p.name for p in outcome.files)})")
    for note in outcome.notes:
        typer.echo(f"azaudit: {note}")
    raise typer.Exit(int(outcome.exit_code))


def waivers_line(result: ScanResult) -> str:
    """One line on the waivers: how many apply, expired, matched nothing, and findings waived."""
    states = waiver_summary(result.waivers)
    waived = sum(w.matched for w in result.waivers)
    errors = sum(w.errors for w in result.waivers)
    line = (
        f"Waivers: {states['active']} active ({waived} finding(s) WAIVED), "
        f"{states['expired']} expired, {states['unmatched']} matched nothing"
    )
    if errors:
        line += f"; {errors} ERROR finding(s) selected by a waiver stay ERROR"
    return line
