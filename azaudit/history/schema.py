"""The history database: its tables (current version) and the ordered steps that build them.

`schema_version` holds one row with the version the database is at. Each step upgrades version
N-1 to N inside one transaction, so a database is always at a version the tool knows; a
database from a newer azaudit is refused rather than written with an older layout. Why this
over Alembic is explained in docs/history.md.

Version 1: runs, the checks each run ran, finding identities (once per tenant) and each run's
finding statuses. Version 2: the tenant's display name per run, and per finding whether it lay
in PHI scope and which waiver applied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.types import TypeEngine

from azaudit.errors import InputError

metadata = MetaData()

version_table = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("tenant_id", String(64), nullable=False),
    Column("generated_at", String(40), nullable=False),
    Column("collected_at", String(40), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("tool_version", String(64), nullable=False),
    Column("catalogue_version", String(64)),
    Column("posture", Float),
    Column("findings_total", Integer, nullable=False),
    Column("pass_count", Integer, nullable=False),
    Column("fail_count", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    Column("manual_count", Integer, nullable=False),
    Column("not_applicable_count", Integer, nullable=False),
    Column("waived_count", Integer, nullable=False),
    Column("tenant_name", Text),  # version 2
    # The previous run and the trend are the newest rows of one tenant: one index range.
    Index("ix_runs_tenant_time", "tenant_id", "generated_at", "seq"),
)

run_checks = Table(
    "run_checks",
    metadata,
    Column("run_seq", Integer, ForeignKey("runs.seq", ondelete="CASCADE"), primary_key=True),
    Column("check_id", String(128), primary_key=True),
)

finding_keys = Table(
    "finding_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("identity", Text, nullable=False),
    Column("check_id", String(128), nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("resource_name", Text, nullable=False),
    Column("subscription_id", String(64)),
    Column("sub_item", Text, nullable=False),
    UniqueConstraint("tenant_id", "identity", name="uq_finding_keys_identity"),
)

run_findings = Table(
    "run_findings",
    metadata,
    Column("run_seq", Integer, ForeignKey("runs.seq", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, ForeignKey("finding_keys.id"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("phi", Boolean),  # version 2
    Column("waiver_id", Text),  # version 2
    # A run's findings are one primary-key range; SQLite stores them clustered by it.
    sqlite_with_rowid=False,
)

staging = Table(
    "azaudit_staged_findings",
    MetaData(),
    Column("identity", Text, nullable=False),
    Column("check_id", String(128), nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("resource_name", Text, nullable=False),
    Column("subscription_id", String(64)),
    Column("sub_item", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("phi", Boolean),
    Column("waiver_id", Text),
    prefixes=["TEMPORARY"],
)
"""One run's findings on their way in (a temporary table, private to the connection and
dropped in the transaction that made it); not part of the schema."""

# Tables as version 1 created them, spelled out: a released step never changes.
_v1 = MetaData()
Table("schema_version", _v1, Column("version", Integer, nullable=False))
Table(
    "runs",
    _v1,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("tenant_id", String(64), nullable=False),
    Column("generated_at", String(40), nullable=False),
    Column("collected_at", String(40), nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("tool_version", String(64), nullable=False),
    Column("catalogue_version", String(64)),
    Column("posture", Float),
    Column("findings_total", Integer, nullable=False),
    Column("pass_count", Integer, nullable=False),
    Column("fail_count", Integer, nullable=False),
    Column("error_count", Integer, nullable=False),
    Column("manual_count", Integer, nullable=False),
    Column("not_applicable_count", Integer, nullable=False),
    Column("waived_count", Integer, nullable=False),
    Index("ix_runs_tenant_time", "tenant_id", "generated_at", "seq"),
)
Table(
    "run_checks",
    _v1,
    Column("run_seq", Integer, ForeignKey("runs.seq", ondelete="CASCADE"), primary_key=True),
    Column("check_id", String(128), primary_key=True),
)
Table(
    "finding_keys",
    _v1,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(64), nullable=False),
    Column("identity", Text, nullable=False),
    Column("check_id", String(128), nullable=False),
    Column("resource_id", Text, nullable=False),
    Column("resource_name", Text, nullable=False),
    Column("subscription_id", String(64)),
    Column("sub_item", Text, nullable=False),
    UniqueConstraint("tenant_id", "identity", name="uq_finding_keys_identity"),
)
Table(
    "run_findings",
    _v1,
    Column("run_seq", Integer, ForeignKey("runs.seq", ondelete="CASCADE"), primary_key=True),
    Column("key_id", Integer, ForeignKey("finding_keys.id"), primary_key=True),
    Column("status", String(16), nullable=False),
    Column("severity", String(16), nullable=False),
    sqlite_with_rowid=False,
)


def _step_1(conn: Connection) -> None:
    _v1.create_all(conn)


def _add_column(conn: Connection, table: str, column: str, type_: TypeEngine[Any]) -> None:
    compiled = type_.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {compiled}"))


def _step_2(conn: Connection) -> None:
    _add_column(conn, "runs", "tenant_name", Text())
    _add_column(conn, "run_findings", "phi", Boolean())
    _add_column(conn, "run_findings", "waiver_id", Text())


STEPS: tuple[Callable[[Connection], None], ...] = (_step_1, _step_2)
"""`STEPS[n - 1]` upgrades a database from version n - 1 to n."""

SCHEMA_VERSION = len(STEPS)
"""The version this azaudit reads and writes."""

_PG_LOCK = 0x617A61756469  # "azaudi": serialises concurrent upgrades of one PostgreSQL database


def current_version(conn: Connection) -> int:
    """The database's schema version; 0 for a database without azaudit tables."""
    if not conn.dialect.has_table(conn, "schema_version"):
        return 0
    version = conn.execute(select(version_table.c.version)).scalar()
    return int(version or 0)


def upgrade(conn: Connection, target: int = SCHEMA_VERSION) -> int:
    """Bring the database to `target` (default: this version) in the caller's transaction.

    Returns the version it was at. Raises InputError for a database of a newer azaudit.
    """
    if conn.dialect.name == "postgresql":
        # Two pipelines starting at once must not both create the tables.
        conn.execute(select(text(f"pg_advisory_xact_lock({_PG_LOCK})")))
    found = current_version(conn)
    if found > SCHEMA_VERSION:
        raise InputError(
            f"history database is at schema version {found}, newer than this azaudit "
            f"supports ({SCHEMA_VERSION}); upgrade azaudit"
        )
    for version in range(found + 1, target + 1):
        STEPS[version - 1](conn)
        if version == 1:
            conn.execute(version_table.insert().values(version=1))
        else:
            conn.execute(version_table.update().values(version=version))
    return found
