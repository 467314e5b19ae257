"""Loading and validating the check catalogue (`checks/<family>/<check_id>.yaml`).

The catalogue is data a compliance reviewer can read; this module makes sure it is also data the
engine can trust: every problem is reported as one line naming the file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import jmespath
import jmespath.exceptions
import yaml

from azaudit.errors import CatalogueError
from azaudit.evaluators import get_evaluator
from azaudit.models import CheckMeta, Citation, Remediation, Severity, Status, TargetKind
from azaudit.paths import checks_dir
from azaudit.sources import find_source
from azaudit.yaml_text import safe_load

CHECK_ID_RE = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")
CITATIONS_FILE = "citations.yaml"
POLICY_CITATION_PREFIX = "policy:"
"""Citation ids of organisational requirements that no HIPAA paragraph states (e.g. residency)."""
IMPLEMENTATIONS = frozenset({"required", "addressable", "standard", "policy"})

# The fields a check file may hold. Anything else is a mistake that would otherwise be ignored
# silently: a misspelt `applies_if` would widen a check, a misspelt `requires` would lose its
# data sources.
CHECK_FIELDS = frozenset(
    {
        "id",
        "title",
        "severity",
        "hipaa",
        "rationale",
        "remediation",
        "references",
        "target",
        "requires",
        "applies_if",
        "rule",
        "cases",
        "aliases",
    }
)
TARGET_FIELDS = frozenset({"kind", "types"})
REMEDIATION_FIELDS = frozenset({"summary", "cli", "portal", "azure_policy"})
CASE_FIELDS = frozenset(
    {"name", "expect", "resource", "details", "resources", "scopes", "graph", "gaps"}
)

FAMILY_TITLES: dict[str, str] = {
    "administrative": "Administrative safeguards (attested)",
    "scope": "BAA scope",
    "residency": "US data residency",
    "encryption_at_rest": "Encryption at rest and key management",
    "encryption_in_transit": "Encryption in transit",
    "identity": "Identity, MFA and least privilege",
    "network": "Network access control",
    "logging": "Audit logging and monitoring",
    "defender": "Defender for Cloud and threat protection",
    "backup": "Backup, contingency and integrity",
    "web": "Website trackers and patient portals",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """How a check decides: a registered evaluator and its parameters."""

    evaluator: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Case:
    """An inline example world and the status the check must give it."""

    name: str
    expect: Status
    body: Mapping[str, Any]


class CaseSource:
    """A check's inline cases: given as parsed, or parsed from their YAML text at first use.

    A scan never runs a built-in check's cases (the test suite proves them), and they are most
    of the catalogue's YAML: a built-in check file's `cases:` block is kept as text and parsed
    only when something asks for the cases (`azaudit checks test`, the test suite). A problem
    in it is then reported as any other problem of the file, naming the file, field and line.
    """

    __slots__ = ("_parse", "_parsed")

    def __init__(
        self,
        parsed: tuple[Case, ...] | None = None,
        parse: Callable[[], tuple[Case, ...]] | None = None,
    ) -> None:
        self._parsed = parsed
        self._parse = parse

    def cases(self) -> tuple[Case, ...]:
        """The cases (parsed once).

        Raises:
            CatalogueError: the deferred `cases:` block is invalid.
        """
        if self._parsed is None:
            self._parsed = self._parse() if self._parse is not None else ()
            self._parse = None
        return self._parsed


@dataclass(frozen=True, slots=True)
class Check:
    """A check: its reader-facing metadata plus the rule and its examples."""

    meta: CheckMeta
    rule: Rule
    requires: tuple[str, ...]
    applies_if: str | None
    aliases: tuple[str, ...]
    case_source: CaseSource = field(compare=False)
    path: Path

    @property
    def id(self) -> str:
        """The check's public id (stable: used in waivers, SARIF and history)."""
        return self.meta.id

    @property
    def cases(self) -> tuple[Case, ...]:
        """The check's inline examples (`CaseSource`)."""
        return self.case_source.cases()


@dataclass(frozen=True, slots=True)
class Catalogue:
    """All checks in force for a scan, and the citation table they cite."""

    checks: tuple[Check, ...]
    citations: Mapping[str, Citation]
    safeguards: Mapping[str, str]

    def get(self, check_id: str) -> Check | None:
        """A check by id or alias."""
        for check in self.checks:
            if check.id == check_id or check_id in check.aliases:
                return check
        return None


def load_citations(path: Path) -> tuple[dict[str, Citation], dict[str, str]]:
    """The canonical citation table and the safeguard titles."""
    document = _read_yaml(path)
    safeguards = document.get("safeguards")
    citations = document.get("citations")
    if not isinstance(safeguards, dict) or not isinstance(citations, dict):
        raise CatalogueError(f"{path}: expected 'safeguards' and 'citations' mappings")
    table: dict[str, Citation] = {}
    for cid, entry in citations.items():
        if not isinstance(entry, dict) or entry.get("safeguard") not in safeguards:
            raise CatalogueError(
                f"{path}: citations[{cid!r}]: expected title, safeguard, implementation"
            )
        # A requirement without a Security Rule paragraph must never pass for one: `policy:`
        # ids and the `policy` implementation go together (reports label them accordingly).
        is_policy = str(cid).startswith(POLICY_CITATION_PREFIX)
        if entry.get("implementation") not in IMPLEMENTATIONS or is_policy != (
            entry.get("implementation") == "policy"
        ):
            raise CatalogueError(
                f"{path}: citations[{cid!r}].implementation: expected required, addressable or "
                "standard for a 164.3xx paragraph, policy for a policy: entry"
            )
        table[str(cid)] = Citation(
            id=str(cid),
            title=str(entry["title"]),
            safeguard=str(entry["safeguard"]),
            implementation=str(entry["implementation"]),
        )
    return table, {str(k): str(v) for k, v in safeguards.items()}


def load_catalogue(extra_dirs: Sequence[Path] = (), *, prove_cases: bool = True) -> Catalogue:
    """Load the built-in checks and any organisation directories (`--checks-dir`).

    An organisation's check is only as trustworthy as its inline cases: with `prove_cases` (the
    default) each of its cases is run at load and a case that does not give its expected status
    refuses the whole catalogue, so a scan never runs a check that contradicts its own examples.
    Built-in checks are proved by the test suite instead of on every load. `azaudit checks test`
    passes `prove_cases=False` to report every failing case rather than the first.

    Raises:
        CatalogueError: on the first invalid file, naming it and the field (or the failing case).
    """
    builtin = checks_dir()
    citations, safeguards = load_citations(builtin / CITATIONS_FILE)
    checks: list[Check] = []
    for directory, origin in [(builtin, "builtin"), *((d, str(d)) for d in extra_dirs)]:
        if not directory.is_dir():
            raise CatalogueError(f"--checks-dir {directory}: not a directory")
        files = sorted(p for p in directory.rglob("*.yaml") if p.name != CITATIONS_FILE)
        if origin != "builtin" and not files:
            raise CatalogueError(f"--checks-dir {directory}: no check files (*.yaml) found")
        checks.extend(parse_check(p, directory, citations, origin) for p in files)
    _reject_duplicates(checks)
    if prove_cases:
        for check in checks:
            if check.meta.origin != "builtin":
                prove_check(check)
    return Catalogue(tuple(sorted(checks, key=lambda c: c.id)), citations, safeguards)


def prove_check(check: Check) -> None:
    """Run a check's inline cases; refuse it, naming the check and the case, if one fails.

    Raises:
        CatalogueError: `<file>: cases[i] '<name>': <check id> expected X, got Y (message)`.
    """
    # The case runner evaluates checks, and the engine imports this module: import at call time.
    from azaudit.casebook import run_case

    for i, case in enumerate(check.cases):
        where = f"{check.path}: cases[{i}] {case.name!r}"
        try:
            outcome = run_case(check, case)
        except ValueError as exc:
            raise CatalogueError(f"{where}: {_one_line(str(exc))}") from None
        if not outcome.ok:
            got = ", ".join(sorted({f.status.value for f in outcome.findings})) or "no findings"
            first = next((f for f in outcome.findings if f.status is not case.expect), None)
            why = f" ({_one_line(first.message)})" if first is not None and first.message else ""
            raise CatalogueError(
                f"{where}: check {check.id} expected {case.expect.value}, got {got}{why}; "
                "the check contradicts its own example and was not loaded"
            )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _reject_duplicates(checks: Iterable[Check]) -> None:
    seen: dict[str, Path] = {}
    for check in checks:
        for name in (check.id, *check.aliases):
            if name in seen:
                raise CatalogueError(f"{check.path}: id: {name!r} is already used by {seen[name]}")
            seen[name] = check.path


def _read_yaml(path: Path) -> dict[str, Any]:
    return _parse_yaml(path, _read_text(path))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CatalogueError(f"{path}: not UTF-8 text, expected a YAML check file") from None


def _parse_yaml(path: Path, text: str) -> dict[str, Any]:
    try:
        document = safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise CatalogueError(f"{path}: invalid YAML{where}") from None
    if not isinstance(document, dict):
        raise CatalogueError(f"{path}: expected a YAML mapping at the top level")
    return document


_CASES_KEY = re.compile(r"^cases:", re.MULTILINE)
_TOP_LEVEL_LINE = re.compile(r"^(?:[^\s#-]|-\S)", re.MULTILINE)


def split_cases(text: str) -> tuple[str, str] | None:
    """`(head, cases)`: a check file's text before its top-level `cases:` key, and that key's
    block with the head's lines blanked (so a YAML error in it names the file's own line).

    None when the file does not end with the `cases:` block (another top-level key or a
    document marker follows it, or there is none): such a file is parsed whole.
    """
    found = _CASES_KEY.search(text)
    if found is None:
        return None
    head, tail = text[: found.start()], text[found.start() :]
    if _TOP_LEVEL_LINE.search(tail, 1) is not None:
        return None
    return head, "\n" * head.count("\n") + tail


def parse_check(path: Path, root: Path, citations: Mapping[str, Citation], origin: str) -> Check:
    """Parse and validate one check file (a built-in check's cases at first use, see
    `CaseSource`)."""
    text = _read_text(path)
    split = split_cases(text) if origin == "builtin" else None
    doc = _parse_yaml(path, split[0] if split is not None else text)
    p = _Fields(path, doc)
    p.known_keys("", doc, CHECK_FIELDS)
    check_id = p.string("id")
    if not CHECK_ID_RE.match(check_id):
        p.fail("id", f"{check_id!r} must match {CHECK_ID_RE.pattern}")
    if path.stem != check_id:
        p.fail("id", f"{check_id!r} must equal the file name {path.stem!r}")
    relative = path.relative_to(root)
    family = relative.parts[0] if len(relative.parts) > 1 else "custom"
    severity_raw = p.string("severity")
    try:
        severity = Severity(severity_raw)
    except ValueError:
        p.fail("severity", f"expected one of {', '.join(s.value for s in Severity)}")
    cited = p.string_list("hipaa")
    if not cited:
        p.fail("hipaa", "expected at least one citation")
    unknown = [c for c in cited if c not in citations]
    if unknown:
        p.fail("hipaa", f"unknown citation(s) {', '.join(unknown)}; see checks/{CITATIONS_FILE}")
    remediation = _remediation(p)
    target = p.mapping("target")
    p.known_keys("target.", target, TARGET_FIELDS)
    try:
        kind = TargetKind(str(target.get("kind")))
    except ValueError:
        p.fail("target.kind", f"expected one of {', '.join(k.value for k in TargetKind)}")
    types = tuple(str(t) for t in target.get("types") or ())
    if kind is TargetKind.RESOURCE and not types:
        p.fail("target.types", "a resource check needs at least one resource type")
    requires = tuple(p.string_list("requires", required=False))
    for name in requires:
        if _resolve_source(kind, name) is None:
            p.fail("requires", f"unknown data source {name!r}; see azaudit/sources.py")
    applies_if = doc.get("applies_if")
    if applies_if is not None:
        _compile(p, "applies_if", applies_if)
    rule = _rule(p, kind)
    if split is None:
        case_source = CaseSource(parsed=_cases(p, rule))
    else:
        cases_text = split[1]

        def parse_cases() -> tuple[Case, ...]:
            return _cases(_Fields(path, _parse_yaml(path, cases_text)), rule)

        case_source = CaseSource(parse=parse_cases)
    meta = CheckMeta(
        id=check_id,
        title=p.string("title"),
        family=family,
        severity=severity,
        citations=tuple(citations[c] for c in cited),
        rationale=p.string("rationale").strip(),
        remediation=remediation,
        references=tuple(p.string_list("references", required=False)),
        target=kind,
        resource_types=types,
        origin=origin,
    )
    return Check(
        meta=meta,
        rule=rule,
        requires=requires,
        applies_if=applies_if,
        aliases=tuple(p.string_list("aliases", required=False)),
        case_source=case_source,
        path=path,
    )


def _resolve_source(kind: TargetKind, name: str) -> object | None:
    if name.startswith("graph:"):
        return find_source(TargetKind.TENANT, name)
    return find_source(kind, name) or find_source(TargetKind.SUBSCRIPTION, name)


def source_scope_kind(kind: TargetKind, name: str) -> TargetKind:
    """At which scope a required source is read for a target of `kind`."""
    if name.startswith("graph:"):
        return TargetKind.TENANT
    if find_source(kind, name) is not None:
        return kind
    return TargetKind.SUBSCRIPTION


def _remediation(p: _Fields) -> Remediation:
    rem = p.mapping("remediation")
    p.known_keys("remediation.", rem, REMEDIATION_FIELDS)
    policy = rem.get("azure_policy")
    if policy is not None and (
        not isinstance(policy, dict) or not isinstance(policy.get("id"), str)
    ):
        p.fail("remediation.azure_policy", "expected a mapping with 'id' (and 'name')")
    summary = rem.get("summary")
    if not isinstance(summary, str) or not summary.strip():
        p.fail("remediation.summary", "expected a non-empty string")
    if not rem.get("cli") and not rem.get("portal"):
        p.fail("remediation", "expected at least one of 'cli' or 'portal'")
    return Remediation(
        summary=str(summary).strip(),
        cli=_opt_str(rem.get("cli")),
        portal=_opt_str(rem.get("portal")),
        azure_policy_id=policy["id"] if policy else None,
        azure_policy_name=policy.get("name") if policy else None,
    )


def _opt_str(value: Any) -> str | None:
    return str(value).strip() if value else None


def _rule(p: _Fields, kind: TargetKind) -> Rule:
    raw = p.mapping("rule")
    if "expression" in raw:
        params = dict(raw.items())
        name = "expression"
        _compile(p, "rule.expression", params["expression"])
        if "path" in params:
            _compile(p, "rule.path", params["path"])
    else:
        raw_name = raw.get("evaluator")
        if not isinstance(raw_name, str):
            p.fail("rule", "expected 'expression' or 'evaluator'")
        name = raw_name
        params = raw.get("params") or {}
        if not isinstance(params, dict):
            p.fail("rule.params", "expected a mapping")
        extra = set(raw) - {"evaluator", "params"}
        if extra:
            p.fail("rule", f"unexpected key(s) {', '.join(sorted(extra))}")
    spec = get_evaluator(name)
    if spec is None:
        p.fail("rule.evaluator", f"unknown evaluator {name!r}")
    if kind not in spec.targets:
        p.fail("rule.evaluator", f"{name!r} cannot evaluate a {kind.value} target")
    problems = list(spec.validate(params))
    if problems:
        p.fail("rule.params", problems[0])
    return Rule(evaluator=name, params=params)


def _cases(p: _Fields, rule: Rule) -> tuple[Case, ...]:
    raw = p.doc.get("cases")
    if not isinstance(raw, list) or not raw:
        p.fail("cases", "expected a list of named pass/fail cases")
    cases = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            p.fail(f"cases[{i}]", "expected a mapping with 'name' and 'expect'")
        p.known_keys(f"cases[{i}].", entry, CASE_FIELDS)
        try:
            expect = Status(str(entry.get("expect")))
        except ValueError:
            p.fail(f"cases[{i}].expect", f"expected one of {', '.join(s.value for s in Status)}")
        cases.append(Case(name=entry["name"], expect=expect, body=entry))
    statuses = {c.expect for c in cases}
    if rule.evaluator != "manual" and not {Status.PASS, Status.FAIL} <= statuses:
        p.fail("cases", "expected at least one PASS case and one FAIL case")
    return tuple(cases)


def _compile(p: _Fields, where: str, expression: Any) -> None:
    if not isinstance(expression, str):
        p.fail(where, "expected a JMESPath expression string")
    try:
        jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        # jmespath's message spans three lines (message, expression, caret); keep one.
        problem = str(exc).splitlines()[0].split(": ", 1)[-1].rstrip(":")
        position = getattr(exc, "lex_position", None)
        at = f" at character {position + 1}" if isinstance(position, int) else ""
        p.fail(where, f"invalid JMESPath {expression!r}{at}: {problem}")


class _Fields:
    """Field accessors whose errors name the file and the field."""

    def __init__(self, path: Path, doc: dict[str, Any]) -> None:
        self.path = path
        self.doc = doc

    def fail(self, field: str, what: str) -> NoReturn:
        raise CatalogueError(f"{self.path}: {field}: {what}")

    def known_keys(self, prefix: str, mapping: Mapping[Any, Any], allowed: frozenset[str]) -> None:
        unknown = sorted(str(k) for k in mapping if k not in allowed)
        if unknown:
            self.fail(
                f"{prefix}{unknown[0]}",
                f"unknown field; expected one of {', '.join(sorted(allowed))}",
            )

    def string(self, key: str) -> str:
        value = self.doc.get(key)
        if not isinstance(value, str) or not value.strip():
            self.fail(key, "expected a non-empty string")
        return str(value)

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.doc.get(key)
        if not isinstance(value, dict):
            self.fail(key, "expected a mapping")
        return value

    def string_list(self, key: str, required: bool = True) -> list[str]:
        value = self.doc.get(key)
        if value is None and not required:
            return []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(key, "expected a list of strings")
        return list(value)
