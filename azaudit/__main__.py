"""`python -m azaudit` runs the command line."""

from __future__ import annotations

from azaudit.cli import main

main()
