"""History: the demo scanned twice with a change in between, recorded in SQLite and in a real
PostgreSQL server, compared, listed and diffed from the command line."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine, inspect, text
from typer.testing import CliRunner

from azaudit.cli_history import diff, history_app
from azaudit.demo import build_demo_snapshot
from azaudit.engine import evaluate
from azaudit.errors import InputError
from azaudit.evaluators.base import ScanConfig
from azaudit.history import diff_runs, load_results, run_findings_of, run_id_for
from azaudit.history.store import HistoryStore, open_store
from azaudit.models import ScanResult, Status
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.render import OutputFormat, render
from azaudit.result import build_result
from azaudit.snapshot import Snapshot
from tests.catalogue_support import builtin_catalogue
from tests.pg_support import PostgresServer, postgres_server, postgres_url  # noqa: F401

CLINICAL = "/subscriptions/6e3b9f02-5d71-4a8c-9c14-0b7e2a6d8c52/resourcegroups"
FIXED_VAULT = (
    f"kv_purge_protection|{CLINICAL}/rg-clinical-ehr-eus/providers/microsoft.keyvault/"
    "vaults/kv-nw-ehr-legacy|"
)
BROKEN_STORAGE = (
    f"eit_storage_https_only|{CLINICAL}/rg-clinical-data-eus/providers/microsoft.storage/"
    "storageaccounts/stnwehrexports|"
)
FIRST_NIGHT = "2026-12-01T02:00:00Z"
SECOND_NIGHT = "2026-12-02T02:00:00Z"


def scan(snapshot: Snapshot, generated_at: str) -> ScanResult:
    """Evaluate a snapshot with the whole catalogue, as `azaudit scan` does."""
    catalogue = builtin_catalogue()
    config = ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=snapshot.collected_time,
    )
    findings = evaluate(snapshot, catalogue.checks, config)
    return build_result(snapshot, catalogue, findings, config, generated_at)


def _night_two(resource: Mapping[str, Any]) -> Mapping[str, Any]:
    """Overnight, the EHR vault got purge protection and the export account lost HTTPS-only."""
    changes = {
        "kv-nw-ehr-legacy": ("enablePurgeProtection", True),
        "stnwehrexports": ("supportsHttpsTrafficOnly", False),
    }
    if resource["name"] not in changes:
        return resource
    changed = copy.deepcopy(dict(resource))
    key, value = changes[resource["name"]]
    changed["properties"][key] = value
    return changed


@pytest.fixture(scope="module")
def nights() -> tuple[ScanResult, ScanResult]:
    """The demo tenant scanned on two nights with one fix and one regression in between."""
    snapshot = build_demo_snapshot()
    second = dataclasses.replace(snapshot, resources=tuple(map(_night_two, snapshot.resources)))
    return scan(snapshot, FIRST_NIGHT), scan(second, SECOND_NIGHT)


def open_identities(result: ScanResult) -> set[str]:
    return {f.identity for f in result.findings if f.status in (Status.FAIL, Status.ERROR)}


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh history location: a SQLite file, or a database on the real PostgreSQL server."""
    if request.param == "sqlite":
        return str(tmp_path / "history" / "azaudit-history.db")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(location: str) -> Iterator[HistoryStore]:
    with open_store(location) as opened:
        yield opened


def cli() -> typer.Typer:
    """The history commands mounted as the main command line mounts them."""
    app = typer.Typer()
    app.add_typer(history_app, name="history")
    app.command("diff")(diff)
    return app


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli(), list(args))


# -- the demo, two nights ------------------------------------------------------------------


def test_demo_second_night_shows_exactly_the_fix_and_the_regression(
    store: HistoryStore, nights: tuple[ScanResult, ScanResult]
) -> None:
    first, second = nights
    assert store.compare(first).previous_run_id is None
    first_id = store.record(first)

    info = store.compare(second)

    assert info.previous_run_id == first_id
    assert info.previous_generated_at == FIRST_NIGHT
    assert [c.identity for c in info.new] == [BROKEN_STORAGE]
    assert [c.identity for c in info.resolved] == [FIXED_VAULT]
    assert info.new[0].resource_name == "stnwehrexports"
    assert info.resolved[0].check_id == "kv_purge_protection"
    assert info.still_open == len(open_identities(first) & open_identities(second))
    assert [p.run_id for p in info.trend] == [first_id, run_id_for(second)]
    assert info.trend[-1].failing == sum(f.status is Status.FAIL for f in second.findings)


def test_cli_diff_of_recorded_runs(
    location: str, store: HistoryStore, nights: tuple[ScanResult, ScanResult]
) -> None:
    first, second = nights
    old, new = store.record(first), store.record(second)

    text = invoke("diff", old, new, "--history", location)
    assert text.exit_code == 0, text.output
    assert "1 new, 1 resolved" in text.output
    new_section = text.output.split("New (1)")[1].split("Resolved (1)")[0]
    assert "stnwehrexports" in new_section
    assert "kv-nw-ehr-legacy" in text.output.split("Resolved (1)")[1].split("Still open")[0]

    machine = invoke("diff", old, new, "--history", location, "--format", "json")
    assert machine.exit_code == 0, machine.output
    document = json.loads(machine.output)
    assert [f["identity"] for f in document["new_findings"]] == [BROKEN_STORAGE]
    assert [f["identity"] for f in document["resolved"]] == [FIXED_VAULT]
    assert {f["identity"] for f in document["still_open"]} == (
        open_identities(first) & open_identities(second)
    )
    assert document["old"]["run_id"] == old and document["new"]["run_id"] == new


def test_history_list_newest_first(
    location: str, store: HistoryStore, nights: tuple[ScanResult, ScanResult]
) -> None:
    first, second = nights
    old, new = store.record(first), store.record(second)

    listed = invoke("history", "list", "--history", location)
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[1].startswith(new) and lines[2].startswith(old)
    assert "Northwind Regional Health" in lines[1]
    assert str(sum(f.status is Status.FAIL for f in second.findings)) in lines[1].split()

    document = json.loads(invoke("history", "list", "--history", location, "-f", "json").output)
    assert [r["run_id"] for r in document["runs"]] == [new, old]
    assert document["runs"][0]["posture"] == second.summary["posture"]
    assert [r.run_id for r in store.runs(limit=1)] == [new]


def test_recording_a_result_twice_keeps_one_run(
    store: HistoryStore, nights: tuple[ScanResult, ScanResult]
) -> None:
    first, _ = nights
    assert store.record(first) == store.record(first)
    assert len(store.runs()) == 1
    # After recording, a result is still compared with the run before it, not with itself.
    assert store.compare(first).previous_run_id is None


def test_trend_holds_the_last_runs_oldest_first(
    store: HistoryStore, nights: tuple[ScanResult, ScanResult]
) -> None:
    first, _ = nights
    recorded = [
        store.record(dataclasses.replace(first, generated_at=f"2026-12-0{day}T02:00:00Z"))
        for day in range(1, 6)
    ]
    latest = dataclasses.replace(first, generated_at="2026-12-06T02:00:00Z")

    info = store.compare(latest, trend_runs=3)

    assert [p.run_id for p in info.trend] == [*recorded[-2:], run_id_for(latest)]
    assert info.previous_run_id == recorded[-1]
    assert info.new == () and info.resolved == ()


# -- results.json files --------------------------------------------------------------------


def write_results(path: Path, result: ScanResult) -> Path:
    path.write_bytes(render(OutputFormat.JSON, result))
    return path


def test_diff_of_results_files_matches_the_store(
    tmp_path: Path, nights: tuple[ScanResult, ScanResult]
) -> None:
    first, second = nights
    old = write_results(tmp_path / "old.json", first)
    new = write_results(tmp_path / "new.json", second)

    from_files = diff_runs(load_results(old), load_results(new))
    in_memory = diff_runs(run_findings_of(first), run_findings_of(second))

    assert [e.identity for e in from_files.new_findings] == [BROKEN_STORAGE]
    assert [e.identity for e in from_files.resolved] == [FIXED_VAULT]
    assert from_files.still_open == in_memory.still_open
    assert from_files.new.failing == sum(f.status is Status.FAIL for f in second.findings)
    output = invoke("diff", str(old), str(new), "--format", "json")
    assert output.exit_code == 0, output.output
    assert json.loads(output.output)["counts"] == {
        "new": 1,
        "resolved": 1,
        "still_open": len(in_memory.still_open),
        "not_rechecked": 0,
    }


def test_diff_mixes_a_run_id_and_a_results_file(
    tmp_path: Path, nights: tuple[ScanResult, ScanResult]
) -> None:
    first, second = nights
    location = str(tmp_path / "h.db")
    with open_store(location) as opened:
        old = opened.record(first)
    new = write_results(tmp_path / "results.json", second)

    output = invoke("diff", old, str(new), "--history", location, "-f", "json")

    assert output.exit_code == 0, output.output
    document = json.loads(output.output)
    assert [f["identity"] for f in document["new_findings"]] == [BROKEN_STORAGE]
    assert [f["identity"] for f in document["resolved"]] == [FIXED_VAULT]


def test_a_finding_whose_check_did_not_run_is_not_resolved(
    nights: tuple[ScanResult, ScanResult],
) -> None:
    first, second = nights
    narrowed = dataclasses.replace(
        second,
        checks=tuple(c for c in second.checks if c.id != "kv_purge_protection"),
        findings=tuple(f for f in second.findings if f.check_id != "kv_purge_protection"),
    )

    changes = diff_runs(run_findings_of(first), run_findings_of(narrowed))

    assert FIXED_VAULT not in {e.identity for e in changes.resolved}
    assert {e.check_id for e in changes.not_rechecked} == {"kv_purge_protection"}
    assert [e.identity for e in changes.new_findings] == [BROKEN_STORAGE]


def test_a_duplicated_identity_keeps_its_worst_status(
    nights: tuple[ScanResult, ScanResult],
) -> None:
    first, _ = nights
    failing = next(f for f in first.findings if f.identity == FIXED_VAULT)
    passing_twin = failing._replace(status=Status.PASS)
    result = dataclasses.replace(first, findings=(passing_twin, *first.findings))

    assert run_findings_of(result).open[FIXED_VAULT].status is Status.FAIL


def test_results_file_errors_name_the_file_and_field(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"schema": "https://example.com/other"}', encoding="utf-8")
    broken = tmp_path / "broken.json"
    broken.write_text(
        json.dumps(
            {
                "schema": "https://azaudit.dev/schemas/results/1",
                "scan": {"generated_at": FIRST_NIGHT, "tenant": {"id": "t"}},
                "checks": [],
                "findings": [{"check_id": "x", "status": "FAIL"}],
            }
        ),
        encoding="utf-8",
    )
    cases = {
        garbage: "garbage.json: not a JSON document",
        foreign: "foreign.json: not an azaudit results.json file",
        broken: "broken.json: findings[0].resource_id: expected a non-empty string",
        tmp_path / "missing.json": "missing.json: cannot read it",
    }
    for path, message in cases.items():
        with pytest.raises(InputError, match=re.escape(message)) as raised:
            load_results(path)
        assert "\n" not in str(raised.value)


def test_diff_refuses_scans_of_different_tenants(
    tmp_path: Path, nights: tuple[ScanResult, ScanResult]
) -> None:
    first, second = nights
    other = dataclasses.replace(second, tenant_id="00000000-0000-4000-8000-000000000000")
    old = write_results(tmp_path / "a.json", first)
    new = write_results(tmp_path / "b.json", other)

    outcome = invoke("diff", str(old), str(new))

    assert isinstance(outcome.exception, InputError)
    assert "different tenants" in str(outcome.exception)


def test_unknown_run_id_is_one_line(tmp_path: Path, nights: tuple[ScanResult, ScanResult]) -> None:
    location = str(tmp_path / "h.db")
    with open_store(location) as opened:
        known = opened.record(nights[0])

    outcome = invoke("diff", known, "20991231T000000Z-00000000", "--history", location)

    assert isinstance(outcome.exception, InputError)
    assert "no recorded run '20991231T000000Z-00000000'" in str(outcome.exception)


# -- locations and errors ------------------------------------------------------------------


def test_bad_locations_are_one_line(tmp_path: Path) -> None:
    directory = tmp_path / "dir"
    directory.mkdir()
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("hello " * 200, encoding="utf-8")
    cases: dict[str, str] = {
        str(directory): "is a directory",
        str(not_a_database): "file is not a database",
        "mysql://user:pw@db/x": "unsupported database 'mysql'",
        "sqlite://": "names no database file",
        "  ": "empty location",
    }
    for location, message in cases.items():
        with pytest.raises(InputError, match=message) as raised:
            open_store(location)
        assert "\n" not in str(raised.value)
    with pytest.raises(InputError, match="no history database there"):
        open_store(str(tmp_path / "absent.db"), create=False)
    assert not (tmp_path / "absent.db").exists()


def test_unreachable_server_hides_the_password() -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(InputError) as raised:
        open_store(f"postgresql://scanner:Sup3rSecret@127.0.0.1:{port}/history")

    message = str(raised.value)
    assert "Sup3rSecret" not in message and "\n" not in message
    assert f"postgresql://scanner:***@127.0.0.1:{port}/history" in message


def test_wrong_password_on_a_real_server_is_one_line(
    postgres_server: PostgresServer,  # noqa: F811
) -> None:
    location = postgres_server.url("postgres", password="not-the-password")

    outcome = invoke("history", "list", "--history", location)

    assert isinstance(outcome.exception, InputError)
    message = str(outcome.exception)
    assert "not-the-password" not in message and "\n" not in message
    assert "password authentication failed" in message


def test_empty_database_holds_no_history(postgres_url: str) -> None:  # noqa: F811
    outcome = invoke("history", "list", "--history", postgres_url)

    assert isinstance(outcome.exception, InputError)
    assert "holds no azaudit history" in str(outcome.exception)


def test_history_list_of_an_empty_store(location: str) -> None:
    open_store(location).close()

    outcome = invoke("history", "list", "--history", location)

    assert outcome.exit_code == 0, outcome.output
    assert outcome.output.startswith("No runs recorded in ")


# -- reads are bounded by the runs concerned -----------------------------------------------


def test_compare_and_diff_read_by_index_only(
    tmp_path: Path, nights: tuple[ScanResult, ScanResult]
) -> None:
    """No statement behind compare() or a run's findings scans a whole table."""
    from sqlalchemy import Engine, event

    first, second = nights
    location = tmp_path / "h.db"
    statements: list[tuple[str, Any]] = []

    def capture(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _ctx: Any, _many: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with open_store(str(location)) as opened:
        opened.record(first)
        event.listen(Engine, "before_cursor_execute", capture)
        try:
            opened.compare(second)
            opened.load_run(run_id_for(first))
        finally:
            event.remove(Engine, "before_cursor_execute", capture)

    assert statements
    engine = create_engine(f"sqlite:///{location}")
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            scans = [row[-1] for row in plan if str(row[-1]).startswith("SCAN")]
            assert scans == [], f"{statement}: {scans}"
    engine.dispose()


# -- schema versions -----------------------------------------------------------------------


def _columns(url: str) -> dict[str, list[str]]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        inspector = inspect(engine)
        return {
            table: sorted(c["name"] for c in inspector.get_columns(table))
            for table in sorted(inspector.get_table_names())
        }
    finally:
        engine.dispose()


def _sqlalchemy_url(location: str) -> str:
    return location if "://" in location else f"sqlite:///{location}"


def _make_version_1(location: str, tenant_id: str, fail_identity: str) -> None:
    """A database as azaudit's first schema version left it, with one recorded run."""
    from azaudit.history import schema

    engine = create_engine(
        _sqlalchemy_url(location).replace("postgresql://", "postgresql+psycopg://")
    )
    with engine.begin() as conn:
        schema.upgrade(conn, target=1)
        conn.execute(
            text(
                "INSERT INTO runs (run_id, tenant_id, generated_at, collected_at, recorded_at, "
                "tool_version, catalogue_version, posture, findings_total, pass_count, "
                "fail_count, error_count, manual_count, not_applicable_count, waived_count) "
                "VALUES ('20261130T020000Z-0000000a', :tenant, '2026-11-30T02:00:00Z', "
                "'2026-11-30T01:55:00Z', '2026-11-30T02:01:00Z', '0.1.0', NULL, 50.0, 2, 1, 1, "
                "0, 0, 0, 0)"
            ),
            {"tenant": tenant_id},
        )
        check_id, resource_id, _ = fail_identity.split("|")
        conn.execute(
            text("INSERT INTO run_checks (run_seq, check_id) SELECT seq, :check FROM runs"),
            {"check": check_id},
        )
        conn.execute(
            text(
                "INSERT INTO finding_keys (tenant_id, identity, check_id, resource_id, "
                "resource_name, subscription_id, sub_item) "
                "VALUES (:tenant, :identity, :check, :resource, 'legacy', NULL, '')"
            ),
            {
                "tenant": tenant_id,
                "identity": fail_identity,
                "check": check_id,
                "resource": resource_id,
            },
        )
        conn.execute(
            text(
                "INSERT INTO run_findings (run_seq, key_id, status, severity) "
                "SELECT runs.seq, finding_keys.id, 'FAIL', 'high' FROM runs, finding_keys"
            )
        )
    engine.dispose()


def test_a_version_1_database_upgrades(
    location: str, tmp_path: Path, nights: tuple[ScanResult, ScanResult]
) -> None:
    from azaudit.history import schema

    first, _ = nights
    if "://" not in location:
        Path(location).parent.mkdir(parents=True, exist_ok=True)
    _make_version_1(location, first.tenant_id, FIXED_VAULT)

    with open_store(location) as upgraded:
        old = upgraded.load_run("20261130T020000Z-0000000a")
        info = upgraded.compare(first)
        upgraded.record(first)
        runs = upgraded.runs()

    assert list(old.open) == [FIXED_VAULT]
    assert old.ref.tenant_name == first.tenant_id  # version 1 kept no display name
    assert info.previous_run_id == "20261130T020000Z-0000000a"
    assert FIXED_VAULT not in {c.identity for c in info.new}  # still open, not new
    assert [r.tenant_name for r in runs] == [first.tenant_name, first.tenant_id]

    fresh = str(tmp_path / "fresh.db")
    open_store(fresh).close()
    assert _columns(_sqlalchemy_url(location)) == _columns(_sqlalchemy_url(fresh))
    engine = create_engine(
        _sqlalchemy_url(location).replace("postgresql://", "postgresql+psycopg://")
    )
    with engine.connect() as conn:
        assert schema.current_version(conn) == schema.SCHEMA_VERSION == 2
    engine.dispose()


def test_a_database_of_a_newer_azaudit_is_refused(tmp_path: Path) -> None:
    location = tmp_path / "h.db"
    open_store(str(location)).close()
    engine = create_engine(f"sqlite:///{location}")
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE schema_version SET version = 99")
    engine.dispose()

    with pytest.raises(InputError, match="schema version 99, newer than this azaudit"):
        open_store(str(location))


def test_passwords_are_hidden_wherever_they_are_written() -> None:
    from azaudit.history.store import redact

    shown = redact(
        "postgresql://scanner:Pa55word@db.example:5432/h?password=Other1&sslmode=require"
    )

    assert "Pa55word" not in shown and "Other1" not in shown
    assert shown == ("postgresql://scanner:***@db.example:5432/h?password=***&sslmode=require")


def test_sqlite_url_and_plain_path_are_the_same_store(
    tmp_path: Path, nights: tuple[ScanResult, ScanResult]
) -> None:
    path = tmp_path / "h.db"
    with open_store(str(path)) as by_path:
        recorded = by_path.record(nights[0])
    with open_store(f"sqlite:///{path}", create=False) as by_url:
        assert [r.run_id for r in by_url.runs()] == [recorded]


def test_diff_of_run_ids_without_a_history_database(tmp_path: Path) -> None:
    outcome = invoke(
        "diff",
        "20261201T020000Z-00000000",
        "20261202T020000Z-00000000",
        "--history",
        str(tmp_path / "none.db"),
    )

    assert isinstance(outcome.exception, InputError)
    assert "no history database there" in str(outcome.exception)
    assert not (tmp_path / "none.db").exists()
