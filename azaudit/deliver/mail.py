"""Mails a finished scan: attachments from the output directory, the summary, SMTP delivery.

The scan pipeline calls `mail_reports` after the reports are on disk, and `azaudit send` after
loading them back, so a failed delivery never costs the reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from azaudit.deliver.attachments import DEFAULT_MAX_BYTES, collect_attachments
from azaudit.deliver.message import build_message, check_address
from azaudit.deliver.settings import SmtpSettings
from azaudit.deliver.smtp import send_message
from azaudit.errors import InputError
from azaudit.models import ScanResult


@dataclass(frozen=True, slots=True)
class MailRequest:
    """What to send to whom.

    Attributes:
        recipients: e-mail addresses (at least one).
        subject: the subject line; None for the default (tenant, posture, FAIL and ERROR counts).
        attachments: file names in the output directory to attach (each must exist); None for
            whichever of report.pdf, report.html and results.json exist.
        max_attachment_bytes: budget for all attachments; files beyond it are named, not sent.
    """

    recipients: tuple[str, ...]
    subject: str | None = None
    attachments: tuple[str, ...] | None = None
    max_attachment_bytes: int = DEFAULT_MAX_BYTES

    def validate(self) -> None:
        """Check the request before any work is done (before a scan, ideally).

        Raises:
            InputError: no recipient, or a recipient is not an e-mail address.
        """
        if not self.recipients:
            raise InputError("no recipient: give --to ADDRESS or set AZAUDIT_EMAIL_TO")
        for recipient in self.recipients:
            check_address(recipient, "--to")
        if self.max_attachment_bytes < 0:
            raise InputError("--max-attachments-mb: expected zero or a positive number")


@dataclass(frozen=True, slots=True)
class MailOutcome:
    """What was delivered, for the one line the CLI prints."""

    recipients: tuple[str, ...]
    attached: tuple[str, ...]
    left_out: tuple[str, ...]
    server: str

    def describe(self) -> str:
        """`mailed to a@x, b@y via smtp.example:587 (attached: report.html, results.json)`."""
        attached = ", ".join(self.attached) if self.attached else "nothing"
        line = f"mailed to {', '.join(self.recipients)} via {self.server} (attached: {attached}"
        if self.left_out:
            line += f"; over the size limit: {', '.join(self.left_out)}"
        return line + ")"


def mail_reports(
    result: ScanResult, out_dir: Path, request: MailRequest, settings: SmtpSettings
) -> MailOutcome:
    """Build the summary e-mail for `result`, attach the reports in `out_dir`, and send it.

    Raises:
        InputError: the request is invalid or a named attachment is missing.
        DeliveryError: the SMTP server is unreachable, TLS or login fails, or it refuses.
    """
    request.validate()
    attached, left_out = collect_attachments(
        out_dir, request.attachments, request.max_attachment_bytes
    )
    message = build_message(
        result, settings.sender, request.recipients, attached, left_out, request.subject
    )
    recipients: Sequence[str] = send_message(message, settings)
    return MailOutcome(
        recipients=tuple(recipients),
        attached=tuple(a.filename for a in attached),
        left_out=tuple(item.filename for item in left_out),
        server=settings.address,
    )
