"""Command-line options that several commands share (`scan`, `web-scan`): declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from azaudit.render import OutputFormat
from azaudit.result import FailOn

FormatsOption = Annotated[
    list[OutputFormat] | None,
    typer.Option(
        "--format",
        "-f",
        metavar="|".join(f.value for f in OutputFormat),
        help="Report format (repeatable; default html and json).",
    ),
]

FailOnOption = Annotated[
    FailOn,
    typer.Option("--fail-on", help="Exit 1 on failing findings at or above this severity."),
]
