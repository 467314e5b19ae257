"""`azaudit send`: mail the reports of an earlier scan (its output directory) to recipients.

Parsing only: the work is `azaudit.deliver.mail.mail_reports`. SMTP settings come from the
`AZAUDIT_SMTP_*` environment (docs/email.md); the password is deliberately not an option.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from azaudit.deliver.attachments import DEFAULT_ATTACHMENTS, DEFAULT_MAX_BYTES
from azaudit.deliver.results_file import load_results
from azaudit.deliver.settings import load_smtp_settings, recipients_from_env
from azaudit.errors import AzauditError

USAGE_EXIT = 2
RESULTS_FILE = "results.json"


def send(
    out: Annotated[
        Path,
        typer.Argument(
            metavar="DIR", help="Output directory of a scan (holds results.json and the reports)."
        ),
    ] = Path("azaudit-report"),
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            metavar="ADDRESS",
            help="Recipient (repeatable; default: AZAUDIT_EMAIL_TO, comma-separated).",
        ),
    ] = None,
    subject: Annotated[
        str | None,
        typer.Option("--subject", help="Subject line (default: tenant, posture, FAIL and ERROR)."),
    ] = None,
    attach: Annotated[
        list[str] | None,
        typer.Option(
            "--attach",
            metavar="FILE",
            help=(
                "File of DIR to attach (repeatable; default: whichever of "
                f"{', '.join(DEFAULT_ATTACHMENTS)} exist)."
            ),
        ),
    ] = None,
    max_attachments_mb: Annotated[
        float,
        typer.Option(
            "--max-attachments-mb",
            min=0.0,
            metavar="MB",
            help="Size budget for all attachments; larger files are named in the mail instead.",
        ),
    ] = DEFAULT_MAX_BYTES / (1024 * 1024),
) -> None:
    """Mail the summary of a finished scan with its reports attached (exit 2 if not delivered)."""
    # The e-mail stack is loaded by this command, not by every command of the CLI.
    from azaudit.deliver.mail import MailRequest, mail_reports

    try:
        request = MailRequest(
            recipients=tuple(to) if to else recipients_from_env(os.environ),
            subject=subject,
            attachments=tuple(attach) if attach else None,
            max_attachment_bytes=int(max_attachments_mb * 1024 * 1024),
        )
        request.validate()
        settings = load_smtp_settings(os.environ)
        result = load_results(out / RESULTS_FILE)
        outcome = mail_reports(result, out, request, settings)
    except AzauditError as exc:
        typer.echo(f"azaudit: error: {exc}", err=True)
        raise typer.Exit(USAGE_EXIT) from None
    typer.echo(f"azaudit: {outcome.describe()}")
