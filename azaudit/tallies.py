"""Findings counted once by everything the summary slices them by.

The summary shows counts, failing-by-severity and the weighted posture for the whole scan, for
each check, family, safeguard, citation, subscription and for the PHI scope and the rest. Each
of those is a sum over a few thousand cells (check x status x effective severity x PHI x
subscription), so the findings are counted into these cells in one pass and every figure is
summed from the cells, instead of walking every finding once per slice.

The cells keep the order in which their first finding appears, so a posture summed from the
cells weighs the checks in the same order as one computed finding by finding (`risk.py`).
"""

from __future__ import annotations

import operator
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from azaudit.models import CheckMeta, Finding, Severity, Status
from azaudit.risk import FINDING_WEIGHT, posture_of_tallies

TENANT_WIDE = ""
"""Scope of findings outside every scanned subscription (tenant settings, Entra ID)."""

_EVALUATED = frozenset({Status.PASS, Status.FAIL, Status.ERROR})

_CELL_OF = operator.attrgetter("check_id", "status", "severity", "phi", "subscription_id")


class Cell(NamedTuple):
    """One combination of the attributes the summary slices findings by."""

    check_id: str
    status: Status
    severity: Severity | None
    """Effective severity (the check's own when the finding carries none; None for a finding
    of a check the catalogue does not list)."""
    phi: bool
    scope: str
    """Subscription id in lower case, or `TENANT_WIDE`."""


Cells = Sequence[tuple[Cell, int]]
"""Cells with their finding counts, in the order their first finding appears."""


class Tallies:
    """Finding counts per `Cell` for one ordered sequence of findings."""

    def __init__(
        self,
        findings: Iterable[Finding],
        metas: Mapping[str, CheckMeta],
        subscriptions: Iterable[str],
    ) -> None:
        known = {s.lower() for s in subscriptions}
        merged: dict[Cell, int] = {}
        # Counting attribute tuples runs in C; the few distinct tuples are then normalised.
        for (check_id, status, severity, phi, sub), count in Counter(
            map(_CELL_OF, findings)
        ).items():
            if severity is None:
                meta = metas.get(check_id)
                severity = meta.severity if meta is not None else None
            owner = (sub or "").lower()
            cell = Cell(
                check_id, status, severity, phi is not False, owner if owner in known else ""
            )
            merged[cell] = merged.get(cell, 0) + count
        self.cells: Cells = list(merged.items())
        self.by_check: dict[str, list[tuple[Cell, int]]] = defaultdict(list)
        self.by_scope: dict[str, list[tuple[Cell, int]]] = {key: [] for key in known}
        self.by_scope[TENANT_WIDE] = []
        for cell, count in self.cells:
            self.by_check[cell.check_id].append((cell, count))
            self.by_scope[cell.scope].append((cell, count))

    def of_checks(self, check_ids: Iterable[str]) -> Cells:
        """The cells of these checks, check by check in the order given."""
        return [entry for check_id in check_ids for entry in self.by_check.get(check_id, ())]


def status_counts(cells: Cells) -> dict[str, int]:
    """Findings per status (every status, zero included), keyed by the status value."""
    counter: Counter[Status] = Counter()
    for cell, count in cells:
        counter[cell.status] += count
    return {s.value: counter.get(s, 0) for s in Status}


def failing_by_severity(cells: Cells) -> dict[str, int]:
    """FAIL findings per effective severity (every severity, zero included)."""
    counter: Counter[Severity | None] = Counter()
    for cell, count in cells:
        if cell.status is Status.FAIL:
            counter[cell.severity] += count
    return {s.value: counter.get(s, 0) for s in Severity}


def weighted_posture(
    cells: Cells, metas: Mapping[str, CheckMeta]
) -> tuple[float | None, dict[str, float]]:
    """`risk.weighted_posture` of the findings these cells count (checks in cell order)."""
    tallies: dict[str, list[int]] = {}
    for cell, count in cells:
        if cell.status not in _EVALUATED:
            continue
        severity = cell.severity if cell.severity is not None else metas[cell.check_id].severity
        weight = FINDING_WEIGHT[severity] * count
        tally = tallies.setdefault(cell.check_id, [0, 0])
        tally[1] += weight
        if cell.status is Status.PASS:
            tally[0] += weight
    return posture_of_tallies(tallies, metas)
