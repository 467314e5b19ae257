"""The history store: records scan runs and reads back the two runs a diff needs.

One SQLAlchemy Core layer serves SQLite (a file, the default) and PostgreSQL (for pipelines on
ephemeral agents). Every read is bounded by one or two runs or by the number of trend points,
never by how many runs are stored: the previous run and the trend come from the newest rows of
one index range, and a run's findings are one primary-key range (docs/history.md).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    Row,
    String,
    and_,
    create_engine,
    event,
    exists,
    insert,
    literal,
    select,
)
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from azaudit.errors import InputError
from azaudit.history import schema
from azaudit.history.diff import diff_runs, history_info
from azaudit.history.model import (
    OPEN_STATUSES,
    FindingEntry,
    RunFindings,
    RunRef,
    StoredRow,
    identities_of,
    run_findings_of,
    run_ref_of,
    stored_rows,
)
from azaudit.models import HistoryInfo, ScanResult, Severity, Status

_WRITE = "azaudit_write"
_OPEN_VALUES = tuple(s.value for s in OPEN_STATUSES)
_STATUS = {s.value: s for s in Status}
_SEVERITY = {s.value: s for s in Severity}
_COUNT_COLUMNS = {
    Status.PASS: "pass_count",
    Status.FAIL: "fail_count",
    Status.ERROR: "error_count",
    Status.MANUAL: "manual_count",
    Status.NOT_APPLICABLE: "not_applicable_count",
    Status.WAIVED: "waived_count",
}
_EXPECTED = "expected a file path, sqlite:///PATH or postgresql://USER@HOST/DATABASE"


def redact(location: str) -> str:
    """`location` with any password replaced by `***`, fit for a message or a log."""
    hidden = re.sub(r"(://[^/@]*?:)[^/@]*@", r"\1***@", location)
    return re.sub(r"(?i)(password=)[^&\s]*", r"\1***", hidden)


def open_store(location: str, *, create: bool = True, label: str = "--history") -> HistoryStore:
    """Open (and create or upgrade, when `create`) the history at `location`.

    Args:
        location: a file path (SQLite), `sqlite:///PATH`, or `postgresql://USER@HOST/DB`.
        create: create a missing SQLite file and the tables; False for commands that only read.
        label: the option or setting the location came from, named in error messages.

    Raises:
        InputError: one line naming the location (password hidden) and what is wrong.
    """
    shown = redact(location)
    url = _url(location, shown, label)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        path = Path(url.database)
        if path.is_dir():
            raise InputError(f"{label} {shown}: is a directory, expected a database file")
        if not path.exists():
            if not create:
                raise InputError(f"{label} {shown}: no history database there")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"{label} {shown}: cannot create it: {exc.strerror}") from None
    try:
        engine = _engine(url)
    except (NoSuchModuleError, ImportError):
        raise InputError(
            f"{label} {shown}: PostgreSQL support needs psycopg (pip install 'azaudit[postgresql]')"
        ) from None
    store = HistoryStore(engine, shown, label)
    try:
        store.prepare(create)
    except BaseException:
        engine.dispose()
        raise
    return store


def _url(location: str, shown: str, label: str) -> URL:
    raw = location.strip()
    if not raw:
        raise InputError(f"{label}: empty location; {_EXPECTED}")
    if "://" not in raw:
        return URL.create("sqlite", database=str(Path(raw).expanduser()))
    try:
        url = make_url(raw)
    except (ArgumentError, ValueError):
        raise InputError(f"{label} {shown}: not a database URL; {_EXPECTED}") from None
    backend = url.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return url.set(drivername="postgresql+psycopg")
    if backend == "sqlite":
        if not url.database:
            raise InputError(f"{label} {shown}: names no database file; {_EXPECTED}")
        return url.set(drivername="sqlite")
    raise InputError(f"{label} {shown}: unsupported database {backend!r}; {_EXPECTED}")


def _engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        # An unreachable server must end the run within seconds, not hang the pipeline.
        return create_engine(url, connect_args={"connect_timeout": 10})
    engine = create_engine(url, connect_args={"timeout": 30})

    # pysqlite opens transactions lazily and never around DDL; let SQLAlchemy issue BEGIN so
    # that a migration step or a recorded run is all-or-nothing, and take the write lock up
    # front so that two writers queue instead of deadlocking
    # (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        # The staging table of a recorded run is scratch space: keep it off the disk.
        cursor.execute("PRAGMA temp_store = MEMORY")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


def _reason(exc: SQLAlchemyError) -> str:
    """The driver's first line, without SQLAlchemy's statement dump or background link."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return (text.splitlines() or ["database error"])[0]


def _store_findings(conn: Connection, seq: int, tenant_id: str, rows: list[StoredRow]) -> None:
    """Add a run's findings: stage them, add new identities, then insert the run's rows."""
    staging = schema.staging
    staging.create(conn)
    columns = [c.name for c in staging.columns]
    if conn.dialect.name == "postgresql":
        # COPY is PostgreSQL's bulk path: one stream instead of a round trip per row.
        raw: Any = conn.connection.dbapi_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {staging.name} ({', '.join(columns)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in columns)
        conn.exec_driver_sql(f"INSERT INTO {staging.name} VALUES ({marks})", rows)  # noqa: S608

    keys, rf = schema.finding_keys, schema.run_findings
    key_columns = ["identity", "check_id", "resource_id", "resource_name", "subscription_id"]
    first_seen = select(
        literal(tenant_id, String()).label("tenant_id"),
        *(staging.c[name] for name in key_columns),
        staging.c.sub_item,
    ).where(~exists().where(keys.c.tenant_id == tenant_id, keys.c.identity == staging.c.identity))
    add_keys = insert(keys).from_select(["tenant_id", *key_columns, "sub_item"], first_seen)
    if conn.dialect.name == "postgresql":
        # A concurrent run of the same tenant may add the same identity first.
        add_keys = (
            pg_dialect.insert(keys)
            .from_select(["tenant_id", *key_columns, "sub_item"], first_seen)
            .on_conflict_do_nothing(index_elements=["tenant_id", "identity"])
        )
    conn.execute(add_keys)
    conn.execute(
        insert(rf).from_select(
            ["run_seq", "key_id", "status", "severity", "phi", "waiver_id"],
            select(
                literal(seq, Integer()),
                keys.c.id,
                staging.c.status,
                staging.c.severity,
                staging.c.phi,
                staging.c.waiver_id,
            ).select_from(
                staging.join(
                    keys,
                    and_(keys.c.tenant_id == tenant_id, keys.c.identity == staging.c.identity),
                )
            ),
        )
    )
    staging.drop(conn)


class HistoryStore:
    """Recorded scan runs of one database (see `open_store`)."""

    def __init__(self, engine: Engine, location: str, label: str) -> None:
        self._engine = engine
        self.location = location
        """Where the store is, password hidden."""
        self._label = label

    # -- plumbing ------------------------------------------------------------------------

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections."""
        self._engine.dispose()

    @contextmanager
    def _connection(self, write: bool) -> Iterator[Connection]:
        try:
            with self._engine.connect() as conn:
                conn.execution_options(**{_WRITE: write})
                with conn.begin():
                    yield conn
        except SQLAlchemyError as exc:
            raise InputError(f"{self._label} {self.location}: {redact(_reason(exc))}") from None

    def prepare(self, create: bool) -> None:
        """Connect, and bring the tables to this version (creating them when `create`)."""
        with self._connection(write=create) as conn:
            if create:
                schema.upgrade(conn)
                return
            version = schema.current_version(conn)
            if version == 0:
                raise InputError(f"{self._label} {self.location}: holds no azaudit history")
            if version != schema.SCHEMA_VERSION:
                # A reader upgrades too: the layout is the tool's own, and old runs stay.
                schema.upgrade(conn)

    # -- writing ---------------------------------------------------------------------------

    def record(self, result: ScanResult, recorded_at: str | None = None) -> str:
        """Store `result` as a run and return its run id.

        Recording the same result again keeps the one run (the id is derived from it). The
        findings travel in one bulk load into a temporary table; two set-based statements then
        add identities seen for the first time and the run's rows, so the cost is that of the
        scan, whatever the number of stored runs.
        """
        identities = identities_of(result)
        rows = stored_rows(result, identities)
        ref = run_ref_of(result, identities)
        stamp = recorded_at or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._connection(write=True) as conn:
            known = select(schema.runs.c.seq).where(schema.runs.c.run_id == ref.run_id)
            if conn.execute(known).first() is not None:
                return ref.run_id
            seq = conn.execute(
                schema.runs.insert()
                .values(
                    run_id=ref.run_id,
                    tenant_id=ref.tenant_id,
                    tenant_name=ref.tenant_name,
                    generated_at=ref.generated_at,
                    collected_at=ref.collected_at,
                    recorded_at=stamp,
                    tool_version=ref.tool_version,
                    catalogue_version=ref.catalogue_version,
                    posture=ref.posture,
                    findings_total=sum(ref.counts.values()),
                    **{column: ref.counts[s.value] for s, column in _COUNT_COLUMNS.items()},
                )
                .returning(schema.runs.c.seq)
            ).scalar_one()
            check_ids = sorted({c.id for c in result.checks})
            if check_ids:
                conn.execute(
                    schema.run_checks.insert(),
                    [{"run_seq": seq, "check_id": c} for c in check_ids],
                )
            if rows:
                _store_findings(conn, seq, result.tenant_id, rows)
        return ref.run_id

    # -- reading ---------------------------------------------------------------------------

    def compare(self, result: ScanResult, trend_runs: int = 10) -> HistoryInfo:
        """`result` against the tenant's previous recorded run, and the last `trend_runs` runs.

        The previous run is the newest recorded run of the same tenant other than `result`
        itself (so the call gives the same answer before or after `record`). The trend ends
        with `result`.
        """
        if trend_runs < 1:
            raise ValueError("trend_runs must be at least 1")
        current = run_findings_of(result)
        with self._connection(write=False) as conn:
            rows = conn.execute(
                self._newest(current.ref.tenant_id)
                .where(schema.runs.c.run_id != current.ref.run_id)
                .limit(max(trend_runs - 1, 1))
            ).all()
            previous = self._run_findings(conn, rows[0]) if rows else None
        earlier = [_ref(row) for row in reversed(rows[: trend_runs - 1])]
        diff = diff_runs(previous, current) if previous is not None else None
        return history_info(diff, current.ref, earlier)

    def runs(self, tenant_id: str | None = None, limit: int | None = None) -> list[RunRef]:
        """Recorded runs, newest first (optionally of one tenant, at most `limit`)."""
        query = select(schema.runs).order_by(
            schema.runs.c.generated_at.desc(), schema.runs.c.seq.desc()
        )
        if tenant_id is not None:
            query = query.where(schema.runs.c.tenant_id == tenant_id)
        if limit is not None:
            query = query.limit(limit)
        with self._connection(write=False) as conn:
            return [_ref(row) for row in conn.execute(query)]

    def load_run(self, run_id: str) -> RunFindings:
        """One recorded run as a side of a diff.

        Raises:
            InputError: when no run has that id.
        """
        with self._connection(write=False) as conn:
            row = conn.execute(select(schema.runs).where(schema.runs.c.run_id == run_id)).first()
            if row is None:
                raise InputError(
                    f"{self._label} {self.location}: no recorded run {run_id!r} "
                    "(see 'azaudit history list')"
                )
            return self._run_findings(conn, row)

    @staticmethod
    def _newest(tenant_id: str) -> Any:
        return (
            select(schema.runs)
            .where(schema.runs.c.tenant_id == tenant_id)
            .order_by(schema.runs.c.generated_at.desc(), schema.runs.c.seq.desc())
        )

    @staticmethod
    def _run_findings(conn: Connection, row: Row[Any]) -> RunFindings:
        rf, keys = schema.run_findings, schema.finding_keys
        seq = row._mapping["seq"]
        found = conn.execute(
            select(
                keys.c.identity,
                keys.c.check_id,
                keys.c.resource_id,
                keys.c.resource_name,
                keys.c.subscription_id,
                keys.c.sub_item,
                rf.c.status,
                rf.c.severity,
                rf.c.phi,
                rf.c.waiver_id,
            )
            .select_from(rf.join(keys, keys.c.id == rf.c.key_id))
            .where(rf.c.run_seq == seq, rf.c.status.in_(_OPEN_VALUES))
        )
        open_entries = {
            r.identity: FindingEntry(
                identity=r.identity,
                check_id=r.check_id,
                resource_id=r.resource_id,
                resource_name=r.resource_name,
                subscription_id=r.subscription_id,
                sub_item=r.sub_item,
                status=_STATUS[r.status],
                severity=_SEVERITY[r.severity],
                phi=r.phi,
                waiver_id=r.waiver_id,
            )
            for r in found
        }
        checks = conn.execute(
            select(schema.run_checks.c.check_id).where(schema.run_checks.c.run_seq == seq)
        ).scalars()
        return RunFindings(ref=_ref(row), open=open_entries, checks=frozenset(checks))


def _ref(row: Row[Any]) -> RunRef:
    values = row._mapping
    return RunRef(
        run_id=values["run_id"],
        tenant_id=values["tenant_id"],
        tenant_name=values["tenant_name"] or values["tenant_id"],
        generated_at=values["generated_at"],
        collected_at=values["collected_at"],
        tool_version=values["tool_version"],
        catalogue_version=values["catalogue_version"],
        posture=values["posture"],
        counts={s.value: int(values[column]) for s, column in _COUNT_COLUMNS.items()},
    )
