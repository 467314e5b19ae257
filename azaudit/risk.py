"""Risk score and weighted posture: how the report ranks what to fix first (docs/report.md).

Both numbers are pure functions of findings and check metadata, so the HTML, JSON and console
outputs rank and weigh alike. The weights are part of the documented method; change them only
together with docs/report.md.

- **Risk score** of one failing finding: severity weight (effective severity, i.e. after PHI
  escalation) x PHI factor x exposure factor. A resource's score is its worst finding's score.
- **Weighted posture**: each check's pass rate weighted by the effective severity of its findings,
  averaged per check family with the checks' severities as weights, then the families averaged
  with equal weight, so hundreds of trivially passing inventory findings (BAA scope, residency)
  count as one family among nine instead of outvoting everything else.
"""

from __future__ import annotations

import enum
import heapq
import operator
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import NamedTuple

from azaudit.models import CheckMeta, Finding, Severity, Status

SEVERITY_WEIGHT: dict[Severity, int] = {
    Severity.CRITICAL: 10,
    Severity.HIGH: 6,
    Severity.MEDIUM: 3,
    Severity.LOW: 1,
    Severity.INFO: 0,
}
"""Weight of a severity in the risk score and the weighted posture (info carries no weight)."""

PHI_FACTOR = 2
"""A finding in PHI scope (or with no PHI scope configured: every finding) counts double."""


class Exposure(enum.StrEnum):
    """How directly an attacker on the internet reaches the weakness a check finds."""

    INTERNET = "internet"
    """Reachable from any internet address: inbound rules open to any source, anonymous blob
    access, a database firewall open to every address, a disk exportable by anyone."""
    PUBLIC_ENDPOINT = "public-endpoint"
    """A public endpoint or sign-in that is protected less than it should be: public network
    access enabled, plaintext or old TLS, sign-in without MFA or with legacy protocols."""
    INTERNAL = "internal"
    """Needs a foothold first (encryption at rest, logging, backup, RBAC hygiene, residency)."""

    @property
    def factor(self) -> int:
        """Multiplier in the risk score."""
        return _EXPOSURE_FACTOR[self]


_EXPOSURE_FACTOR = {Exposure.INTERNET: 3, Exposure.PUBLIC_ENDPOINT: 2, Exposure.INTERNAL: 1}

CHECK_EXPOSURE: dict[str, Exposure] = {
    "net_nsg_mgmt_ports_open": Exposure.INTERNET,
    "net_nsg_broad_inbound": Exposure.INTERNET,
    "net_storage_no_anonymous_blob": Exposure.INTERNET,
    "net_sql_firewall_open": Exposure.INTERNET,
    "ear_disk_public_access": Exposure.INTERNET,
    "net_paas_public_access": Exposure.PUBLIC_ENDPOINT,
    "net_storage_default_deny": Exposure.PUBLIC_ENDPOINT,
    "net_kv_network_restricted": Exposure.PUBLIC_ENDPOINT,
    "net_app_cors_wildcard": Exposure.PUBLIC_ENDPOINT,
    "net_app_remote_debug_off": Exposure.PUBLIC_ENDPOINT,
    "eit_app_https_only": Exposure.PUBLIC_ENDPOINT,
    "eit_app_tls12": Exposure.PUBLIC_ENDPOINT,
    "eit_app_ftps": Exposure.PUBLIC_ENDPOINT,
    "eit_storage_https_only": Exposure.PUBLIC_ENDPOINT,
    "eit_storage_tls12": Exposure.PUBLIC_ENDPOINT,
    "eit_sql_tls12": Exposure.PUBLIC_ENDPOINT,
    "eit_postgres_tls": Exposure.PUBLIC_ENDPOINT,
    "eit_redis_tls": Exposure.PUBLIC_ENDPOINT,
    "eit_paas_min_tls": Exposure.PUBLIC_ENDPOINT,
    "idn_mfa_privileged": Exposure.PUBLIC_ENDPOINT,
    "idn_mfa_all_users": Exposure.PUBLIC_ENDPOINT,
    "idn_mfa_azure_management": Exposure.PUBLIC_ENDPOINT,
    "idn_legacy_auth_blocked": Exposure.PUBLIC_ENDPOINT,
}
"""Exposure of the checks that find an internet-facing weakness; every other check (including
an organisation's own) is `INTERNAL`."""

TOP_RISKS = 10
"""How many resources "Top risks" names."""

FINDINGS_PER_RISK = 3
"""How many of a top-risk resource's failing findings are named (the worst first)."""


def exposure_of(check_id: str) -> Exposure:
    """The exposure a failing finding of this check means."""
    return CHECK_EXPOSURE.get(check_id, Exposure.INTERNAL)


def effective_severity(finding: Finding, meta: CheckMeta) -> Severity:
    """The finding's effective (PHI-escalated) severity, else its check's severity."""
    return finding.severity if finding.severity is not None else meta.severity


def in_phi_scope(finding: Finding) -> bool:
    """Whether the finding counts as PHI; unknown (no scope applied) counts as PHI (fail closed)."""
    return finding.phi is not False


def risk_score(finding: Finding, meta: CheckMeta) -> int:
    """Severity weight x PHI factor x exposure factor of one finding."""
    phi = PHI_FACTOR if in_phi_scope(finding) else 1
    return SEVERITY_WEIGHT[effective_severity(finding, meta)] * phi * exposure_of(meta.id).factor


def risk_subject(resource_id: str, resource_type: str) -> str:
    """The ARM id a finding's risk is filed under: the top-level resource it belongs to.

    A child (an NSG's security rule, a SQL server's database: a type with more than one `/`) is
    filed under its parent, and an extension resource at subscription scope (a Defender plan, a
    role assignment) under the subscription, so "Top risks" names resources a reader
    recognises. Anything else (a top-level resource, an Entra user, a URL) is its own subject.
    """
    parts = resource_id.strip("/").split("/")
    lowered = [p.lower() for p in parts]
    if len(parts) < 2 or lowered[0] != "subscriptions":
        return resource_id
    if len(parts) >= 4 and lowered[2] == "resourcegroups":
        if resource_type.count("/") > 1 and len(parts) >= 8 and lowered[4] == "providers":
            return "/" + "/".join(parts[:8])
        return resource_id
    if len(parts) > 2:
        return "/" + "/".join(parts[:2])
    return resource_id


class Scored(NamedTuple):
    """One failing finding with its score (`position`: its index in the result's findings)."""

    position: int
    score: int


def rank_resources(
    findings: Iterable[tuple[int, Finding]],
    metas: Mapping[str, CheckMeta],
    limit: int | None = None,
) -> list[tuple[str, list[Scored]]]:
    """Failing findings grouped by `risk_subject`, worst resource first (the first `limit`).

    Resources are ordered by their worst finding's score, then the sum of their scores, then
    their id; each resource's findings by score, then position. Only FAIL counts: ERROR is
    unknown (reported under coverage), WAIVED is an accepted risk.
    """
    # subject -> (-score, position) of each of its failing findings, in input order.
    grouped: dict[str, list[tuple[int, int]]] = {}
    # Many findings share a resource, and a score depends on check, severity and PHI only.
    subjects: dict[tuple[str, str], str] = {}
    scores: dict[tuple[str, Severity | None, bool | None], int] = {}
    failing = Status.FAIL
    for index, finding in findings:
        if finding.status is not failing:
            continue
        where = (finding.resource_id, finding.resource_type)
        subject = subjects.get(where)
        if subject is None:
            subject = subjects[where] = risk_subject(*where).lower()
        how = (finding.check_id, finding.severity, finding.phi)
        score = scores.get(how)
        if score is None:
            score = scores[how] = risk_score(finding, metas[finding.check_id])
        entry = (-score, index)
        group = grouped.get(subject)
        if group is None:
            grouped[subject] = [entry]
        else:
            group.append(entry)
    # (-worst score, -sum of scores, subject): the resources' order, compared as plain tuples.
    keys = [
        (min(entries)[0], sum(map(_negated_score, entries)), subject)
        for subject, entries in grouped.items()
    ]
    chosen = sorted(keys) if limit is None else heapq.nsmallest(limit, keys)
    return [
        (subject, [Scored(position, -negated) for negated, position in sorted(grouped[subject])])
        for _, _, subject in chosen
    ]


_negated_score = operator.itemgetter(0)


# -- weighted posture ---------------------------------------------------------------------------


FINDING_WEIGHT = {severity: max(weight, 1) for severity, weight in SEVERITY_WEIGHT.items()}
"""A finding's weight in its check's pass rate (info findings weigh 1)."""


def weighted_posture(
    findings: Iterable[Finding], metas: Mapping[str, CheckMeta]
) -> tuple[float | None, dict[str, float]]:
    """The weighted posture (percent) of `findings` and the posture of each check family.

    Per check: sum of weights of PASS findings / sum of weights of PASS, FAIL and ERROR findings,
    each finding weighted by its effective severity (info findings weigh 1, so an info-only check
    still has a rate). Per family: the checks' rates averaged with their check severity weights.
    Overall: the families' postures averaged with equal weight. None where nothing was evaluated.
    """
    # check id -> [passed weight, evaluated weight], in order of each check's first finding.
    tallies: dict[str, list[int]] = {}
    passing, failing, erring = Status.PASS, Status.FAIL, Status.ERROR
    for finding in findings:
        status = finding.status
        if status is not passing and status is not failing and status is not erring:
            continue
        check_id = finding.check_id
        severity = finding.severity
        weight = FINDING_WEIGHT[severity if severity is not None else metas[check_id].severity]
        tally = tallies.get(check_id)
        if tally is None:
            tally = tallies[check_id] = [0, 0]
        tally[1] += weight
        if status is passing:
            tally[0] += weight
    return posture_of_tallies(tallies, metas)


def posture_of_tallies(
    tallies: Mapping[str, Sequence[int]], metas: Mapping[str, CheckMeta]
) -> tuple[float | None, dict[str, float]]:
    """`weighted_posture` from each check's (passed weight, evaluated weight).

    The checks are averaged per family in the order of `tallies` (as `weighted_posture` meets
    them), so the figures are the same however the weights were summed.
    """
    families: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for check_id, (passed, evaluated) in tallies.items():
        meta = metas[check_id]
        families[meta.family].append((passed / evaluated, max(SEVERITY_WEIGHT[meta.severity], 1)))
    exact: dict[str, float] = {}
    for family, rates in sorted(families.items()):
        total = sum(w for _, w in rates)
        exact[family] = 100.0 * sum(r * w for r, w in rates) / total
    overall = round(sum(exact.values()) / len(exact), 1) if exact else None
    return overall, {family: round(value, 1) for family, value in exact.items()}


_EVALUATED = (Status.PASS, Status.FAIL, Status.ERROR)
