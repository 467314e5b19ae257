"""Waivers (accepted risks): a reviewed YAML file that turns chosen FAIL findings into WAIVED.

A waiver names one check and selects resources by id, glob or tag; it carries a justification,
an approver, a ticket and an expiry date. Only FAIL becomes WAIVED: an ERROR (unknown) finding
stays ERROR even when a waiver selects it, because accepting a risk nobody could see is not an
acceptance. Expired waivers stop applying; waivers that select nothing are reported
(docs/waivers.md). Loading validates strictly: one line naming the file and field on any problem.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from azaudit.errors import InputError
from azaudit.models import Finding, Status, WaiverInfo
from azaudit.phi import TagIndex, tags_match
from azaudit.snapshot import Snapshot

_FIELDS = frozenset(
    {"id", "check", "resource", "tag", "justification", "approver", "ticket", "expires"}
)
_REQUIRED_TEXT = ("id", "check", "justification", "approver", "ticket")


class _Loader(yaml.SafeLoader):
    """Safe YAML with dates left as text, so a bad date is reported with its field."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class Waiver:
    """One accepted risk as written in the file.

    Attributes:
        id: unique id, recorded on every finding it waives.
        check_id: the check (canonical id; an alias in the file is resolved).
        resource: an ARM id or a glob over ARM ids (case-insensitive; `*` crosses `/`), or None.
        tag: a `(key, value)` the resource itself must carry, or None.
        justification: why the risk is accepted.
        approver: who accepted it.
        ticket: where the decision is recorded.
        expires: last day the waiver applies (inclusive).
    """

    id: str
    check_id: str
    resource: str | None
    tag: tuple[str, str] | None
    justification: str
    approver: str
    ticket: str
    expires: dt.date

    @property
    def selector(self) -> str:
        """The selector as reports show it."""
        parts = []
        if self.resource is not None:
            parts.append(f"resource {self.resource}")
        if self.tag is not None:
            parts.append(f"tag {self.tag[0]}={self.tag[1]}")
        return " and ".join(parts)

    def selects(self, finding: Finding, tags: TagIndex | None) -> bool:
        """Whether the finding is one this waiver is about (whatever its status)."""
        if finding.check_id != self.check_id:
            return False
        if self.resource is not None and not fnmatch.fnmatchcase(
            finding.resource_id.lower(), self.resource.lower()
        ):
            return False
        if self.tag is None:
            return True
        return tags is not None and tags_match(tags.own(finding.resource_id), [self.tag])


def load_waivers(path: Path, resolve_check: Callable[[str], str | None]) -> tuple[Waiver, ...]:
    """Read and validate a waivers file.

    `resolve_check` maps a check id or alias to the canonical id, or None when unknown.

    Raises:
        InputError: naming the file, the field and what was expected.
    """
    prefix = f"--waivers {path}"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{prefix}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{prefix}: is a directory, expected a YAML file") from None
    except UnicodeDecodeError:
        raise InputError(f"{prefix}: not UTF-8 text, expected a YAML file") from None
    except OSError as exc:
        raise InputError(f"{prefix}: cannot read: {exc.strerror or 'I/O error'}") from None
    try:
        document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark is not None else ""
        raise InputError(f"{prefix}: invalid YAML{where}") from None

    def fail(where: str, what: str) -> InputError:
        return InputError(f"{prefix}: {where}: {what}")

    if not isinstance(document, dict) or set(document) != {"waivers"}:
        raise fail("top level", "expected a mapping with one key 'waivers' (a list of waivers)")
    entries = document["waivers"]
    if not isinstance(entries, list):
        raise fail("waivers", "expected a list of waivers")
    waivers: list[Waiver] = []
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"waivers[{i}]"
        waiver = _parse(entry, where, fail, resolve_check)
        if waiver.id in seen:
            raise fail(f"{where}.id", f"{waiver.id!r} is used twice")
        seen.add(waiver.id)
        waivers.append(waiver)
    return tuple(waivers)


def _parse(
    entry: Any,
    where: str,
    fail: Callable[[str, str], InputError],
    resolve_check: Callable[[str], str | None],
) -> Waiver:
    if not isinstance(entry, dict):
        raise fail(where, "expected a mapping (id, check, resource or tag, ...)")
    unknown = sorted(str(k) for k in entry if k not in _FIELDS)
    if unknown:
        raise fail(
            f"{where}.{unknown[0]}", f"unknown field; expected one of {', '.join(sorted(_FIELDS))}"
        )
    text: dict[str, str] = {}
    for key in _REQUIRED_TEXT:
        value = entry.get(key)
        if not isinstance(value, str | int) or isinstance(value, bool) or not str(value).strip():
            raise fail(f"{where}.{key}", "expected a non-empty text")
        text[key] = str(value).strip()
    check_id = resolve_check(text["check"])
    if check_id is None:
        raise fail(
            f"{where}.check", f"unknown check id {text['check']!r} (see azaudit checks list)"
        )
    resource = entry.get("resource")
    if resource is not None and (not isinstance(resource, str) or not resource.strip()):
        raise fail(f"{where}.resource", "expected an ARM resource id or a glob such as '*/vm-*'")
    tag = entry.get("tag")
    pair: tuple[str, str] | None = None
    if tag is not None:
        key, sep, value = str(tag).partition("=") if isinstance(tag, str) else ("", "", "")
        if not sep or not key.strip() or not value.strip():
            raise fail(f"{where}.tag", "expected KEY=VALUE")
        pair = (key.strip(), value.strip())
    if resource is None and pair is None:
        raise fail(where, "expected a selector: 'resource' (id or glob) and/or 'tag' (KEY=VALUE)")
    return Waiver(
        id=text["id"],
        check_id=check_id,
        resource=resource.strip() if isinstance(resource, str) else None,
        tag=pair,
        justification=text["justification"],
        approver=text["approver"],
        ticket=text["ticket"],
        expires=_date(entry.get("expires"), f"{where}.expires", fail),
    )


def _date(value: Any, where: str, fail: Callable[[str, str], InputError]) -> dt.date:
    if isinstance(value, str) and len(value.strip()) == len("YYYY-MM-DD"):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise fail(where, "expected a date YYYY-MM-DD (the last day the waiver applies)")


@dataclass(frozen=True, slots=True)
class WaiverOutcome:
    """Findings after waivers, and what each waiver did."""

    findings: tuple[Finding, ...]
    waivers: tuple[WaiverInfo, ...]


def apply_waivers(
    findings: Iterable[Finding],
    waivers: Sequence[Waiver],
    snapshot: Snapshot,
    today: dt.date,
) -> WaiverOutcome:
    """Turn FAIL findings selected by an unexpired waiver into WAIVED (first waiver in file order).

    ERROR findings a waiver selects stay ERROR and are counted in the waiver's `errors`.
    """
    active = [w for w in waivers if w.expires >= today]
    matched: dict[str, int] = {w.id: 0 for w in waivers}
    errors: dict[str, int] = {w.id: 0 for w in waivers}
    if not active:
        # Nothing can change: no pass over the findings.
        infos = tuple(_info(w, today, 0, 0) for w in waivers)
        return WaiverOutcome(tuple(findings), infos)
    tags = TagIndex(snapshot) if any(w.tag for w in active) else None
    undecided = (Status.FAIL, Status.ERROR)
    out: list[Finding] = []
    for finding in findings:
        if finding.status in undecided:
            for waiver in active:
                if waiver.selects(finding, tags):
                    if finding.status is Status.FAIL:
                        matched[waiver.id] += 1
                        finding = finding._replace(status=Status.WAIVED, waiver_id=waiver.id)
                    else:
                        errors[waiver.id] += 1
                    break
        out.append(finding)
    infos = tuple(_info(w, today, matched[w.id], errors[w.id]) for w in waivers)
    return WaiverOutcome(tuple(out), infos)


def _info(waiver: Waiver, today: dt.date, matched: int, errors: int) -> WaiverInfo:
    if waiver.expires < today:
        state = "expired"
    elif matched or errors:
        state = "active"
    else:
        state = "unmatched"
    return WaiverInfo(
        id=waiver.id,
        check_id=waiver.check_id,
        selector=waiver.selector,
        justification=waiver.justification,
        approver=waiver.approver,
        ticket=waiver.ticket,
        expires=waiver.expires.isoformat(),
        state=state,
        matched=matched,
        errors=errors,
    )


def waiver_summary(infos: Iterable[WaiverInfo]) -> Mapping[str, int]:
    """Waivers by state, for the console summary."""
    counts = {"active": 0, "expired": 0, "unmatched": 0}
    for info in infos:
        counts[info.state] += 1
    return counts
