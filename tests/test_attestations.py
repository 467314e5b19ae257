"""Attestations turn the MANUAL findings of administrative safeguards into PASS or FAIL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from textwrap import dedent

import pytest

from azaudit.attestations import apply_attestations, load_attestations
from azaudit.demo import DEMO_NOW, build_demo_snapshot
from azaudit.engine import evaluate
from azaudit.errors import InputError
from azaudit.evaluators.base import ScanConfig
from azaudit.models import Finding, Status
from azaudit.reference import default_baa_list, default_us_regions
from tests.catalogue_support import builtin_catalogue

CATALOGUE = builtin_catalogue()
ADMINISTRATIVE = tuple(c for c in CATALOGUE.checks if c.meta.family == "administrative")
NOW = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)

GOOD = dedent(
    """\
    attestations:
      - check_id: adm_risk_analysis
        attested_by: Dana Whitfield, Security Officer
        attested_on: 2026-09-14
        evidence: https://contoso.sharepoint.com/sites/compliance/risk-analysis-2026.pdf
        expires: 2027-09-14
        note: Approved by the board.
      - check_id: adm_contingency_plan_tested
        attested_by: Lee Okafor, IT Operations
        attested_on: "2025-06-01"
        evidence: https://contoso.sharepoint.com/sites/compliance/dr-test-2025.pdf
        expires: 2026-06-01
    """
)


def _findings() -> list[Finding]:
    config = ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=DEMO_NOW,
    )
    return evaluate(build_demo_snapshot(), ADMINISTRATIVE, config)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "attestations.yaml"
    path.write_text(text)
    return path


def _by_check(findings: list[Finding]) -> dict[str, Finding]:
    return {f.check_id: f for f in findings}


def test_administrative_safeguards_are_manual_with_their_citations() -> None:
    ids = {c.id for c in ADMINISTRATIVE}
    assert {
        "adm_risk_analysis",
        "adm_risk_management",
        "adm_sanction_policy",
        "adm_activity_review",
        "adm_workforce_training",
        "adm_baa_microsoft",
        "adm_baa_vendors",
        "adm_contingency_plan",
        "adm_contingency_plan_tested",
        "adm_evaluation",
    } <= ids
    cited = {c.id: [x.id for x in c.meta.citations] for c in ADMINISTRATIVE}
    assert cited["adm_risk_analysis"][0] == "164.308(a)(1)(ii)(A)"
    assert cited["adm_workforce_training"][0] == "164.308(a)(5)(i)"
    assert {"164.308(b)(1)", "164.314(a)(1)"} <= set(cited["adm_baa_microsoft"])
    assert cited["adm_contingency_plan_tested"] == ["164.308(a)(7)(ii)(D)"]
    assert cited["adm_evaluation"] == ["164.308(a)(8)"]
    findings = _findings()
    assert len(findings) == len(ADMINISTRATIVE)
    assert {f.status for f in findings} == {Status.MANUAL}


def test_current_attestation_passes_with_its_evidence(tmp_path: Path) -> None:
    attestations = load_attestations(_write(tmp_path, GOOD))
    decided = _by_check(apply_attestations(_findings(), attestations, NOW))
    risk = decided["adm_risk_analysis"]
    assert risk.status is Status.PASS
    assert risk.property_path == "attestation"
    assert risk.observed == {
        "attested_by": "Dana Whitfield, Security Officer",
        "attested_on": "2026-09-14",
        "evidence": "https://contoso.sharepoint.com/sites/compliance/risk-analysis-2026.pdf",
        "expires": "2027-09-14",
        "note": "Approved by the board.",
    }
    assert "attested by Dana Whitfield, Security Officer on 2026-09-14" in risk.message
    assert "valid until 2027-09-14" in risk.message
    # Checks nobody attested stay MANUAL.
    assert decided["adm_sanction_policy"].status is Status.MANUAL


def test_expired_attestation_fails(tmp_path: Path) -> None:
    attestations = load_attestations(_write(tmp_path, GOOD))
    tested = _by_check(apply_attestations(_findings(), attestations, NOW))[
        "adm_contingency_plan_tested"
    ]
    assert tested.status is Status.FAIL
    assert "expired on 2026-06-01" in tested.message
    assert isinstance(tested.observed, dict)
    assert tested.observed["expires"] == "2026-06-01"
    # On its last day it still holds.
    last_day = datetime(2026, 6, 1, 23, 59, tzinfo=UTC)
    still = _by_check(apply_attestations(_findings(), attestations, last_day))
    assert still["adm_contingency_plan_tested"].status is Status.PASS


def test_attestation_dated_after_the_scan_vouches_for_nothing(tmp_path: Path) -> None:
    attestations = load_attestations(_write(tmp_path, GOOD))
    early = datetime(2026, 9, 1, tzinfo=UTC)
    risk = _by_check(apply_attestations(_findings(), attestations, early))["adm_risk_analysis"]
    assert risk.status is Status.MANUAL
    assert "dated after the scan" in risk.message


def test_attestation_never_overrides_what_azure_data_decided(tmp_path: Path) -> None:
    text = GOOD.replace("adm_risk_analysis", "kv_purge_protection")
    attestations = load_attestations(_write(tmp_path, text))
    findings = [
        Finding(
            check_id="kv_purge_protection",
            status=status,
            resource_id=f"/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/{n}",
            resource_type="Microsoft.KeyVault/vaults",
            resource_name=n,
            subscription_id="s",
            location="eastus",
            property_path="properties.enablePurgeProtection",
            observed=None,
            expected="true",
            message="as evaluated",
        )
        for n, status in (("a", Status.FAIL), ("b", Status.ERROR), ("c", Status.PASS))
    ]
    assert apply_attestations(findings, attestations, NOW) == findings


def test_attestation_narrowed_to_one_scope(tmp_path: Path) -> None:
    findings = _findings()
    tenant = _by_check(findings)["adm_risk_analysis"].resource_id
    text = GOOD.replace(
        "    note: Approved by the board.\n", f"    resource_id: {tenant.upper()}\n"
    )
    attestations = load_attestations(_write(tmp_path, text))
    assert (
        _by_check(apply_attestations(findings, attestations, NOW))["adm_risk_analysis"].status
        is Status.PASS
    )
    elsewhere = load_attestations(
        _write(
            tmp_path, GOOD.replace("    note: Approved by the board.\n", "    resource_id: /x\n")
        )
    )
    assert (
        _by_check(apply_attestations(findings, elsewhere, NOW))["adm_risk_analysis"].status
        is Status.MANUAL
    )
    assert [a.resource_id for a in elsewhere.unused(findings)] == ["/x"]
    assert attestations.unused(findings) == ()


def test_unknown_check_is_refused_against_the_catalogue(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("adm_risk_analysis", "adm_risk_analyses"))
    attestations = load_attestations(path)
    with pytest.raises(InputError) as caught:
        attestations.require_known(c.id for c in CATALOGUE.checks)
    assert str(caught.value).startswith(f"{path}: attestations[0].check_id: unknown check")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (GOOD.replace("    expires: 2027-09-14\n", ""), "attestations[0].expires: missing"),
        (GOOD.replace("2027-09-14", "next year"), "attestations[0].expires: expected a date"),
        (GOOD.replace("2027-09-14", "2026-01-01"), "attestations[0].expires: 2026-01-01 is before"),
        (
            GOOD.replace("https://contoso.sharepoint.com/sites/compliance/risk", "see binder"),
            "attestations[0].evidence: expected a link to the evidence",
        ),
        (
            GOOD.replace("attested_by: Dana", "signed_by: Dana"),
            "attestations[0].signed_by: unknown",
        ),
        (GOOD.replace("adm_contingency_plan_tested", "adm_risk_analysis"), "attested twice"),
        (GOOD.replace("attested_by: Lee Okafor, IT Operations", "attested_by: ''"), "non-empty"),
        ("attestations: []\n", "attestations: expected a non-empty list"),
        ("- check_id: x\n", "top level: expected a mapping with one key, 'attestations'"),
        ("attestations: [unclosed\n", "invalid YAML at line"),
    ],
)
def test_invalid_file_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as caught:
        load_attestations(path)
    line = str(caught.value)
    assert line.startswith(f"{path}: ")
    assert message in line
    assert "\n" not in line


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        load_attestations(tmp_path / "absent.yaml")
