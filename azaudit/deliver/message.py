"""Builds the summary e-mail from a `ScanResult`: pure, no clock, no network, no file system.

The HTML part is rendered from a Jinja template (autoescaped) and its stylesheet is inlined into
`style` attributes with css-inline, because Outlook and Gmail ignore or strip `<style>` blocks.
The plain-text part is the console summary, so every mail client shows the same figures.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

import css_inline
import jinja2

from azaudit.deliver.attachments import Attachment, LeftOut
from azaudit.errors import InputError
from azaudit.models import ScanResult, Severity, Status
from azaudit.render.console import summary_text
from azaudit.render.finding_fields import one_line
from azaudit.render.json_format import RESULTS_SCHEMA_VERSION

TEMPLATE = "summary.html.j2"
TOP_RISKS = 5
_STATUSES = (Status.FAIL, Status.ERROR, Status.MANUAL, Status.WAIVED, Status.PASS)


@functools.cache
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def default_subject(result: ScanResult) -> str:
    """`azaudit HIPAA posture Contoso Health: 57.7 %, 5 FAIL, 6 ERROR`."""
    summary = result.summary
    counts = summary["counts"]
    posture = "n/a" if summary["posture"] is None else f"{summary['posture']:.1f} %"
    return one_line(
        f"azaudit HIPAA posture {result.tenant_name}: {posture}, "
        f"{counts['FAIL']} FAIL, {counts['ERROR']} ERROR"
    )


def check_address(address: str, what: str) -> str:
    """`address` if it is one plain e-mail address, else an `InputError` naming `what`."""
    _, parsed = parseaddr(address)
    if (
        not parsed
        or parsed != address.strip()
        or "@" not in parsed
        or any(ch.isspace() or not ch.isprintable() for ch in parsed)
    ):
        raise InputError(f"{what} {address!r}: expected an e-mail address such as ciso@example.org")
    return parsed


def summary_html(
    result: ScanResult,
    subject: str,
    attached: Sequence[Attachment],
    left_out: Sequence[LeftOut],
) -> str:
    """The HTML body with every style inlined."""
    summary = result.summary
    counts = summary["counts"]
    html = (
        _environment()
        .get_template(TEMPLATE)
        .render(
            result=result,
            subject=subject,
            summary=summary,
            counts=counts,
            evaluated=counts["PASS"] + counts["FAIL"] + counts["ERROR"],
            coverage=summary["coverage"],
            failing=summary["failing_by_severity"],
            top=list(summary["top_risks"])[:TOP_RISKS],
            statuses=[s.value for s in _STATUSES],
            severities=[s.value for s in Severity],
            attached=attached,
            left_out=left_out,
            schema_version=RESULTS_SCHEMA_VERSION,
        )
    )
    return css_inline.inline(html)


def summary_plain_text(
    result: ScanResult, attached: Sequence[Attachment], left_out: Sequence[LeftOut]
) -> str:
    """The text/plain alternative: the console summary and the list of attachments."""
    lines = [summary_text(result), ""]
    if attached:
        lines.append(
            "Attached: " + ", ".join(f"{a.filename} ({a.size_label})" for a in attached) + "."
        )
    else:
        lines.append("No report files are attached.")
    lines += [f"Not attached: {item.filename} ({item.reason})." for item in left_out]
    return "\n".join(lines) + "\n"


def build_message(
    result: ScanResult,
    sender: str,
    recipients: Sequence[str],
    attachments: Sequence[Attachment] = (),
    left_out: Sequence[LeftOut] = (),
    subject: str | None = None,
) -> EmailMessage:
    """The complete message: text and inlined HTML alternatives, then the attachments.

    Date and Message-ID are left to the sender (`smtp.send_message`), which owns the clock.

    Raises:
        InputError: a recipient or the sender is not a plain e-mail address, or no recipient.
    """
    if not recipients:
        raise InputError("no recipient: give --to ADDRESS or set AZAUDIT_EMAIL_TO")
    to = [check_address(r, "--to") for r in recipients]
    title = one_line(subject) if subject is not None else default_subject(result)
    text = summary_plain_text(result, attachments, left_out)
    html = summary_html(result, title, attachments, left_out)
    digest = hashlib.sha256(text.encode("utf-8") + html.encode("utf-8"))
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = Address(addr_spec=check_address(sender, "sender"))
    message["To"] = ", ".join(to)
    message.set_content(text, cte="quoted-printable")
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    for attachment in attachments:
        maintype, _, subtype = attachment.mime_type.partition("/")
        message.add_attachment(
            attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
        digest.update(attachment.content)
    _fix_boundaries(message, digest.hexdigest()[:32])
    return message


def _fix_boundaries(message: EmailMessage, digest: str) -> None:
    """Name MIME boundaries after the content instead of at random, so one result and one set
    of files always give the same bytes (a boundary that is a hash of the content cannot occur
    in it by accident)."""
    for level, part in enumerate(p for p in message.walk() if p.is_multipart()):
        part.set_boundary(f"==azaudit-{digest}-{level}==")
