"""Attestations: the organisation's signed word for controls no Azure API can show.

Checks such as the risk analysis or the BAA with every vendor are MANUAL: nothing in Azure proves
them. An attestation file records who vouched for each, when, where the evidence is and until
when it holds. Applied after evaluation (a pure step: findings in, findings out), a current
attestation turns the check's MANUAL finding into PASS and an expired one into FAIL, with the
attestation as the finding's evidence. Nothing else changes: an attestation never touches a PASS,
FAIL or ERROR that Azure data decided.

File format (YAML)::

    attestations:
      - check_id: adm_risk_analysis
        attested_by: Dana Whitfield, Security Officer
        attested_on: 2026-09-14
        evidence: https://contoso.sharepoint.com/sites/compliance/risk-analysis-2026.pdf
        expires: 2027-09-14
        resource_id: /tenants/<tenant-id>      # optional: only this finding of the check
        note: Annual risk analysis, approved by the board.   # optional

`expires` is the last day the attestation holds (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from azaudit.errors import InputError
from azaudit.models import JSON, Finding, Status
from azaudit.yaml_text import safe_load

FIELDS = frozenset(
    {"check_id", "attested_by", "attested_on", "evidence", "expires", "resource_id", "note"}
)
REQUIRED = ("check_id", "attested_by", "attested_on", "evidence", "expires")
EXPECTED = "a current attestation (who, when, evidence link, expiry)"


@dataclass(frozen=True, slots=True)
class Attestation:
    """One person's statement that a manual control is in place, and where the evidence is."""

    check_id: str
    attested_by: str
    attested_on: date
    evidence: str
    expires: date
    resource_id: str | None = None
    note: str = ""

    def covers(self, finding: Finding) -> bool:
        """Whether this attestation speaks for `finding` (same check; same scope if narrowed)."""
        if finding.check_id != self.check_id:
            return False
        return self.resource_id is None or self.resource_id.lower() == finding.resource_id.lower()

    def evidence_json(self) -> dict[str, JSON]:
        """The attestation as a finding's observed evidence."""
        return {
            "attested_by": self.attested_by,
            "attested_on": self.attested_on.isoformat(),
            "evidence": self.evidence,
            "expires": self.expires.isoformat(),
            **({"note": self.note} if self.note else {}),
        }


@dataclass(frozen=True, slots=True)
class Attestations:
    """The attestations of one file, in file order."""

    entries: tuple[Attestation, ...]
    path: str

    def for_finding(self, finding: Finding) -> Attestation | None:
        """The attestation that speaks for `finding`: one narrowed to its scope wins."""
        matching = [a for a in self.entries if a.covers(finding)]
        narrowed = [a for a in matching if a.resource_id is not None]
        chosen = narrowed or matching
        return chosen[0] if chosen else None

    def require_known(self, check_ids: Iterable[str]) -> None:
        """Refuse attestations of checks that do not exist (a typo would attest nothing).

        Raises:
            InputError: naming the file and the entry.
        """
        known = set(check_ids)
        for i, entry in enumerate(self.entries):
            if entry.check_id not in known:
                raise InputError(
                    f"{self.path}: attestations[{i}].check_id: unknown check "
                    f"{entry.check_id!r} (see 'azaudit checks list --family administrative')"
                )

    def unused(self, findings: Iterable[Finding]) -> tuple[Attestation, ...]:
        """Attestations that matched no finding of the scan (worth reporting: stale or mistyped)."""
        checks: set[str] = set()
        scopes: set[tuple[str, str]] = set()
        for finding in findings:
            checks.add(finding.check_id)
            scopes.add((finding.check_id, finding.resource_id.lower()))
        return tuple(
            a
            for a in self.entries
            if a.check_id not in checks
            or (a.resource_id is not None and (a.check_id, a.resource_id.lower()) not in scopes)
        )


def load_attestations(path: Path) -> Attestations:
    """Read and validate an attestation file.

    Raises:
        InputError: one line naming the file and the field on any problem.
    """
    try:
        document = safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, expected a YAML attestation file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, expected a YAML attestation file") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(f"{path}: invalid YAML{where}") from None

    try:
        return Attestations(tuple(_entries(document)), str(path))
    except _FieldError as exc:
        raise InputError(f"{path}: {exc.where}: {exc.what}") from None


class _FieldError(Exception):
    """A problem with one field of the file (the loader adds the file name)."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}")
        self.where = where
        self.what = what


def _entries(document: Any) -> list[Attestation]:
    if not isinstance(document, dict) or set(document) != {"attestations"}:
        raise _FieldError("top level", "expected a mapping with one key, 'attestations'")
    raw = document["attestations"]
    if not isinstance(raw, list) or not raw:
        raise _FieldError("attestations", "expected a non-empty list")
    entries: list[Attestation] = []
    seen: dict[tuple[str, str | None], int] = {}
    for i, item in enumerate(raw):
        where = f"attestations[{i}]"
        entry = _entry(item, where)
        key = (entry.check_id, entry.resource_id.lower() if entry.resource_id else None)
        if key in seen:
            raise _FieldError(
                f"{where}.check_id",
                f"{entry.check_id!r} is attested twice (also attestations[{seen[key]}])",
            )
        seen[key] = i
        entries.append(entry)
    return entries


def _entry(item: Any, where: str) -> Attestation:
    if not isinstance(item, dict):
        raise _FieldError(where, "expected a mapping")
    unknown = sorted(str(k) for k in item if k not in FIELDS)
    if unknown:
        expected = ", ".join(sorted(FIELDS))
        raise _FieldError(f"{where}.{unknown[0]}", f"unknown field; expected one of {expected}")
    for name in REQUIRED:
        if item.get(name) is None:
            raise _FieldError(
                f"{where}.{name}", "missing; every attestation states " + ", ".join(REQUIRED)
            )
    evidence = _text(item, "evidence", where)
    if "://" not in evidence:
        raise _FieldError(f"{where}.evidence", "expected a link to the evidence (e.g. https://...)")
    attested_on = _date(item["attested_on"], f"{where}.attested_on")
    expires = _date(item["expires"], f"{where}.expires")
    if expires < attested_on:
        raise _FieldError(f"{where}.expires", f"{expires} is before attested_on {attested_on}")
    resource_id = item.get("resource_id")
    if resource_id is not None and (not isinstance(resource_id, str) or not resource_id):
        raise _FieldError(f"{where}.resource_id", "expected an ARM id string")
    note = item.get("note") or ""
    if not isinstance(note, str):
        raise _FieldError(f"{where}.note", "expected a string")
    return Attestation(
        check_id=_text(item, "check_id", where),
        attested_by=_text(item, "attested_by", where),
        attested_on=attested_on,
        evidence=evidence,
        expires=expires,
        resource_id=resource_id,
        note=note.strip(),
    )


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item[key]
    if not isinstance(value, str) or not value.strip():
        raise _FieldError(f"{where}.{key}", "expected a non-empty string")
    return value.strip()


def _date(value: Any, where: str) -> date:
    """A YAML date (`2026-09-14`, unquoted or quoted); a timestamp counts by its UTC day."""
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _FieldError(where, f"expected a date (YYYY-MM-DD), got {value!r}")


def apply_attestations(
    findings: Sequence[Finding], attestations: Attestations, now: datetime
) -> list[Finding]:
    """Findings with every attested MANUAL finding decided by its attestation.

    A current attestation gives PASS, one whose `expires` day is past gives FAIL (the control
    was vouched for once and the evidence lapsed), one dated after `now` leaves the finding
    MANUAL (it cannot vouch for the scanned state). Any other status is left alone: an
    attestation never overrides what Azure data showed, and never hides an ERROR.

    Args:
        findings: the evaluated findings, in order.
        attestations: from `load_attestations`.
        now: the scan's reference time (timezone-aware; the snapshot's collection time).
    """
    if not attestations.entries:  # nothing attested: no pass over the findings
        return list(findings)
    today = now.astimezone(UTC).date()
    decided: list[Finding] = []
    for finding in findings:
        attestation = attestations.for_finding(finding) if finding.status is Status.MANUAL else None
        decided.append(finding if attestation is None else _decide(finding, attestation, today))
    return decided


def _decide(finding: Finding, attestation: Attestation, today: date) -> Finding:
    who = f"{attestation.attested_by} on {attestation.attested_on.isoformat()}"
    if attestation.attested_on > today:
        status = Status.MANUAL
        message = (
            f"attestation by {who} is dated after the scan ({today.isoformat()}); {finding.message}"
        )
    elif attestation.expires < today:
        status = Status.FAIL
        message = (
            f"attestation by {who} expired on {attestation.expires.isoformat()}; renew it "
            f"with current evidence ({attestation.evidence})"
        )
    else:
        status = Status.PASS
        message = (
            f"attested by {who}, valid until {attestation.expires.isoformat()}; evidence: "
            f"{attestation.evidence}"
        )
    return finding._replace(
        status=status,
        property_path="attestation",
        observed=attestation.evidence_json(),
        expected=EXPECTED,
        message=message,
    )
