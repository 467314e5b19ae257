"""E-mail delivery against a real SMTP server (aiosmtpd) on 127.0.0.1 with TLS and AUTH.

The server's certificate comes from a trustme CA that only the tests trust, so certificate
verification is real: without `AZAUDIT_SMTP_CA_FILE` the client must refuse it.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import socket
import ssl
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import trustme
import typer
import typer.main
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from typer.testing import CliRunner

from azaudit.cli_send import send
from azaudit.deliver.attachments import collect_attachments
from azaudit.deliver.mail import MailRequest, mail_reports
from azaudit.deliver.message import build_message, default_subject
from azaudit.deliver.settings import (
    KEYS,
    DeliveryConfigError,
    Security,
    SmtpSettings,
    load_smtp_settings,
)
from azaudit.errors import InputError
from azaudit.render import OutputFormat, render
from tests.fixtures_result import XSS_SCRIPT, build_fixture_result

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USER = "reports@contoso.example"
PASSWORD = "correct horse battery staple"
SENDER = "azaudit@contoso.example"
RECIPIENTS = ("ciso@contoso.example", "secops@contoso.example")


class Mailbox:
    """aiosmtpd handler that keeps every delivered message."""

    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 OK message accepted"

    def only_message(self) -> EmailMessage:
        assert len(self.envelopes) == 1
        content = self.envelopes[0].original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        return message


def _authenticate(
    server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class Server:
    port: int
    mailbox: Mailbox
    ca_file: Path


@pytest.fixture(scope="module")
def ca_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[trustme.CA, Path]]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    yield ca, path


def _server_context(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    return context


@pytest.fixture
def starttls_server(ca_file: tuple[trustme.CA, Path]) -> Iterator[Server]:
    """Submission-style server: STARTTLS required before AUTH, AUTH required before MAIL."""
    ca, path = ca_file
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=_server_context(ca),
        require_starttls=True,
        auth_required=True,
        # smtplib falls back from PLAIN to LOGIN after a refusal; aiosmtpd's LOGIN then waits
        # for a continuation smtplib never sends. Real submission servers answer both.
        auth_exclude_mechanism=["LOGIN"],
        authenticator=_authenticate,
    )
    controller.start()
    try:
        yield Server(controller.port, mailbox, path)
    finally:
        controller.stop()


@pytest.fixture
def implicit_tls_server(ca_file: tuple[trustme.CA, Path]) -> Iterator[Server]:
    """SMTPS-style server: TLS from the first byte (what port 465 speaks)."""
    ca, path = ca_file
    mailbox = Mailbox()
    controller = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=_free_port(),
        ssl_context=_server_context(ca),
        auth_required=True,
        # aiosmtpd only counts STARTTLS as TLS for AUTH; this connection is TLS from the start.
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN"],
        authenticator=_authenticate,
    )
    controller.start()
    try:
        yield Server(controller.port, mailbox, path)
    finally:
        controller.stop()


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """A scan's output directory: results.json, report.html and summary.md of the fixture."""
    out = tmp_path / "azaudit-report"
    out.mkdir()
    result = build_fixture_result()
    for fmt in (OutputFormat.JSON, OutputFormat.HTML, OutputFormat.MARKDOWN):
        (out / fmt.filename).write_bytes(render(fmt, result))
    return out


def _env(server: Server, **overrides: str) -> dict[str, str]:
    env = {
        "AZAUDIT_SMTP_HOST": "127.0.0.1",
        "AZAUDIT_SMTP_PORT": str(server.port),
        "AZAUDIT_SMTP_USER": USER,
        "AZAUDIT_SMTP_PASSWORD": PASSWORD,
        "AZAUDIT_SMTP_FROM": SENDER,
        "AZAUDIT_SMTP_CA_FILE": str(server.ca_file),
        "AZAUDIT_SMTP_STARTTLS": "",
        "AZAUDIT_SMTP_SSL": "",
        "AZAUDIT_SMTP_TIMEOUT": "",
        "AZAUDIT_EMAIL_TO": "",
    }
    env.update(overrides)
    return env


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command()(send)
    return app


def _invoke(args: list[str], env: dict[str, str]) -> Any:
    return CliRunner().invoke(_app(), args, env=env)


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_send_delivers_summary_and_reports_over_starttls_with_auth(
    starttls_server: Server, out_dir: Path
) -> None:
    args = [str(out_dir), "--to", RECIPIENTS[0], "--to", RECIPIENTS[1]]
    outcome = _invoke(args, _env(starttls_server))
    assert outcome.exit_code == 0, outcome.output
    assert PASSWORD not in outcome.output
    assert outcome.output.strip() == (
        f"azaudit: mailed to {', '.join(RECIPIENTS)} via 127.0.0.1:{starttls_server.port} "
        "(attached: report.html, results.json)"
    )
    envelope = starttls_server.mailbox.envelopes[0]
    assert envelope.mail_from == SENDER
    assert envelope.rcpt_tos == list(RECIPIENTS)

    message = starttls_server.mailbox.only_message()
    assert message["Subject"] == "azaudit HIPAA posture Contoso Health: 53.1 %, 5 FAIL, 6 ERROR"
    assert message["From"] == SENDER
    assert message["To"] == ", ".join(RECIPIENTS)
    assert message["Date"] and message["Message-ID"]

    html_part = message.get_body(preferencelist=("html",))
    text_part = message.get_body(preferencelist=("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    # CSS is inlined: no <style> block left, the styles sit on the elements.
    assert "<style" not in html
    assert 'style="' in html and "font-size: 32px" in html
    assert "53.1 %" in html
    assert "Coverage incomplete: 2 scope(s) could not be evaluated" in html
    assert "No PHI scope configured" in html
    assert "Attached: report.html (" in html
    text = text_part.get_content()
    assert "Posture: 53.1% weighted; raw 57.7% (15 pass of 26 evaluated)" in text
    assert "Attached: report.html" in text

    attachments = {str(part.get_filename()): part for part in message.iter_attachments()}
    assert sorted(attachments) == ["report.html", "results.json"]
    for name, part in attachments.items():
        assert part.get_payload(decode=True) == (out_dir / name).read_bytes()
    assert attachments["results.json"].get_content_type() == "application/json"
    assert attachments["report.html"].get_content_type() == "text/html"


def test_tenant_text_is_escaped_in_the_html_body(starttls_server: Server, out_dir: Path) -> None:
    outcome = _invoke([str(out_dir), "--to", RECIPIENTS[0]], _env(starttls_server))
    assert outcome.exit_code == 0, outcome.output
    html_part = starttls_server.mailbox.only_message().get_body(preferencelist=("html",))
    assert html_part is not None
    # The fixture's subscription display name carries an attribute-breaking payload.
    html = html_part.get_content()
    assert XSS_SCRIPT not in html
    assert "<img src=x" not in html


def test_pipeline_api_sends_over_implicit_tls(implicit_tls_server: Server, out_dir: Path) -> None:
    settings = load_smtp_settings(_env(implicit_tls_server, AZAUDIT_SMTP_SSL="true"))
    assert settings.security is Security.TLS
    request = MailRequest(
        recipients=(RECIPIENTS[0],), subject="Nightly HIPAA scan", attachments=("summary.md",)
    )
    outcome = mail_reports(build_fixture_result(), out_dir, request, settings)
    assert outcome.recipients == (RECIPIENTS[0],)
    assert outcome.attached == ("summary.md",)
    message = implicit_tls_server.mailbox.only_message()
    assert message["Subject"] == "Nightly HIPAA scan"
    (part,) = list(message.iter_attachments())
    assert part.get_filename() == "summary.md"
    assert part.get_payload(decode=True) == (out_dir / "summary.md").read_bytes()


def test_refused_login_is_one_line_exit_2_and_reports_stay(
    starttls_server: Server, out_dir: Path
) -> None:
    before = _snapshot(out_dir)
    env = _env(starttls_server, AZAUDIT_SMTP_PASSWORD="wrong password")
    outcome = _invoke([str(out_dir), "--to", RECIPIENTS[0]], env)
    assert outcome.exit_code == 2
    lines = outcome.output.strip().splitlines()
    assert len(lines) == 1, outcome.output
    assert lines[0].startswith(
        f"azaudit: error: SMTP server 127.0.0.1:{starttls_server.port} refused the login of {USER}"
    )
    assert "535" in lines[0]
    assert "wrong password" not in outcome.output
    assert "Traceback" not in outcome.output
    assert starttls_server.mailbox.envelopes == []
    assert _snapshot(out_dir) == before


def test_unreachable_server_is_one_line_exit_2(tmp_path: Path, out_dir: Path) -> None:
    port = _free_port()  # nothing listens there
    server = Server(port, Mailbox(), tmp_path / "unused.pem")
    env = _env(server, AZAUDIT_SMTP_CA_FILE="", AZAUDIT_SMTP_TIMEOUT="5")
    before = _snapshot(out_dir)
    outcome = _invoke([str(out_dir), "--to", RECIPIENTS[0]], env)
    assert outcome.exit_code == 2
    assert outcome.output.strip().splitlines() == [
        f"azaudit: error: cannot reach SMTP server 127.0.0.1:{port}: Connection refused"
    ]
    assert _snapshot(out_dir) == before


def test_untrusted_certificate_is_refused(starttls_server: Server, out_dir: Path) -> None:
    env = _env(starttls_server, AZAUDIT_SMTP_CA_FILE="")
    outcome = _invoke([str(out_dir), "--to", RECIPIENTS[0]], env)
    assert outcome.exit_code == 2
    (line,) = outcome.output.strip().splitlines()
    assert line.startswith(f"azaudit: error: TLS with SMTP server 127.0.0.1:{starttls_server.port}")
    assert "CERTIFICATE_VERIFY_FAILED" in line
    assert starttls_server.mailbox.envelopes == []


def test_attachment_budget_names_what_was_left_out(starttls_server: Server, out_dir: Path) -> None:
    # results.json of the fixture is smaller than report.html: a budget between the two sizes
    # keeps only the JSON.
    budget = ((out_dir / "results.json").stat().st_size + 1024) / (1024 * 1024)
    assert (out_dir / "report.html").stat().st_size > budget * 1024 * 1024
    args = [str(out_dir), "--to", RECIPIENTS[0], "--max-attachments-mb", f"{budget:.4f}"]
    outcome = _invoke(args, _env(starttls_server))
    assert outcome.exit_code == 0, outcome.output
    assert "over the size limit: report.html" in outcome.output
    message = starttls_server.mailbox.only_message()
    assert [p.get_filename() for p in message.iter_attachments()] == ["results.json"]
    html_part = message.get_body(preferencelist=("html",))
    assert html_part is not None
    assert "Not attached: report.html" in html_part.get_content()


def test_recipients_from_the_environment(starttls_server: Server, out_dir: Path) -> None:
    env = _env(starttls_server, AZAUDIT_EMAIL_TO=" ciso@contoso.example , secops@contoso.example")
    outcome = _invoke([str(out_dir)], env)
    assert outcome.exit_code == 0, outcome.output
    assert starttls_server.mailbox.envelopes[0].rcpt_tos == list(RECIPIENTS)


@pytest.mark.parametrize(
    ("args", "overrides", "expected"),
    [
        ([], {}, "no recipient: give --to ADDRESS or set AZAUDIT_EMAIL_TO"),
        (["--to", "not an address"], {}, "--to 'not an address': expected an e-mail address"),
        (["--to", RECIPIENTS[0]], {"AZAUDIT_SMTP_HOST": ""}, "AZAUDIT_SMTP_HOST is not set"),
        (
            ["--to", RECIPIENTS[0]],
            {"AZAUDIT_SMTP_PASSWORD": ""},
            "AZAUDIT_SMTP_USER is set but AZAUDIT_SMTP_PASSWORD is not",
        ),
        (
            ["--to", RECIPIENTS[0]],
            {"AZAUDIT_SMTP_STARTTLS": "false"},
            "refusing to send the SMTP password unencrypted",
        ),
        (["--to", RECIPIENTS[0]], {"AZAUDIT_SMTP_PORT": "smtp"}, "AZAUDIT_SMTP_PORT: expected"),
        (["--to", RECIPIENTS[0], "--attach", "report.pdf"], {}, "--attach report.pdf: "),
        (["--to", RECIPIENTS[0], "--attach", "../etc/passwd"], {}, "--attach ../etc/passwd: give"),
    ],
)
def test_bad_settings_are_one_line_exit_2_and_nothing_is_sent(
    starttls_server: Server,
    out_dir: Path,
    args: list[str],
    overrides: dict[str, str],
    expected: str,
) -> None:
    outcome = _invoke([str(out_dir), *args], _env(starttls_server, **overrides))
    assert outcome.exit_code == 2
    (line,) = outcome.output.strip().splitlines()
    assert line.startswith("azaudit: error: ")
    assert expected in line
    assert starttls_server.mailbox.envelopes == []


def test_missing_results_file_is_one_line_exit_2(starttls_server: Server, tmp_path: Path) -> None:
    outcome = _invoke([str(tmp_path), "--to", RECIPIENTS[0]], _env(starttls_server))
    assert outcome.exit_code == 2
    (line,) = outcome.output.strip().splitlines()
    assert "results.json: no results.json here" in line


def test_password_is_not_an_option(starttls_server: Server, out_dir: Path) -> None:
    args = [str(out_dir), "--to", RECIPIENTS[0], "--password", "x"]
    outcome = _invoke(args, _env(starttls_server))
    assert outcome.exit_code == 2
    assert "No such option: --password" in outcome.output
    assert starttls_server.mailbox.envelopes == []


def test_settings_precedence_and_secrecy() -> None:
    env = {
        "AZAUDIT_SMTP_HOST": "smtp.office365.com",
        "AZAUDIT_SMTP_USER": USER,
        "AZAUDIT_SMTP_PASSWORD": PASSWORD,
    }
    settings = load_smtp_settings(env, {"host": "relay.internal", "port": 465, "from": SENDER})
    assert (settings.host, settings.port, settings.security) == (
        "smtp.office365.com",
        465,
        Security.TLS,
    )
    assert settings.sender == SENDER
    assert PASSWORD not in repr(settings)
    default = load_smtp_settings(env)
    assert (default.port, default.security, default.sender) == (587, Security.STARTTLS, USER)
    with pytest.raises(DeliveryConfigError, match="set AZAUDIT_SMTP_PASSWORD"):
        load_smtp_settings(env, {"password": "in a file"})
    with pytest.raises(DeliveryConfigError, match=r"smtp\.hots: unknown setting"):
        load_smtp_settings(env, {"hots": "x"})
    both = {**env, "AZAUDIT_SMTP_SSL": "true", "AZAUDIT_SMTP_STARTTLS": "true"}
    with pytest.raises(DeliveryConfigError, match="both true"):
        load_smtp_settings(both)


def test_message_building_is_pure_and_complete(out_dir: Path) -> None:
    result = build_fixture_result()
    attached, left_out = collect_attachments(out_dir)
    first = build_message(result, SENDER, RECIPIENTS, attached, left_out)
    second = build_message(result, SENDER, RECIPIENTS, attached, left_out)
    assert first.as_bytes() == second.as_bytes()
    assert "Date" not in first
    assert first["Subject"] == default_subject(result)
    assert first.get_content_type() == "multipart/mixed"
    bare = build_message(result, SENDER, RECIPIENTS[:1])
    assert bare.get_content_type() == "multipart/alternative"
    text = bare.get_body(preferencelist=("plain",))
    assert text is not None and "No report files are attached." in text.get_content()
    with pytest.raises(InputError, match="no recipient"):
        build_message(result, SENDER, ())
    settings = SmtpSettings("127.0.0.1", 25, SENDER, Security.NONE)
    assert settings.address == "127.0.0.1:25"


def test_email_docs_name_only_real_options_and_settings() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "email.md").read_text("utf-8")
    command = typer.main.get_command(_app())
    options = {o for p in command.params for o in p.opts if o.startswith("--")}
    options |= {"--help", "--out"}  # --out is `azaudit scan`'s, named where DIR comes from
    named = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", docs))
    assert named and sorted(named - options) == []
    variables = set(re.findall(r"AZAUDIT_SMTP_[A-Z_]+", docs))
    known = {f"AZAUDIT_SMTP_{key.upper()}" for key in KEYS} | {"AZAUDIT_SMTP_PASSWORD"}
    assert variables == known
