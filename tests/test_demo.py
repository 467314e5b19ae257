"""The bundled demo tenant: size, determinism, valid format, and a PASS and a FAIL for every check.

The demo is what most people see first, so every check in the catalogue must show both outcomes
on it: a check added without demo coverage fails this suite.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from azaudit.catalogue import Check, source_scope_kind
from azaudit.demo import COLLECTED_AT, DEMO_NOW, build_demo_snapshot
from azaudit.engine import evaluate_check
from azaudit.evaluators.base import ScanConfig
from azaudit.models import Finding, Status, TargetKind
from azaudit.reference import default_baa_list, default_us_regions
from azaudit.snapshot import Snapshot, dump_snapshot, load_snapshot, write_snapshot
from azaudit.sources import INVENTORY, all_sources, find_source
from azaudit.web.scan import DOCUMENT as WEB_SCAN_DOCUMENT
from tests.catalogue_support import builtin_catalogue

CATALOGUE = builtin_catalogue()
RESOURCE_AND_SUBSCRIPTION_CHECKS = [
    c for c in CATALOGUE.checks if c.meta.target is not TargetKind.TENANT
]
TENANT_CHECKS = [c for c in CATALOGUE.checks if c.meta.target is TargetKind.TENANT]

TENANT_STORY: dict[str, Status] = {
    # Tenant-level checks give one verdict for the whole tenant (or one per privileged user), so
    # the demo picks the instructive outcome: a status the check must report.
    # NW-CA001/NW-CA002 require MFA but exclude two accounts that the shipped checks do not
    # declare as break-glass (break_glass_accounts is empty): the policies are partial.
    "idn_mfa_all_users": Status.FAIL,
    "idn_mfa_azure_management": Status.FAIL,
    "idn_legacy_auth_blocked": Status.FAIL,  # NW-CA003 is report-only
    "idn_global_admin_count": Status.FAIL,  # five Global Administrators
    "idn_mfa_privileged": Status.FAIL,  # Raj Patel has no MFA method registered
    "idn_stale_privileged": Status.FAIL,  # Tom Becker last signed in 187 days ago
    "idn_guest_invite_restricted": Status.PASS,  # adminsAndGuestInviters
    "idn_user_consent_restricted": Status.FAIL,  # microsoft-user-default-legacy
    "log_entra_logs_export": Status.PASS,  # every category goes to the security workspace
    # The recorded web scan (azaudit/demo/web_scan.py): each web check fails somewhere.
    "web_tracker_no_baa_patient_facing": Status.FAIL,  # Clarity on the portal's appointments
    "web_tracker_no_baa": Status.FAIL,  # Google Analytics on the billing statements
    "web_tracker_baa_unknown": Status.FAIL,  # Crazy Egg on the referral app's staging slot
    "web_tracker_baa_conditional": Status.FAIL,  # Twilio Segment on the referral app
    "web_appinsights_own_tenant": Status.FAIL,  # the billing app reports to a foreign key
}

GAP_SITE_NAME = "app-nw-dev-etl-api"


@cache
def _snapshot() -> Snapshot:
    return build_demo_snapshot()


def _config() -> ScanConfig:
    # The demo is evaluated at its collection time, so sign-in ages stay as designed.
    return ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=DEMO_NOW,
    )


@cache
def _findings(check_id: str) -> tuple[Finding, ...]:
    check = CATALOGUE.get(check_id)
    assert check is not None
    return tuple(evaluate_check(_snapshot(), check, _config()))


def _statuses(check: Check) -> Counter[Status]:
    return Counter(f.status for f in _findings(check.id))


# -- size and variety ------------------------------------------------------------------------------


def test_demo_has_the_promised_size_and_variety() -> None:
    snap = _snapshot()
    types = Counter(str(r["type"]).lower() for r in snap.resources)
    assert len(snap.subscriptions) >= 3
    assert len(snap.resources) >= 150
    assert len(types) >= 15
    us = frozenset(default_us_regions())
    outside = [r for r in snap.resources if str(r["location"]).lower() not in us | {"global"}]
    assert outside, "expected some resources outside the US"
    baa = default_baa_list()
    not_covered = set()
    for row in snap.resources:
        _, service = baa.service_for_type(str(row["type"]))
        if service is not None and service.in_scope is False:
            not_covered.add(str(row["type"]))
    assert not_covered >= {"microsoft.datadog/monitors", "microsoft.saas/resources"}
    ids = [str(r["id"]).lower() for r in snap.resources]
    assert len(ids) == len(set(ids)), "resource ids must be unique"


def test_resource_rows_have_every_resource_graph_column() -> None:
    columns = {
        "id", "name", "type", "tenantId", "kind", "location", "resourceGroup", "subscriptionId",
        "managedBy", "sku", "plan", "properties", "tags", "identity", "zones", "extendedLocation",
    }  # fmt: skip
    subscriptions = set(_snapshot().subscription_ids())
    for row in _snapshot().resources:
        assert set(row) == columns, row["id"]
        assert row["type"] == str(row["type"]).lower(), "Resource Graph returns lower-case types"
        assert str(row["id"]).startswith(f"/subscriptions/{row['subscriptionId']}/")
        assert row["subscriptionId"] in subscriptions
        assert row["tenantId"] == _snapshot().tenant_id


def test_every_document_is_stored_under_a_known_source_name() -> None:
    snap = _snapshot()
    subscription_scopes = {f"/subscriptions/{s}" for s in snap.subscription_ids()}
    for scope, docs in snap.details.items():
        kind = TargetKind.SUBSCRIPTION if scope in subscription_scopes else TargetKind.RESOURCE
        kind = TargetKind.TENANT if scope == "/" else kind  # tenant-level ARM documents
        for name in docs:
            if (scope, name) == ("/", WEB_SCAN_DOCUMENT):
                continue  # written by the web scanner, not read from an Azure API
            assert find_source(kind, name) is not None, f"{scope}: unknown source {name!r}"
    for name in snap.graph:
        assert find_source(TargetKind.TENANT, name) is not None, name


def test_every_typed_source_is_collected_for_every_resource_of_its_types() -> None:
    """Like a real collector: a document for each resource, or a gap saying why not."""
    snap = _snapshot()
    for source in all_sources():
        if source.scope is not TargetKind.RESOURCE or not source.resource_types:
            continue
        wanted = {t.lower() for t in source.resource_types}
        for row in snap.resources:
            if str(row["type"]) not in wanted:
                continue
            found, _ = snap.detail(str(row["id"]), source.name)
            assert found or snap.gap_for(str(row["id"]), source.name), (row["id"], source.name)


def test_build_is_fast() -> None:
    started = time.perf_counter()
    build_demo_snapshot()
    assert time.perf_counter() - started < 1.0


# -- determinism and format ------------------------------------------------------------------------


def test_two_builds_are_byte_identical() -> None:
    assert dump_snapshot(build_demo_snapshot()) == dump_snapshot(build_demo_snapshot())
    assert _snapshot().collected_at == COLLECTED_AT


@pytest.mark.parametrize("name", ["demo.json", "demo.json.gz"])
def test_demo_round_trips_through_the_snapshot_format(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    write_snapshot(_snapshot(), path)
    loaded = load_snapshot(path)
    assert dump_snapshot(loaded) == dump_snapshot(_snapshot())
    assert len(loaded.gaps) == 1


# -- coverage of the catalogue ---------------------------------------------------------------------


@pytest.mark.parametrize("check", RESOURCE_AND_SUBSCRIPTION_CHECKS, ids=lambda c: c.id)
def test_check_passes_and_fails_somewhere_in_the_demo(check: Check) -> None:
    statuses = _statuses(check)
    assert statuses[Status.PASS] >= 1, f"{check.id}: no PASS in the demo ({dict(statuses)})"
    assert statuses[Status.FAIL] >= 1, f"{check.id}: no FAIL in the demo ({dict(statuses)})"


@pytest.mark.parametrize("check", TENANT_CHECKS, ids=lambda c: c.id)
def test_tenant_check_gives_a_verdict_on_the_demo(check: Check) -> None:
    statuses = _statuses(check)
    assert set(statuses) - {Status.ERROR}, f"{check.id}: only errors ({dict(statuses)})"
    if check.id in TENANT_STORY:
        assert TENANT_STORY[check.id] in statuses, f"{check.id}: {dict(statuses)}"


def test_the_one_collection_gap_is_the_only_source_of_errors() -> None:
    snap = _snapshot()
    assert len(snap.gaps) == 1
    gap = snap.gaps[0]
    assert gap.source == "config/web"
    assert gap.status_code == 403
    assert gap.scope.endswith(f"/Microsoft.Web/sites/{GAP_SITE_NAME}")
    errors = [f for c in CATALOGUE.checks for f in _findings(c.id) if f.status is Status.ERROR]
    assert errors, "the gap must show up as ERROR findings"
    for finding in errors:
        assert finding.resource_id == gap.scope, (finding.check_id, finding.message)
        check = CATALOGUE.get(finding.check_id)
        assert check is not None
        assert "config/web" in check.requires
        assert source_scope_kind(check.meta.target, "config/web") is TargetKind.RESOURCE
    assert snap.gap_for(gap.scope, INVENTORY) is None


# -- no secrets ------------------------------------------------------------------------------------

FORBIDDEN_KEYS = {
    "appsettings",
    "connectionstrings",
    "password",
    "adminpassword",
    "administratorloginpassword",
    "storageaccountaccesskey",
    "primarykey",
    "secondarykey",
    "primaryconnectionstring",
    "secondaryconnectionstring",
    "accesskeys",
    "sharedaccesskey",
    "clientsecret",
    "secrettext",
}
SECRET_VALUE_PATTERNS = [
    re.compile(p, re.IGNORECASE)
    for p in (
        r"AccountKey=",
        r"SharedAccessKey=",
        r"SharedAccessSignature",
        r"[?&]sig=",
        r"Password=",
        r"-----BEGIN",
        r"DefaultEndpointsProtocol=",
    )
]
KEY_LIKE = re.compile(r"^[A-Za-z0-9+/]{32,}={0,2}$")


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield path, str(key), child
            yield from _walk(child, f"{path}.{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _walk(child, f"{path}[{i}]")


def _looks_like_key(text: str) -> bool:
    return bool(
        KEY_LIKE.match(text)
        and re.search(r"[a-z]", text)
        and re.search(r"[A-Z]", text)
        and re.search(r"[0-9]", text)
    )


def _harmless_secretish(value: Any) -> bool:
    """Values a field named like `secrets`/`password...` may carry without being a secret.

    Key Vault access policies list `secrets` permissions (`get`, `list`), Linux VMs report
    `disablePasswordAuthentication`, PostgreSQL `passwordAuth: Enabled`: flags and verbs, no values.
    """
    if value is None or isinstance(value, bool | dict):
        return True
    if isinstance(value, str):
        return value in ("Enabled", "Disabled", "true", "false")
    if isinstance(value, list):
        return all(isinstance(v, str) and re.fullmatch(r"[a-zA-Z]+", v) for v in value)
    return False


def test_no_secret_fields_or_secret_looking_values_anywhere() -> None:
    problems = []
    for path, key, value in _walk(_snapshot().to_json()):
        lowered = key.lower()
        if lowered in FORBIDDEN_KEYS:
            problems.append(f"{path}.{key}: forbidden field")
        if ("password" in lowered or "secret" in lowered) and not _harmless_secretish(value):
            problems.append(f"{path}.{key}: {value!r}")
        if isinstance(value, str) and (
            any(p.search(value) for p in SECRET_VALUE_PATTERNS) or _looks_like_key(value)
        ):
            problems.append(f"{path}.{key}: secret-looking value")
    assert problems == []


def test_secret_detector_catches_what_it_is_meant_to() -> None:
    """The detector itself must be able to fail (guards the test above)."""
    assert not _harmless_secretish("P@ssw0rd-2026!")
    assert not _harmless_secretish(["s3cr3t value"])
    assert _looks_like_key("Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MEFCQ0RFRkdISUpL")
    assert not _looks_like_key("7F3BB652450EF7AD0B6AA33064586E4A9CE823A46DF0B2EC6443A68086E84153")
    assert any(
        p.search("DefaultEndpointsProtocol=https;AccountKey=abc") for p in SECRET_VALUE_PATTERNS
    )


# -- the story, summarised for readers of the report ----------------------------------------------


def test_statuses_by_subscription_tell_the_story() -> None:
    """Production is mostly hardened; dev is the weakest subscription."""
    fail_rate: dict[str, float] = {}
    counts: defaultdict[str, Counter[Status]] = defaultdict(Counter)
    for check in RESOURCE_AND_SUBSCRIPTION_CHECKS:
        for f in _findings(check.id):
            if f.subscription_id is not None:
                counts[f.subscription_id][f.status] += 1
    names = {str(s["subscriptionId"]): str(s["displayName"]) for s in _snapshot().subscriptions}
    for sub, c in counts.items():
        fail_rate[names[sub]] = c[Status.FAIL] / max(1, c[Status.PASS] + c[Status.FAIL])
    assert max(fail_rate, key=fail_rate.__getitem__) == "nw-dev-analytics", fail_rate
    assert fail_rate["nw-prod-clinical"] < 0.5
    assert fail_rate["nw-prod-patient-portal"] < 0.5
