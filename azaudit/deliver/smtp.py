"""Sends a built message over SMTP: the only network I/O of delivery.

STARTTLS or implicit TLS with certificate verification (the system's trust store, or
`ca_file` for a private relay), then AUTH when a user is configured. Every failure becomes one
`DeliveryError` line naming the server and what went wrong, never the password.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from azaudit.deliver.settings import Security, SmtpSettings
from azaudit.errors import AzauditError


class DeliveryError(AzauditError):
    """The message could not be delivered to the SMTP server (exit code 2, one line)."""


def _reply(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {' '.join(text.split())}".strip()


def _tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    cafile = str(settings.ca_file) if settings.ca_file else None
    return ssl.create_default_context(cafile=cafile)


def _connect(settings: SmtpSettings, context: ssl.SSLContext) -> smtplib.SMTP:
    if settings.security is Security.TLS:
        return smtplib.SMTP_SSL(
            settings.host, settings.port, timeout=settings.timeout, context=context
        )
    client = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    if settings.security is Security.STARTTLS:
        try:
            client.starttls(context=context)
        except smtplib.SMTPNotSupportedError:
            client.close()
            raise DeliveryError(
                f"SMTP server {settings.address} does not offer STARTTLS; "
                "set AZAUDIT_SMTP_SSL=true for implicit TLS (port 465)"
            ) from None
        except BaseException:
            client.close()
            raise
    return client


def send_message(message: EmailMessage, settings: SmtpSettings) -> tuple[str, ...]:
    """Deliver `message` to its To recipients; return them once the server accepted all.

    Raises:
        DeliveryError: the server is unreachable, TLS fails, login is refused, or the server
            refuses the sender or any recipient.
    """
    if "Date" not in message:
        message["Date"] = formatdate(usegmt=True)
    if "Message-ID" not in message:
        message["Message-ID"] = make_msgid(domain=settings.sender.rpartition("@")[2])
    recipients: Sequence[str] = [r.strip() for r in str(message["To"]).split(",") if r.strip()]
    where = settings.address
    try:
        with _connect(settings, _tls_context(settings)) as client:
            if settings.user:
                client.login(settings.user, settings.password or "")
            refused = client.send_message(message, from_addr=settings.sender, to_addrs=recipients)
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryError(
            f"SMTP server {where} refused the login of {settings.user}: {_reply(exc)}"
        ) from None
    except smtplib.SMTPNotSupportedError:
        raise DeliveryError(
            f"SMTP server {where} does not support AUTH for this connection"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused_all = ", ".join(sorted(exc.recipients))
        raise DeliveryError(f"SMTP server {where} refused every recipient: {refused_all}") from None
    except smtplib.SMTPSenderRefused as exc:
        raise DeliveryError(
            f"SMTP server {where} refused the sender {settings.sender}: {_reply(exc)}"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise DeliveryError(f"SMTP server {where} rejected the message: {_reply(exc)}") from None
    except ssl.SSLError as exc:
        raise DeliveryError(f"TLS with SMTP server {where} failed: {exc.reason or exc}") from None
    except (OSError, smtplib.SMTPException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        reason = reason or type(exc).__name__
        raise DeliveryError(f"cannot reach SMTP server {where}: {reason}") from None
    if refused:
        raise DeliveryError(
            f"SMTP server {where} refused {', '.join(sorted(refused))} "
            f"(delivered to {', '.join(r for r in recipients if r not in refused)})"
        )
    return tuple(recipients)
