"""`azaudit history list` and `azaudit diff`: parse the options, call azaudit.history, print.

Mounted by the main command line (azaudit/cli.py) as the `history` group and the `diff` command.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from azaudit.errors import InputError
from azaudit.history import DEFAULT_LOCATION, RunFindings, diff_runs
from azaudit.history.format import diff_json, diff_text, runs_json, runs_text
from azaudit.history.results_file import load_results

if TYPE_CHECKING:
    from azaudit.history.store import HistoryStore

RUN_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{8}$")
"""Run ids as `azaudit history list` prints them."""


class ListFormat(enum.StrEnum):
    """Output of `history list` and `diff`."""

    TEXT = "text"
    JSON = "json"


history_app = typer.Typer(
    help="Recorded scan runs (docs/history.md).", no_args_is_help=True, rich_markup_mode=None
)

HistoryOption = Annotated[
    str,
    typer.Option(
        "--history",
        metavar="PATH|URL",
        envvar="AZAUDIT_HISTORY",
        help="History database: a SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB.",
    ),
]
FormatOption = Annotated[
    ListFormat, typer.Option("--format", "-f", help="text for people, json for pipelines.")
]


@history_app.command("list")
def history_list(
    history: HistoryOption = DEFAULT_LOCATION,
    tenant: Annotated[
        str | None, typer.Option("--tenant", metavar="ID", help="Only runs of this tenant.")
    ] = None,
    limit: Annotated[
        int, typer.Option("--limit", min=1, metavar="N", help="Show at most N runs.")
    ] = 30,
    output: FormatOption = ListFormat.TEXT,
) -> None:
    """List recorded runs, newest first: run id, time, posture, failing findings, tenant."""
    from azaudit.history.store import open_store  # SQLAlchemy: loaded by the commands using it

    with open_store(history, create=False) as store:
        runs = store.runs(tenant_id=tenant, limit=limit)
        location = store.location
    typer.echo(runs_json(runs) if output is ListFormat.JSON else runs_text(runs, location))


def diff(
    old: Annotated[str, typer.Argument(metavar="OLD", help="Run id or results.json file.")],
    new: Annotated[str, typer.Argument(metavar="NEW", help="Run id or results.json file.")],
    history: HistoryOption = DEFAULT_LOCATION,
    output: FormatOption = ListFormat.TEXT,
) -> None:
    """Show findings new, resolved and still open from OLD to NEW (exit 0 either way).

    OLD and NEW are run ids from 'azaudit history list' or results.json files, in any mix.
    """
    from azaudit.history.store import open_store  # SQLAlchemy: loaded by the commands using it

    store: HistoryStore | None = None
    try:
        sides: list[RunFindings] = []
        for ref in (old, new):
            if RUN_ID.match(ref) and not Path(ref).exists():
                if store is None:
                    store = open_store(history, create=False)
                sides.append(store.load_run(ref))
            else:
                sides.append(load_results(Path(ref)))
    finally:
        if store is not None:
            store.close()
    before, after = sides
    if before.ref.tenant_id.lower() != after.ref.tenant_id.lower():
        raise InputError(
            f"diff: OLD and NEW are scans of different tenants "
            f"({before.ref.tenant_id}, {after.ref.tenant_id})"
        )
    changes = diff_runs(before, after)
    typer.echo(diff_json(changes) if output is ListFormat.JSON else diff_text(changes))
