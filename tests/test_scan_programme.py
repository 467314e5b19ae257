"""`azaudit scan` as the nightly job runs it: history recorded and compared, the report mailed."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from azaudit.cli import app
from azaudit.history.store import open_store
from azaudit.models import ScanResult, Status
from azaudit.pipeline import DemoSource, ScanRequest, run_scan
from tests.test_cli import azaudit
from tests.test_email import (  # noqa: F401 - pytest fixtures
    RECIPIENTS,
    Server,
    _env,
    _free_port,
    ca_file,
    starttls_server,
)


def _scan(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    outcome = CliRunner().invoke(app, ["scan", "--demo", "--fail-on", "never", *args], env=env)
    return outcome.exit_code, outcome.output


def test_scan_records_history_and_the_second_run_is_compared_with_the_first(
    tmp_path: Path,
) -> None:
    location = str(tmp_path / "history.db")
    code, output = _scan(["--out", str(tmp_path / "one"), "--history", location])
    assert code == 0, output
    assert "recorded as run " in output
    with open_store(location, create=False) as store:
        first = store.runs()
    assert len(first) == 1

    # A run is identified by its report time (to the second) and its findings, so the same
    # demo scanned twice within one second is one run: the second scan starts a second later.
    generated = datetime.fromisoformat(first[0].generated_at.replace("Z", "+00:00"))
    while datetime.now(UTC) < generated + timedelta(seconds=1):
        time.sleep(0.05)
    code, output = _scan(["--out", str(tmp_path / "two"), "--history", location])
    assert code == 0, output
    with open_store(location, create=False) as store:
        runs = store.runs()
    assert len(runs) == 2 and runs[1].run_id == first[0].run_id  # newest first


def test_the_result_carries_the_comparison_with_the_previous_run(tmp_path: Path) -> None:
    location = str(tmp_path / "history.db")

    def scan(hour: int) -> ScanResult:
        request = ScanRequest(DemoSource(), out=tmp_path / str(hour), history=location)
        clock = datetime(2026, 12, 1, hour, tzinfo=UTC)
        return run_scan(request, clock=lambda: clock).result

    first = scan(1)
    assert first.history is not None and first.history.previous_run_id is None
    second = scan(2)
    assert second.history is not None
    assert second.history.previous_generated_at == first.generated_at
    assert second.history.new == () and second.history.resolved == ()
    assert (
        second.history.still_open
        == sum(1 for f in second.findings if f.status in (Status.FAIL, Status.ERROR))
        or second.history.still_open > 0
    )
    assert [p.generated_at for p in second.history.trend] == [
        first.generated_at,
        second.generated_at,
    ]


def test_a_bad_history_location_stops_the_scan_before_any_work(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = azaudit("scan", "--demo", "--out", str(out), "--history", "mysql://nobody@127.0.0.1/x")
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--history" in proc.stderr
    assert not out.exists()


def test_scan_mails_the_reports_after_writing_them(starttls_server: Server, tmp_path: Path) -> None:  # noqa: F811
    out = tmp_path / "out"
    env = _env(starttls_server)
    code, output = _scan(["--out", str(out), "--email-to", RECIPIENTS[0]], env)
    assert code == 0, output
    assert (out / "report.html").is_file() and (out / "results.json").is_file()
    assert starttls_server.mailbox.envelopes[0].rcpt_tos == [RECIPIENTS[0]]
    message = starttls_server.mailbox.only_message()
    names = {part.get_filename() for part in message.iter_attachments()}
    assert {"report.html", "results.json"} <= names
    assert "Northwind" in str(message["Subject"])
    assert f"azaudit: mailed to {RECIPIENTS[0]} via 127.0.0.1" in output


def test_an_unreachable_mail_server_is_one_line_and_the_reports_stay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setenv("AZAUDIT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("AZAUDIT_SMTP_PORT", str(_free_port()))
    monkeypatch.setenv("AZAUDIT_SMTP_FROM", "azaudit@example.org")
    monkeypatch.setenv("AZAUDIT_SMTP_STARTTLS", "false")
    proc = azaudit("scan", "--demo", "--out", str(out), "--email-to", "ciso@example.org")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("azaudit: error:")
    assert (out / "report.html").is_file() and (out / "results.json").is_file()
