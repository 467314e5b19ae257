"""Builds the `ScanResult` (findings + every number a report shows) and the exit code.

Renderers only format; all counting, scoring and ordering happens here (with the formulas of
`risk.py`), once, so the HTML, JSON and console outputs can never disagree.
"""

from __future__ import annotations

import enum
import itertools
import operator
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from azaudit import __version__
from azaudit.catalogue import FAMILY_TITLES, Catalogue
from azaudit.evaluators.base import ScanConfig
from azaudit.gc_pause import paused_gc
from azaudit.models import (
    JSON,
    CheckMeta,
    EvidenceInfo,
    Finding,
    HistoryInfo,
    PhiScopeInfo,
    ScanResult,
    Severity,
    Status,
    SubscriptionInfo,
    WaiverInfo,
    WebSiteInfo,
)
from azaudit.risk import (
    FINDINGS_PER_RISK,
    TOP_RISKS,
    effective_severity,
    exposure_of,
    in_phi_scope,
    rank_resources,
    risk_subject,
)
from azaudit.snapshot import Snapshot
from azaudit.tallies import (
    TENANT_WIDE,
    Cell,
    Cells,
    Tallies,
    failing_by_severity,
    status_counts,
    weighted_posture,
)


class ExitCode(enum.IntEnum):
    """The documented exit codes (README, docs/usage.md)."""

    OK = 0
    FINDINGS = 1
    USAGE = 2
    INCOMPLETE = 3


def build_result(
    snapshot: Snapshot,
    catalogue: Catalogue,
    findings: Iterable[Finding],
    config: ScanConfig,
    generated_at: str,
    *,
    phi_scope: PhiScopeInfo | None = None,
    waivers: tuple[WaiverInfo, ...] = (),
    evidence: EvidenceInfo | None = None,
    history: HistoryInfo | None = None,
    web_sites: tuple[WebSiteInfo, ...] = (),
) -> ScanResult:
    """Bundle findings with the metadata and summaries every renderer needs.

    Findings may already carry their PHI flag, effective severity and waiver (the PHI-scope and
    waiver steps run before this); a step that changes findings afterwards must recompute the
    summary with `resummarise`.
    """
    checks = {c.id: c.meta for c in catalogue.checks}
    subscriptions = tuple(
        SubscriptionInfo(
            subscription_id=str(s["subscriptionId"]),
            display_name=str(s.get("displayName") or s["subscriptionId"]),
            state=str(s.get("state") or "Unknown"),
        )
        for s in snapshot.subscriptions
    )
    names = display_names(snapshot)
    with paused_gc():
        return _build(
            snapshot,
            catalogue,
            findings,
            config,
            generated_at,
            subscriptions,
            names,
            checks,
            phi_scope=phi_scope,
            waivers=waivers,
            evidence=evidence,
            history=history,
            web_sites=web_sites,
        )


def _build(
    snapshot: Snapshot,
    catalogue: Catalogue,
    findings: Iterable[Finding],
    config: ScanConfig,
    generated_at: str,
    subscriptions: tuple[SubscriptionInfo, ...],
    names: dict[str, str],
    checks: Mapping[str, CheckMeta],
    *,
    phi_scope: PhiScopeInfo | None,
    waivers: tuple[WaiverInfo, ...],
    evidence: EvidenceInfo | None,
    history: HistoryInfo | None,
    web_sites: tuple[WebSiteInfo, ...],
) -> ScanResult:
    findings = list(_with_names(findings, names))
    result = ScanResult(
        tool_version=__version__,
        generated_at=generated_at,
        collected_at=snapshot.collected_at,
        snapshot_schema_version=snapshot.schema_version,
        tenant_id=snapshot.tenant_id,
        tenant_name=str(snapshot.tenant.get("displayName") or snapshot.tenant_id),
        cloud=str(snapshot.cloud.get("name") or "AzureCloud"),
        subscriptions=subscriptions,
        baa_list=config.baa_list.info,
        allowed_regions=tuple(sorted(config.allowed_regions)),
        checks=tuple(c.meta for c in catalogue.checks),
        findings=order_findings(findings, checks),
        gaps=snapshot.gaps,
        summary={},
        phi_scope=phi_scope or PhiScopeInfo(),
        waivers=waivers,
        evidence=evidence,
        history=history,
        web_sites=web_sites,
        display_names=names,
    )
    # The findings are in result order already: summarise without sorting them again.
    return ScanResult(**{**_fields(result), "summary": summarise(result, catalogue.safeguards)})


_GUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
_SUBSCRIPTION_SCOPE = re.compile(rf"/subscriptions/({_GUID})(?![\w/-])")
_BARE_GUID = re.compile(rf"(?<![\w/.-]){_GUID}(?![\w/-])")
_NAMEABLE = re.compile(r"-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w/-])")
"""What every id `name_ids` replaces ends with (either kind is a GUID not followed by a word
character, `/` or `-`): a message without it (most, including every id inside a longer ARM
path) is left as it is after one search. The pattern starts with a literal `-`, so the search
skips from dash to dash instead of trying a GUID at every character."""


def name_ids(message: str, names: Mapping[str, str]) -> str:
    """`message` with every id the snapshot names replaced by that name.

    A whole-subscription scope reads `subscription 'nw-prod-clinical'`, a principal, group, role
    or policy id its display name. Ids inside longer ARM paths are left as they are (a path
    must stay a path), and so is every id the snapshot does not name; the finding keeps the ids
    themselves in `resource_id` and `observed`, so the evidence is unchanged.
    """

    if _NAMEABLE.search(message) is None:  # nothing to name: skip both passes
        return message

    def subscription(match: re.Match[str]) -> str:
        name = names.get(match.group(1).lower())
        return f"subscription '{name}'" if name else match.group(0)

    def bare(match: re.Match[str]) -> str:
        return names.get(match.group(0).lower(), match.group(0))

    return _BARE_GUID.sub(bare, _SUBSCRIPTION_SCOPE.sub(subscription, message))


def _with_names(findings: Iterable[Finding], names: Mapping[str, str]) -> Iterator[Finding]:
    """Each finding with the ids in its message named (`name_ids`); one finding of a check on
    many resources often reads like another, so each distinct message is named once."""
    named: dict[str, str] = {}
    for finding in findings:
        message = finding.message
        text = named.get(message)
        if text is None:
            text = named[message] = name_ids(message, names)
        yield finding if text == message else finding._replace(message=text)


def resummarise(result: ScanResult, safeguard_titles: Mapping[str, str]) -> ScanResult:
    """`result` with its findings re-ordered and its summary recomputed (after PHI scoring or
    waivers changed findings)."""
    metas = {c.id: c for c in result.checks}
    ordered = order_findings(result.findings, metas)
    staged = ScanResult(**{**_fields(result), "findings": ordered, "summary": {}})
    return ScanResult(**{**_fields(staged), "summary": summarise(staged, safeguard_titles)})


def order_findings(
    findings: Iterable[Finding], metas: Mapping[str, CheckMeta]
) -> tuple[Finding, ...]:
    """Worst status first, then the check's severity and id, then (within a check) the
    finding's effective severity, PHI first, then resource id: the order a reader acts in.

    The keys up to the resource id depend only on a finding's check, status, severity and PHI
    flag, so the findings are put in groups by those leading keys (a few hundred), the groups
    ordered, and each group sorted by resource id and sub-item. Every step keeps ties in their
    input order, as one stable sort would, and no sort key is held for every finding at once.
    """
    groups: dict[tuple[Any, ...], list[Finding]] = {}
    by_combo: dict[tuple[str, Status, Severity | None, bool | None], list[Finding]] = {}
    for finding in findings:
        combo = _combo_of(finding)
        group = by_combo.get(combo)
        if group is None:
            group = by_combo[combo] = groups.setdefault(_order_prefix(combo, metas), [])
        group.append(finding)
    # Several checks judge each resource: case-fold each distinct id once.
    folded: dict[str, str] = {}

    def within(finding: Finding) -> tuple[str, str]:
        rid = finding.resource_id
        lowered = folded.get(rid)
        if lowered is None:
            lowered = folded[rid] = rid.lower()
        return lowered, finding.sub_item

    ordered: list[Finding] = []
    for prefix in sorted(groups):
        group = groups[prefix]
        group.sort(key=within)
        ordered.extend(group)
    return tuple(ordered)


_combo_of = operator.itemgetter(
    *(Finding._fields.index(name) for name in ("check_id", "status", "severity", "phi"))
)
"""A finding's (check id, status, severity, PHI flag), read by position (faster than by name)."""


def _order_prefix(
    combo: tuple[str, Status, Severity | None, bool | None], checks: Mapping[str, CheckMeta]
) -> tuple[int, int, str, int, bool]:
    """The leading sort keys of a finding with this (check, status, severity, PHI flag)."""
    check_id, status, severity, phi = combo
    meta = checks.get(check_id)
    rank = meta.severity.rank if meta else 0
    own = (severity if severity is not None else meta.severity).rank if meta else 0
    return (_STATUS_ORDER[status], -rank, check_id, -own, phi is False)


_resource_id_of = operator.attrgetter("resource_id")
_status_of = operator.attrgetter("status")


def _fields(result: ScanResult) -> dict[str, Any]:
    return {name: getattr(result, name) for name in result.__slots__}


_STATUS_ORDER = {
    Status.FAIL: 0,
    Status.ERROR: 1,
    Status.MANUAL: 2,
    Status.WAIVED: 3,
    Status.PASS: 4,
    Status.NOT_APPLICABLE: 5,
}


# -- names ---------------------------------------------------------------------------------------


def display_names(snapshot: Snapshot) -> dict[str, str]:
    """Names the snapshot knows for ids, keyed by the id in lower case.

    Subscriptions (id), Entra users, groups, service principals and directory roles (object id,
    role template id), Conditional Access policies, and Azure role definitions (GUID and full
    id). Names only label ids in reports; a document of an unexpected shape contributes nothing
    (it decides no verdict).
    """
    names: dict[str, str] = {}
    for sub in snapshot.subscriptions:
        sid, name = sub.get("subscriptionId"), sub.get("displayName")
        if isinstance(sid, str) and isinstance(name, str) and name:
            names[sid.lower()] = name
    for body in snapshot.graph.values():
        for item in _values(body):
            _name_graph_object(names, item)
            for member in _listed(item.get("members")):
                _name_graph_object(names, member)
    for docs in snapshot.details.values():
        body = docs.get("providers/Microsoft.Authorization/roleDefinitions")
        for item in _values(body):
            props = item.get("properties")
            role = props.get("roleName") if isinstance(props, dict) else None
            if not isinstance(role, str) or not role:
                continue
            for key in ("id", "name"):
                value = item.get(key)
                if isinstance(value, str) and value:
                    names.setdefault(value.lower(), role)
    # Role assignments are named "<principal>: <role>" once principals and roles are known.
    for docs in snapshot.details.values():
        body = docs.get("providers/Microsoft.Authorization/roleAssignments")
        for item in _values(body):
            props = item.get("properties")
            if not isinstance(props, dict):
                continue
            principal = names.get(str(props.get("principalId") or "").lower())
            role = names.get(str(props.get("roleDefinitionId") or "").lower())
            if principal is None or role is None:
                continue
            for key in ("id", "name"):
                value = item.get(key)
                if isinstance(value, str) and value:
                    names.setdefault(value.lower(), f"{principal}: {role}")
    return names


def _values(body: JSON) -> list[dict[str, Any]]:
    value = body.get("value") if isinstance(body, dict) else None
    return _listed(value)


def _listed(value: JSON) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _name_graph_object(names: dict[str, str], item: Mapping[str, Any]) -> None:
    oid = item.get("id")
    if not isinstance(oid, str) or not oid:
        return
    display = item.get("displayName") or item.get("userDisplayName")
    upn = item.get("userPrincipalName")
    label = None
    if isinstance(display, str) and display and isinstance(upn, str) and upn:
        label = f"{display} ({upn})"
    elif isinstance(display, str) and display:
        label = display
    elif isinstance(upn, str) and upn:
        label = upn
    if label is None:
        return
    # A fuller label (name and UPN) wins over a bare one seen earlier.
    if len(label) > len(names.get(oid.lower(), "")):
        names[oid.lower()] = label
    template = item.get("roleTemplateId")
    if isinstance(template, str) and template:
        names.setdefault(template.lower(), label)


# -- posture -------------------------------------------------------------------------------------


def posture(counts: Mapping[str, int]) -> float | None:
    """Raw share of evaluated findings that pass, in percent; None when nothing was evaluated.

    ERROR counts against posture: unknown is not compliant. The headline posture is the
    weighted one (`risk.weighted_posture`); this raw ratio is kept beside it.
    """
    evaluated = counts.get("PASS", 0) + counts.get("FAIL", 0) + counts.get("ERROR", 0)
    if evaluated == 0:
        return None
    return round(100.0 * counts.get("PASS", 0) / evaluated, 1)


def _posture_block(cells: Cells, metas: Mapping[str, CheckMeta]) -> dict[str, Any]:
    """Counts, weighted and raw posture and failing findings by severity of one subset."""
    counts = status_counts(cells)
    weighted, _ = weighted_posture(cells, metas)
    return {
        "counts": counts,
        "posture": weighted,
        "posture_raw": posture(counts),
        "failing_by_severity": failing_by_severity(cells),
    }


def citation_sort_key(citation_id: str) -> tuple[tuple[int, int, str], ...]:
    """Order `164.308(a)(1)(ii)(A)` paragraphs as the regulation does (numbers numerically)."""
    return tuple(
        (0, int(token), "") if token.isdigit() else (1, 0, token)
        for token in re.findall(r"[0-9]+|[A-Za-z]+", citation_id)
    )


LISTED_STATUSES = (Status.FAIL, Status.ERROR, Status.MANUAL, Status.WAIVED)
"""Statuses whose findings the report lists one by one; PASS and N/A are only counted."""


def findings_by_check(result: ScanResult) -> dict[str, dict[Status, tuple[int, ...]]]:
    """Positions in `result.findings` of each check's listed findings (FAIL, ERROR, MANUAL,
    WAIVED), split by status, in result order.

    Renderers use this to look findings up (and to link to them by position); it selects, it
    does not count or reorder.
    """
    grouped: dict[str, dict[Status, list[int]]] = defaultdict(lambda: defaultdict(list))
    for index, finding in enumerate(result.findings):
        if finding.status in LISTED_STATUSES:
            grouped[finding.check_id][finding.status].append(index)
    return {
        check_id: {status: tuple(found) for status, found in by_status.items()}
        for check_id, by_status in grouped.items()
    }


def web_findings_by_site(result: ScanResult) -> dict[str, tuple[int, ...]]:
    """Positions of the web-family findings of each discovered site (keyed by the site URL).

    A finding belongs to a site when its resource id is the site's ARM id, or a URL on the
    site's origin (scheme and host: findings of pages below it). Indexed once, so the cost is
    linear in findings plus sites.
    """
    web_checks = {c.id for c in result.checks if c.family == "web"}
    by_key: dict[str, list[int]] = defaultdict(list)
    for index, finding in enumerate(result.findings):
        if finding.check_id in web_checks:
            key = finding.resource_id.lower()
            by_key[_url_origin(key) or key].append(index)
    out: dict[str, tuple[int, ...]] = {}
    for site in result.web_sites:
        found = list(by_key.get(_url_origin(site.url.lower()) or site.url.lower(), ()))
        if site.resource_id:
            found += by_key.get(site.resource_id.lower(), [])
        out[site.url] = tuple(sorted(set(found)))
    return out


def _url_origin(text: str) -> str | None:
    """`https://host` of an http(s) URL, else None."""
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return None


def summarise(result: ScanResult, safeguard_titles: Mapping[str, str]) -> dict[str, JSON]:
    """Every number and ordering the reports show, computed once.

    The findings are counted once (`tallies.Tallies`); every figure below is summed from those
    counts. The shape is part of results.json and documented field by field in
    docs/results-schema.md (machine-readable: reports/results.schema.json).
    """
    metas = {c.id: c for c in result.checks}
    tallies = Tallies(result.findings, metas, (s.subscription_id for s in result.subscriptions))
    per_check = [_check_entry(meta, tallies.by_check.get(meta.id, [])) for meta in result.checks]
    check_entries = {c["check_id"]: c for c in per_check}

    overall = status_counts(tallies.cells)
    weighted, family_posture = weighted_posture(tallies.cells, metas)
    checks_by_status = Counter(str(c["status"]) for c in per_check)
    # Case-fold each distinct id once (many findings share a resource).
    folded = {rid: rid.lower() for rid in set(map(_resource_id_of, result.findings))}
    resources_evaluated = len(set(folded.values()))
    # The resource ids of ERROR findings, selected in C rather than finding by finding.
    erring = itertools.compress(
        map(_resource_id_of, result.findings),
        map(operator.is_, map(_status_of, result.findings), itertools.repeat(Status.ERROR)),
    )
    scopes_not_evaluated = len({folded[rid] for rid in set(erring)})
    del folded
    return {
        "counts": overall,
        "findings_total": len(result.findings),
        "posture": weighted,
        "posture_raw": posture(overall),
        "failing_by_severity": failing_by_severity(tallies.cells),
        "checks_total": len(per_check),
        "checks_by_status": {s.value: checks_by_status.get(s.value, 0) for s in Status},
        "resources_evaluated": resources_evaluated,
        "families": _families(result, tallies, family_posture),
        "phi": {
            "configured": result.phi_scope.configured,
            "in_scope": _posture_block([e for e in tallies.cells if e[0].phi], metas),
            "out_of_scope": _posture_block([e for e in tallies.cells if not e[0].phi], metas),
        },
        "safeguards": _safeguards(result, safeguard_titles, tallies, check_entries, metas),
        "checks": per_check,
        "subscriptions": _subscriptions(result, tallies, check_entries, metas),
        "tenant_wide": _scope_entry(tallies.by_scope[TENANT_WIDE], check_entries, metas),
        "top_risks": _top_risks(result, metas),
        "manual": [
            {
                "check_id": c["check_id"],
                "title": c["title"],
                "citation": c["citation"],
                "count": c["counts"]["MANUAL"],
            }
            for c in per_check
            if c["counts"]["MANUAL"]
        ],
        "waivers": {
            state: sum(1 for w in result.waivers if w.state == state)
            for state in ("active", "expired", "unmatched")
        },
        "coverage": {
            "complete": not result.gaps and overall["ERROR"] == 0,
            "gaps": len(result.gaps),
            "error_findings": overall["ERROR"],
            "scopes_not_evaluated": scopes_not_evaluated,
            "checks_with_errors": sorted(c["check_id"] for c in per_check if c["counts"]["ERROR"]),
        },
    }


def _check_entry(meta: CheckMeta, cells: Cells) -> dict[str, Any]:
    citation = meta.primary_citation
    counts = status_counts(cells)
    return {
        "check_id": meta.id,
        "title": meta.title,
        "severity": meta.severity.value,
        "family": meta.family,
        "family_title": FAMILY_TITLES.get(meta.family, meta.family),
        "safeguard": citation.safeguard,
        "citation": citation.label,
        "citation_title": citation.title,
        "implementation": citation.implementation,
        "exposure": exposure_of(meta.id).value,
        "counts": counts,
        "failing_by_severity": failing_by_severity(cells),
        "status": _check_status(counts),
    }


def _families(
    result: ScanResult, tallies: Tallies, family_posture: Mapping[str, float]
) -> list[dict[str, Any]]:
    """Posture per check family, in the catalogue's family order (organisation families last)."""
    members: dict[str, list[str]] = defaultdict(list)
    for meta in result.checks:
        members[meta.family].append(meta.id)
    order = [f for f in FAMILY_TITLES if f in members] + sorted(
        f for f in members if f not in FAMILY_TITLES
    )
    out = []
    for family in order:
        cells = tallies.of_checks(members[family])
        counts = status_counts(cells)
        out.append(
            {
                "family": family,
                "title": FAMILY_TITLES.get(family, family),
                "checks": len(members[family]),
                "counts": counts,
                "posture": family_posture.get(family),
                "posture_raw": posture(counts),
                "failing_by_severity": failing_by_severity(cells),
            }
        )
    return out


def _attention_order(entry: Mapping[str, Any]) -> tuple[Any, ...]:
    """Worst status first, then most severe, then id: the order a reader should act in."""
    return (
        _STATUS_ORDER[Status(entry["status"])],
        -Severity(entry["severity"]).rank,
        entry["check_id"],
    )


def _safeguards(
    result: ScanResult,
    safeguard_titles: Mapping[str, str],
    tallies: Tallies,
    check_entries: Mapping[str, dict[str, Any]],
    all_metas: Mapping[str, CheckMeta],
) -> list[dict[str, Any]]:
    """Every safeguard of the citation table (even without checks), each with its citations."""
    out: list[dict[str, Any]] = []
    for key, title in safeguard_titles.items():
        metas = [m for m in result.checks if m.primary_citation.safeguard == key]
        citations: dict[str, list[CheckMeta]] = defaultdict(list)
        for meta in metas:
            citations[meta.primary_citation.id].append(meta)
        cells = tallies.of_checks(m.id for m in metas)
        counts = status_counts(cells)
        out.append(
            {
                "safeguard": key,
                "title": title,
                "checks": len(metas),
                "counts": counts,
                "posture": weighted_posture(cells, all_metas)[0],
                "posture_raw": posture(counts),
                "citations": [
                    _citation_entry(citations[cid], tallies, check_entries, all_metas)
                    for cid in sorted(citations, key=citation_sort_key)
                ],
            }
        )
    return out


def _citation_entry(
    metas: list[CheckMeta],
    tallies: Tallies,
    check_entries: Mapping[str, dict[str, Any]],
    all_metas: Mapping[str, CheckMeta],
) -> dict[str, Any]:
    citation = metas[0].primary_citation
    entries = sorted((check_entries[m.id] for m in metas), key=_attention_order)
    cells = tallies.of_checks(m.id for m in metas)
    counts = status_counts(cells)
    return {
        "citation": citation.id,
        "label": citation.label,
        "title": citation.title,
        "implementation": citation.implementation,
        "counts": counts,
        "posture": weighted_posture(cells, all_metas)[0],
        "posture_raw": posture(counts),
        "checks": [e["check_id"] for e in entries],
    }


def _scope_entry(
    cells: Cells, check_entries: Mapping[str, dict[str, Any]], metas: Mapping[str, CheckMeta]
) -> dict[str, Any]:
    per_check: dict[str, list[tuple[Cell, int]]] = defaultdict(list)
    for cell, count in cells:
        per_check[cell.check_id].append((cell, count))
    failing = []
    for check_id, found in per_check.items():
        check_counts = status_counts(found)
        if check_counts["FAIL"] or check_counts["ERROR"]:
            entry = check_entries[check_id]
            failing.append(
                {
                    "check_id": check_id,
                    "title": entry["title"],
                    "severity": entry["severity"],
                    "citation": entry["citation"],
                    "status": _check_status(check_counts),
                    "counts": check_counts,
                }
            )
    failing.sort(key=_attention_order)
    return {**_posture_block(cells, metas), "failing_checks": failing}


def _subscriptions(
    result: ScanResult,
    tallies: Tallies,
    check_entries: Mapping[str, dict[str, Any]],
    metas: Mapping[str, CheckMeta],
) -> list[dict[str, Any]]:
    return [
        {
            "subscription_id": sub.subscription_id,
            "display_name": sub.display_name,
            "state": sub.state,
            **_scope_entry(tallies.by_scope[sub.subscription_id.lower()], check_entries, metas),
        }
        for sub in result.subscriptions
    ]


def _top_risks(result: ScanResult, metas: Mapping[str, CheckMeta]) -> list[dict[str, Any]]:
    """The `TOP_RISKS` resources with the highest risk score (`risk.rank_resources`)."""
    names = result.display_names
    out: list[dict[str, Any]] = []
    ranked = rank_resources(enumerate(result.findings), metas, limit=TOP_RISKS)
    for rank, (_subject, scored) in enumerate(ranked, start=1):
        first = result.findings[scored[0].position]
        sub_id = first.subscription_id
        subject_id = risk_subject(first.resource_id, first.resource_type)
        out.append(
            {
                "rank": rank,
                "score": scored[0].score,
                "resource_id": subject_id,
                "resource_name": _subject_name(subject_id, first, names),
                "resource_type": _subject_type(subject_id, first),
                "subscription_id": sub_id,
                "subscription_name": names.get((sub_id or "").lower(), sub_id) if sub_id else None,
                "phi": any(in_phi_scope(result.findings[s.position]) for s in scored),
                "severity": effective_severity(first, metas[first.check_id]).value,
                "exposure": exposure_of(first.check_id).value,
                "failing": len(scored),
                "findings": [
                    _risk_finding(result.findings[s.position], s.score, metas, names)
                    for s in scored[:FINDINGS_PER_RISK]
                ],
            }
        )
    return out


def _risk_finding(
    finding: Finding, score: int, metas: Mapping[str, CheckMeta], names: Mapping[str, str]
) -> dict[str, Any]:
    meta = metas[finding.check_id]
    return {
        "identity": finding.identity,
        "check_id": finding.check_id,
        "title": meta.title,
        "severity": effective_severity(finding, meta).value,
        "exposure": exposure_of(finding.check_id).value,
        "score": score,
        "resource_name": names.get(finding.resource_name.lower(), finding.resource_name),
        "message": finding.message,
    }


def _subject_name(subject_id: str, finding: Finding, names: Mapping[str, str]) -> str:
    if subject_id.lower() == finding.resource_id.lower():
        return names.get(finding.resource_name.lower(), finding.resource_name)
    last = subject_id.rstrip("/").rsplit("/", 1)[-1]
    return names.get(last.lower(), last)


def _subject_type(subject_id: str, finding: Finding) -> str:
    if subject_id.lower() == finding.resource_id.lower():
        return finding.resource_type
    parts = subject_id.strip("/").split("/")
    if len(parts) == 2:
        return "Microsoft.Resources/subscriptions"
    if len(parts) == 4:
        return "Microsoft.Resources/resourceGroups"
    return f"{parts[5]}/{parts[6]}" if len(parts) >= 7 else finding.resource_type


def _check_status(counts: Mapping[str, int]) -> str:
    """A check's overall status: its worst finding (FAIL > ERROR > MANUAL > PASS > WAIVED > N/A)."""
    for status in (Status.FAIL, Status.ERROR, Status.MANUAL, Status.PASS, Status.WAIVED):
        if counts.get(status.value):
            return status.value
    return Status.NOT_APPLICABLE.value


class FailOn(enum.StrEnum):
    """`--fail-on` thresholds: fail the run on failing findings at or above this severity."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"
    NEVER = "never"


def exit_code(result: ScanResult, fail_on: FailOn, strict: bool) -> ExitCode:
    """0 clean, 1 failing findings at/above `fail_on`, 3 incomplete coverage under `--strict`.

    Incomplete coverage wins over failing findings under `--strict`: a gate must not treat a
    partial scan as a verdict.
    """
    coverage = result.summary.get("coverage", {})
    if strict and isinstance(coverage, dict) and not coverage.get("complete", False):
        return ExitCode.INCOMPLETE
    if fail_on is FailOn.NEVER:
        return ExitCode.OK
    threshold = Severity(fail_on.value).rank
    metas = {c.id: c for c in result.checks}
    for finding in result.findings:
        if (
            finding.status is Status.FAIL
            and effective_severity(finding, metas[finding.check_id]).rank >= threshold
        ):
            return ExitCode.FINDINGS
    return ExitCode.OK
