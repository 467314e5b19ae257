"""How a report is rendered (paper size, rows per check): options, not data of the result."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Paper(enum.StrEnum):
    """Paper the printed report and the PDF are laid out for."""

    LETTER = "letter"
    A4 = "a4"

    @property
    def css_size(self) -> str:
        """The CSS `@page { size }` value."""
        return {Paper.LETTER: "letter", Paper.A4: "A4"}[self]

    @property
    def pdf_format(self) -> str:
        """The page format name Chromium's PDF printer takes."""
        return {Paper.LETTER: "Letter", Paper.A4: "A4"}[self]


MAX_ROWS_PER_CHECK = 50
"""Default number of open findings listed per check in the report; the rest are counted, and
every finding is in results.json."""


@dataclass(frozen=True, slots=True)
class RenderOptions:
    """Presentation choices for the HTML and PDF report (`--paper`, row cap).

    Attributes:
        paper: US Letter (default, the US healthcare standard) or A4.
        max_rows_per_check: open findings listed per check (and per section) before the rest
            are only counted; at least 1.
        page_chrome: print the running header and page numbers from the stylesheet. The PDF
            renderer turns it off because Chromium's own header and footer take that place.
    """

    paper: Paper = Paper.LETTER
    max_rows_per_check: int = MAX_ROWS_PER_CHECK
    page_chrome: bool = True

    def __post_init__(self) -> None:
        if self.max_rows_per_check < 1:
            raise ValueError("max_rows_per_check must be at least 1")
