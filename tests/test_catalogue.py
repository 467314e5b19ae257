"""Catalogue integrity: every check is well-formed, cites real paragraphs and proves itself."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest
import yaml

from azaudit.casebook import run_case
from azaudit.catalogue import (
    CHECK_ID_RE,
    FAMILY_TITLES,
    Case,
    Catalogue,
    Check,
    load_catalogue,
    load_citations,
    parse_check,
    split_cases,
)
from azaudit.errors import CatalogueError
from azaudit.evaluators import EVALUATORS
from azaudit.models import Status, TargetKind
from azaudit.paths import checks_dir, data_dir
from tests.catalogue_support import builtin_catalogue

CATALOGUE = builtin_catalogue()
# Built-in definition names are GUID-shaped; one real built-in (SQL TDE, 17k78e20-...) carries a
# non-hex letter, so the pattern accepts lower-case alphanumerics in GUID layout.
POLICY_ID_RE = re.compile(
    r"^/providers/Microsoft\.Authorization/policy(Set)?Definitions/"
    r"[0-9a-z]{8}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{12}$"
)
CASES = [(check, case) for check in CATALOGUE.checks for case in check.cases]


def test_catalogue_has_at_least_thirty_checks_in_every_family() -> None:
    assert len(CATALOGUE.checks) >= 30
    families = {c.meta.family for c in CATALOGUE.checks}
    assert families == set(FAMILY_TITLES)


def test_ids_are_unique_and_well_formed() -> None:
    names = [n for c in CATALOGUE.checks for n in (c.id, *c.aliases)]
    assert len(names) == len(set(names))
    assert all(CHECK_ID_RE.match(n) for n in names)


def test_every_file_is_named_after_its_check_and_sits_in_a_known_family() -> None:
    for check in CATALOGUE.checks:
        assert check.path.stem == check.id
        assert check.path.parent.name == check.meta.family


def test_citations_come_from_the_canonical_table() -> None:
    table, safeguards = load_citations(checks_dir() / "citations.yaml")
    for check in CATALOGUE.checks:
        for citation in check.meta.citations:
            assert table[citation.id] == citation
            assert citation.safeguard in safeguards
            assert citation.implementation in {"required", "addressable", "standard", "policy"}


def test_citation_table_ids_look_like_cfr_paragraphs_or_named_policies() -> None:
    table, _ = load_citations(checks_dir() / "citations.yaml")
    for cid, citation in table.items():
        if citation.implementation == "policy":
            assert re.match(r"^policy:[a-z]+(-[a-z]+)*$", cid), cid
            assert citation.safeguard == "organisational_policy"
            assert citation.label == "Organisational policy"
        else:
            assert re.match(r"^164\.3(08|10|12|14|16)(\([a-zA-Z0-9]+\))+$", cid), cid
            assert citation.label == f"45 CFR {cid}"


def test_residency_cites_organisational_policy_not_a_borrowed_paragraph() -> None:
    residency = [c for c in CATALOGUE.checks if c.meta.family == "residency"]
    assert len(residency) >= 4
    for check in residency:
        assert [c.id for c in check.meta.citations] == ["policy:us-data-residency"], check.id
        assert "HIPAA sets no location requirement" in check.meta.citations[0].title


@pytest.mark.parametrize(
    "entry",
    [
        '"164.308(a)(9)": {title: T, safeguard: administrative, implementation: policy}',
        '"policy:x": {title: T, safeguard: administrative, implementation: required}',
        '"164.308(a)(9)": {title: T, safeguard: administrative, implementation: maybe}',
    ],
)
def test_citation_table_keeps_policies_apart_from_paragraphs(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "citations.yaml"
    path.write_text(f"safeguards: {{administrative: Admin}}\ncitations:\n  {entry}\n")
    with pytest.raises(CatalogueError, match=r"\.implementation: expected required"):
        load_citations(path)


def test_rules_name_registered_evaluators_with_valid_params() -> None:
    for check in CATALOGUE.checks:
        spec = EVALUATORS[check.rule.evaluator]
        assert list(spec.validate(check.rule.params)) == []
        assert check.meta.target in spec.targets


def test_every_check_has_pass_and_fail_cases() -> None:
    for check in CATALOGUE.checks:
        statuses = {case.expect for case in check.cases}
        if check.rule.evaluator == "manual":
            assert statuses == {Status.MANUAL}
        else:
            assert {Status.PASS, Status.FAIL} <= statuses, check.id


def test_checks_reading_detail_data_prove_the_error_path() -> None:
    missing = [
        c.id
        for c in CATALOGUE.checks
        if c.requires and not any(case.expect is Status.ERROR for case in c.cases)
    ]
    assert missing == []


def test_metadata_reads_well() -> None:
    for check in CATALOGUE.checks:
        meta = check.meta
        assert not meta.title.lower().startswith("ensure"), meta.id
        assert len(meta.rationale) >= 60, meta.id
        assert meta.remediation.cli or meta.remediation.portal
        if meta.remediation.azure_policy_id:
            assert POLICY_ID_RE.match(meta.remediation.azure_policy_id), meta.id
            assert meta.remediation.azure_policy_name, meta.id
        for ref in meta.references:
            assert ref.startswith("https://"), meta.id
        if meta.target is TargetKind.RESOURCE:
            assert meta.resource_types


POLICY_DEFINITIONS = json.loads(
    (data_dir() / "policy_definitions.json").read_text(encoding="utf-8")
)


def test_policy_definition_list_is_dated_and_sourced() -> None:
    assert POLICY_DEFINITIONS["repository"] == "https://github.com/Azure/azure-policy"
    assert re.fullmatch(r"[0-9a-f]{40}", POLICY_DEFINITIONS["commit"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", POLICY_DEFINITIONS["commit_date"])
    definitions = POLICY_DEFINITIONS["definitions"]
    assert len(definitions) > 2000
    ids = [d["id"].lower() for d in definitions]
    assert len(ids) == len(set(ids))
    for entry in definitions:
        assert POLICY_ID_RE.match(entry["id"]), entry["id"]
        # Microsoft marks a deprecated definition twice; the list must agree with itself.
        assert entry["deprecated"] == entry["displayName"].startswith("[Deprecated]"), entry["id"]


@pytest.mark.parametrize(
    "check",
    [c for c in CATALOGUE.checks if c.meta.remediation.azure_policy_id],
    ids=lambda c: c.id,
)
def test_remediation_offers_only_current_built_in_policy_definitions(check: Check) -> None:
    """No deprecated, unknown or misnamed built-in definition is offered as remediation."""
    known = {d["id"].lower(): d for d in POLICY_DEFINITIONS["definitions"]}
    remediation = check.meta.remediation
    assert remediation.azure_policy_id is not None
    entry = known.get(remediation.azure_policy_id.lower())
    assert entry is not None, f"{remediation.azure_policy_id} is not a built-in definition"
    assert not entry["deprecated"], f"{entry['displayName']} is deprecated"
    assert remediation.azure_policy_name == entry["displayName"]


@pytest.mark.parametrize(("check", "case"), CASES, ids=[f"{c.id}:{case.name}" for c, case in CASES])
def test_inline_case(check: Check, case: Case) -> None:
    outcome = run_case(check, case)
    assert outcome.ok, outcome.explain()


# -- built-in cases are parsed at first use ------------------------------------------------------

BUILTIN_FILES = sorted(p for p in checks_dir().rglob("*.yaml") if p.name != "citations.yaml")


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=lambda p: p.stem)
def test_a_built_in_file_reads_the_same_split_at_its_cases(path: Path) -> None:
    """Every built-in file ends with its `cases:` block, and its head and that block parsed
    apart give the document the whole file gives (same values, same lines)."""
    text = path.read_text(encoding="utf-8")
    split = split_cases(text)
    assert split is not None
    head, cases = split
    assert cases.count("\n") == text.count("\n")
    assert {**yaml.safe_load(head), **yaml.safe_load(cases)} == yaml.safe_load(text)


def test_loading_the_catalogue_leaves_built_in_cases_unparsed_until_asked() -> None:
    catalogue = load_catalogue()
    check = catalogue.checks[0]
    assert all(c.case_source._parsed is None for c in catalogue.checks)
    assert check.cases == builtin_catalogue().get(check.id).cases  # type: ignore[union-attr]
    assert check.case_source._parsed is not None


def _builtin_style(tmp_path: Path, text: str) -> Check:
    """`text` loaded as the catalogue loads a built-in check file."""
    family = tmp_path / "storage"
    family.mkdir(exist_ok=True)
    path = family / "org_storage_tagged_phi.yaml"
    path.write_text(text, encoding="utf-8")
    return parse_check(path, tmp_path, CATALOGUE.citations, "builtin")


def test_a_broken_built_in_cases_block_is_reported_when_the_cases_are_asked_for(
    tmp_path: Path,
) -> None:
    check = _builtin_style(tmp_path, GOOD_CHECK.replace("expect: FAIL, resource", "expect: [x"))
    assert check.id == "org_storage_tagged_phi"
    line = GOOD_CHECK.splitlines().index("  - {name: untagged, expect: FAIL, resource: {tags: {}}}")
    with pytest.raises(
        CatalogueError, match=rf"org_storage_tagged_phi.yaml: invalid YAML at line {line + 1}"
    ):
        check.cases  # noqa: B018 - reading the property parses the cases
    wrong = _builtin_style(tmp_path, GOOD_CHECK.replace("expect: PASS", "expect: MAYBE"))
    with pytest.raises(CatalogueError, match=r"cases\[0\]\.expect: expected one of"):
        wrong.cases  # noqa: B018


@pytest.mark.parametrize(
    "after",
    ["aliases: [org_old_name]\n", "---\nid: another\n", 'applies_if: "true"\n'],
)
def test_a_file_whose_cases_are_not_last_is_parsed_whole(tmp_path: Path, after: str) -> None:
    text = GOOD_CHECK + after
    assert split_cases(text) is None
    assert split_cases(GOOD_CHECK) is not None


def test_an_organisation_check_s_cases_are_parsed_with_it(tmp_path: Path) -> None:
    broken = GOOD_CHECK.replace("expect: FAIL, resource", "expect: [x")
    with pytest.raises(CatalogueError, match="invalid YAML"):
        load_catalogue([_org_dir(tmp_path, broken)], prove_cases=False)


# -- organisation checks (--checks-dir) and their validation ------------------------------------

GOOD_CHECK = dedent(
    """\
    id: org_storage_tagged_phi
    title: Storage accounts carry a data-classification tag
    severity: low
    hipaa: ["164.308(a)(1)(ii)(A)"]
    rationale: >
      The risk analysis needs to know which accounts hold PHI; an untagged account cannot be
      scoped by the organisation's controls.
    remediation:
      summary: Tag the account with its data classification.
      cli: az tag update --resource-id <id> --operation merge --tags dataClassification=phi
    target: {kind: resource, types: [Microsoft.Storage/storageAccounts]}
    rule:
      expression: "tags.dataClassification != null"
      path: tags.dataClassification
      expected: a dataClassification tag
    cases:
      - {name: tagged, expect: PASS, resource: {tags: {dataClassification: phi}}}
      - {name: untagged, expect: FAIL, resource: {tags: {}}}
    """
)


def _org_dir(tmp_path: Path, text: str, name: str = "org_storage_tagged_phi") -> Path:
    directory = tmp_path / "org-checks" / "custom"
    directory.mkdir(parents=True)
    (directory / f"{name}.yaml").write_text(text)
    return tmp_path / "org-checks"


def test_organisation_checks_are_added(tmp_path: Path) -> None:
    catalogue = load_catalogue([_org_dir(tmp_path, GOOD_CHECK)])
    check = catalogue.get("org_storage_tagged_phi")
    assert check is not None
    assert check.meta.origin.endswith("org-checks")
    assert len(catalogue.checks) == len(CATALOGUE.checks) + 1
    assert all(run_case(check, case).ok for case in check.cases)


def _mutated(**changes: object) -> str:
    document = yaml.safe_load(GOOD_CHECK)
    for key, value in changes.items():
        if value is None:
            document.pop(key)
        else:
            document[key] = value
    return yaml.safe_dump(document)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_mutated(id="Org-Bad"), "id: 'Org-Bad' must match"),
        (_mutated(hipaa=["164.999(z)"]), "hipaa: unknown citation(s) 164.999(z)"),
        (_mutated(severity="urgent"), "severity: expected one of critical, high"),
        (_mutated(rule={"evaluator": "no_such_thing"}), "rule.evaluator: unknown evaluator"),
        (
            _mutated(rule={"evaluator": "min_tls_version", "params": {"path": "x"}}),
            "rule.params: missing required parameter 'minimum'",
        ),
        (
            _mutated(
                rule={
                    "evaluator": "min_tls_version",
                    "params": {"path": "x", "minimum": "1.2", "colour": "red"},
                }
            ),
            "rule.params: unknown parameter 'colour'",
        ),
        (
            _mutated(rule={"expression": "tags.[", "path": "x", "expected": "y"}),
            "rule.expression: invalid JMESPath",
        ),
        (
            _mutated(cases=[{"name": "only pass", "expect": "PASS"}]),
            "cases: expected at least one PASS case and one FAIL case",
        ),
        (_mutated(requires=["no/such/source"]), "requires: unknown data source 'no/such/source'"),
        (_mutated(remediation=None), "remediation: expected a mapping"),
        ("id: [unclosed\n", "invalid YAML at line"),
        ("- a list\n", "expected a YAML mapping at the top level"),
    ],
)
def test_invalid_checks_are_rejected_with_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    directory = _org_dir(tmp_path, text)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([directory])
    assert str(directory) in str(caught.value)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    text = _mutated(id="eit_storage_https_only")
    directory = _org_dir(tmp_path, text, name="eit_storage_https_only")
    with pytest.raises(CatalogueError, match="'eit_storage_https_only' is already used"):
        load_catalogue([directory])


def test_checks_dir_must_exist_and_hold_checks(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="not a directory"):
        load_catalogue([tmp_path / "absent"])
    with pytest.raises(CatalogueError, match="no check files"):
        load_catalogue([tmp_path])


def test_lookup_by_alias(tmp_path: Path) -> None:
    text = _mutated(aliases=["org_old_name"])
    catalogue: Catalogue = load_catalogue([_org_dir(tmp_path, text)])
    check = catalogue.get("org_old_name")
    assert check is not None
    assert check.id == "org_storage_tagged_phi"


def test_organisation_check_contradicting_its_own_case_is_refused_at_load(
    tmp_path: Path,
) -> None:
    # The "untagged" example is actually tagged: the rule passes it, so the check lies.
    text = GOOD_CHECK.replace("resource: {tags: {}}", "resource: {tags: {dataClassification: x}}")
    directory = _org_dir(tmp_path, text)
    with pytest.raises(CatalogueError) as caught:
        load_catalogue([directory])
    message = str(caught.value)
    assert message.startswith(str(directory / "custom" / "org_storage_tagged_phi.yaml"))
    assert "cases[1] 'untagged': check org_storage_tagged_phi expected FAIL, got PASS" in message
    assert "\n" not in message


def test_scan_refuses_a_lying_organisation_check_in_one_line(tmp_path: Path) -> None:
    text = GOOD_CHECK.replace("resource: {tags: {}}", "resource: {tags: {dataClassification: x}}")
    directory = _org_dir(tmp_path, text)
    out = tmp_path / "out"
    env = {**os.environ, "NO_COLOR": "1", "AZURE_TOKEN_CREDENTIALS": "EnvironmentCredential"}
    proc = subprocess.run(
        [sys.executable, "-m", "azaudit", "scan", "--demo", "--checks-dir", str(directory),
         "--out", str(out)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("azaudit: error: ")
    assert "cases[1] 'untagged': check org_storage_tagged_phi expected FAIL, got PASS" in line
    assert proc.stdout == ""
    assert not out.exists()


def test_case_that_cannot_run_is_refused_with_its_name(tmp_path: Path) -> None:
    text = _mutated(
        target={"kind": "resource", "types": ["*"]},
        cases=[
            {
                "name": "typed",
                "expect": "PASS",
                "resource": {"type": "X.Y/z", "tags": {"dataClassification": 1}},
            },
            {"name": "untyped", "expect": "FAIL", "resource": {"tags": {}}},
        ],
    )
    with pytest.raises(CatalogueError, match=r"cases\[1\] 'untyped': .*resource.type is required"):
        load_catalogue([_org_dir(tmp_path, text)])


def test_proving_can_be_deferred_to_checks_test(tmp_path: Path) -> None:
    text = GOOD_CHECK.replace("resource: {tags: {}}", "resource: {tags: {dataClassification: x}}")
    catalogue = load_catalogue([_org_dir(tmp_path, text)], prove_cases=False)
    check = catalogue.get("org_storage_tagged_phi")
    assert check is not None
    assert [run_case(check, case).ok for case in check.cases] == [True, False]
