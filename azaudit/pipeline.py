"""The scan pipeline: one frozen `ScanRequest` in, one `ScanOutcome` (result, files, exit code) out.

Every front end (the `scan` command, a config file, an embedding program) describes a scan as a
`ScanRequest`; `run_scan` does the rest in small steps, in this order:

1. load and validate every input (catalogue, BAA list, regions, PHI scope, waivers) so a bad
   input stops the run before any collection;
2. obtain the snapshot (demo, file, live collection or a web scan of given sites);
3. live and web scans: write `snapshot.json.gz` at once, so the evidence survives any later
   failure;
4. evaluate, apply the PHI scope, apply the waivers, build the result (with its evidence chain);
5. render every format, then write them all or none (stale files of an earlier scan removed);
6. decide the exit code.

No Typer, no printing: the CLI parses and prints, this module decides.

The history store (`azaudit.history.store`, SQLAlchemy and its dialects) and e-mail delivery
(`azaudit.deliver.mail`) are imported inside the steps that use them, not with this module:
together they cost about a second of every run's start, and most runs use neither.
`tests/test_pipeline.py` keeps a scan from loading them when it does not need them.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from azaudit import __version__
from azaudit.attestations import Attestations, apply_attestations, load_attestations
from azaudit.catalogue import Catalogue, load_catalogue
from azaudit.check_params import BREAK_GLASS, with_scan_params
from azaudit.collect.options import LiveDeps, LiveOptions, LogFormat
from azaudit.deliver.settings import SmtpSettings, load_smtp_settings
from azaudit.engine import evaluate
from azaudit.errors import AzauditError, InputError
from azaudit.evaluators.base import ScanConfig
from azaudit.files import FileContent, check_output_dir, replace_report_set, write_atomic
from azaudit.gc_pause import frozen_phases
from azaudit.models import EvidenceInfo, Finding, ScanResult, Severity, Status, WaiverInfo
from azaudit.paths import data_dir
from azaudit.phi import PhiScope, apply_phi_scope
from azaudit.reference import (
    BaaList,
    default_baa_list,
    default_us_regions,
    load_baa_list,
    normalise_region,
)
from azaudit.render import OutputFormat, Paper, RenderOptions, write
from azaudit.result import ExitCode, FailOn, build_result, exit_code
from azaudit.snapshot import Snapshot, dump_snapshot, load_snapshot, snapshot_sha256
from azaudit.waivers import Waiver, apply_waivers, load_waivers
from azaudit.web import WebScanOptions, run_web_scan
from azaudit.web.options import SiteTarget, site_targets
from azaudit.web.scan import recorded_web_sites, scan_sites, web_only_snapshot, with_web_scan

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken
    from azure.core.credentials_async import AsyncTokenCredential

    from azaudit.collect.clouds import CloudEndpoints
    from azaudit.deliver.mail import MailRequest

SNAPSHOT_FILENAME = "snapshot.json.gz"
DEMO_IDENTITY = "demo tenant"
WEB_IDENTITY = "none (public websites only, fetched anonymously)"
WEB_FAMILY = "web"
UNKNOWN_IDENTITY = "unknown"


# -- the request --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoSource:
    """The bundled demo tenant."""


@dataclass(frozen=True, slots=True)
class SnapshotSource:
    """A snapshot file written by an earlier scan (`.json` or `.json.gz`)."""

    path: Path


@dataclass(frozen=True, slots=True)
class LiveSource:
    """A live, read-only collection."""

    options: LiveOptions
    log_format: LogFormat = LogFormat.AUTO


@dataclass(frozen=True, slots=True)
class WebSource:
    """Public websites alone (`azaudit web-scan`): no Azure inventory, the web checks only.

    Attributes:
        targets: the sites' start URLs.
        options: crawl limits, trust store and host resolution of the web scan.
    """

    targets: tuple[SiteTarget, ...]
    options: WebScanOptions = field(default_factory=WebScanOptions)


ScanSource = DemoSource | SnapshotSource | LiveSource | WebSource
COLLECTING_SOURCES = (LiveSource, WebSource)
"""Sources that gather new evidence now: their snapshot is written before anything else."""


@dataclass(frozen=True, slots=True)
class ScanRequest:
    """Everything that decides a scan, parsed and merged (options, environment, config file).

    Attributes:
        source: where the snapshot comes from.
        out: the report directory.
        formats: formats to write (each once, in this order).
        fail_on: exit 1 on FAIL findings at or above this effective severity.
        strict: exit 3 on incomplete coverage.
        checks_dirs: extra catalogue directories.
        only_checks: run only these check ids (empty: all).
        baa_list: the organisation's BAA list file (None: the shipped list).
        allowed_regions: ARM locations allowed for PHI (None: every US region).
        break_glass_accounts: emergency-access accounts (object ids or user principal names)
            added to every check whose evaluator accepts `break_glass_accounts`.
        phi: where PHI lives (empty: everything is PHI).
        waivers: the waivers file, if any.
        attestations: the attestations file for the administrative safeguards, if any.
        history: where scan history is recorded (a path or database URL), or None.
        email_to: recipients of the report mail (sent once the reports are written).
        smtp: SMTP settings from the config file's `[smtp]` table (the environment wins).
        web: also scan the tenant's public sites for trackers (live scans only).
        web_urls: further site URLs for the web scan.
        web_render: load every scanned page in headless Chromium too.
        web_max_pages: pages fetched per site.
        paper: page size of the printed report and the PDF.
    """

    source: ScanSource
    out: Path = Path("azaudit-report")
    formats: tuple[OutputFormat, ...] = (OutputFormat.HTML, OutputFormat.JSON)
    fail_on: FailOn = FailOn.HIGH
    strict: bool = False
    checks_dirs: tuple[Path, ...] = ()
    only_checks: tuple[str, ...] = ()
    baa_list: Path | None = None
    allowed_regions: tuple[str, ...] | None = None
    break_glass_accounts: tuple[str, ...] = ()
    phi: PhiScope = field(default_factory=PhiScope)
    waivers: Path | None = None
    attestations: Path | None = None
    history: str | None = None
    email_to: tuple[str, ...] = ()
    smtp: Mapping[str, str] = field(default_factory=dict)
    web: bool = False
    web_urls: tuple[str, ...] = ()
    web_render: bool = False
    web_max_pages: int = 20
    paper: Paper = Paper.LETTER


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """What a scan produced.

    Attributes:
        result: the result every format was rendered from.
        files: the files written, in order (reports, then the snapshot of a live scan).
        exit_code: the documented exit code (0, 1 or 3).
        warnings: one-line notes for the user (e.g. stale files removed).
        notes: what was done after the reports were written (e.g. the mail sent).
    """

    result: ScanResult
    files: tuple[Path, ...]
    exit_code: ExitCode
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


HISTORY_TREND_RUNS = 10
"""Runs shown in the report's posture trend (this one included)."""


# -- step 1: inputs -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScanInputs:
    """The validated inputs of a scan: nothing below can fail for a bad option or file."""

    catalogue: Catalogue
    scoped: Catalogue
    baa_list: BaaList
    regions: frozenset[str]
    waivers: tuple[Waiver, ...]
    attestations: Attestations
    web_targets: tuple[SiteTarget, ...] | None
    mail: tuple[MailRequest, SmtpSettings] | None
    history: str | None


def load_inputs(request: ScanRequest) -> ScanInputs:
    """Load and validate every input named by the request.

    Raises:
        InputError: one line naming the option or file and what was expected.
    """
    if isinstance(request.source, LiveSource):
        request.source.options.validate_scan()  # before anything is loaded or collected
    check_output_dir("--out", request.out)
    catalogue = with_scan_params(
        load_catalogue(request.checks_dirs), {BREAK_GLASS: request.break_glass_accounts}
    )
    scoped = select_checks(catalogue, request.only_checks)
    if isinstance(request.source, WebSource):
        scoped = select_family(scoped, WEB_FAMILY)
    baa_list = load_baa_list(request.baa_list) if request.baa_list else default_baa_list()
    regions = allowed_regions(request.allowed_regions)
    waivers: tuple[Waiver, ...] = ()
    if request.waivers is not None:

        def resolve(check_id: str) -> str | None:
            check = catalogue.get(check_id)
            return check.id if check is not None else None

        waivers = load_waivers(request.waivers, resolve)
    attestations = Attestations(entries=(), path="")
    if request.attestations is not None:
        attestations = load_attestations(request.attestations)
        attestations.require_known(c.id for c in catalogue.checks)
    return ScanInputs(
        catalogue,
        scoped,
        baa_list,
        regions,
        waivers,
        attestations,
        _web_targets(request),
        _mail(request),
        _history(request),
    )


def _history(request: ScanRequest) -> str | None:
    """The history location, opened once now so that a bad one stops the run before any work."""
    if request.history is None:
        return None
    from azaudit.history.store import open_store  # only when used (module docstring)

    with open_store(request.history):
        pass
    return request.history


def compare_with_history(result: ScanResult, location: str) -> ScanResult:
    """The result with new / resolved / still-open findings against the previous run."""
    from azaudit.history.store import open_store  # only when used (module docstring)

    with open_store(location) as store:
        info = store.compare(result, trend_runs=HISTORY_TREND_RUNS)
    return dataclasses.replace(result, history=info)


def record_in_history(result: ScanResult, location: str) -> str:
    """Record the run (after its reports were written); returns the run id."""
    from azaudit.history.store import open_store  # only when used (module docstring)

    with open_store(location) as store:
        return store.record(result)


def _web_targets(request: ScanRequest) -> tuple[SiteTarget, ...] | None:
    """The user's extra sites when a web scan is asked for, else None.

    A web scan joins a live collection only: the demo and a kept snapshot are evidence of an
    earlier moment, and their recorded `web:scan` document (if any) is what gets evaluated.
    """
    if not (request.web or request.web_urls):
        return None
    if not isinstance(request.source, LiveSource):
        raise InputError(
            "--web: a web scan runs with a live scan only (a snapshot or the demo is evaluated "
            "with the web scan it recorded); use 'azaudit web-scan URL...' for sites alone"
        )
    return tuple(site_targets(request.web_urls))


def _mail(request: ScanRequest) -> tuple[MailRequest, SmtpSettings] | None:
    """Validated mail request and SMTP settings, before any work (a typo must not cost a scan)."""
    if not request.email_to:
        return None
    from azaudit.deliver.mail import MailRequest  # only when used (module docstring)

    mail = MailRequest(recipients=request.email_to)
    mail.validate()
    return mail, load_smtp_settings(os.environ, file_values=request.smtp)


def select_checks(catalogue: Catalogue, only: Iterable[str]) -> Catalogue:
    """The catalogue restricted to `only` (ids or aliases); all checks when empty.

    Raises:
        InputError: naming the unknown ids.
    """
    wanted_ids = list(only)
    if not wanted_ids:
        return catalogue
    unknown = [c for c in wanted_ids if catalogue.get(c) is None]
    if unknown:
        raise InputError(f"--check: unknown check id(s) {', '.join(map(repr, unknown))}")
    wanted = {c.id for c in (catalogue.get(i) for i in wanted_ids) if c is not None}
    checks = tuple(c for c in catalogue.checks if c.id in wanted)
    return Catalogue(checks, catalogue.citations, catalogue.safeguards)


def select_family(catalogue: Catalogue, family: str) -> Catalogue:
    """The catalogue restricted to one family (a web scan has nothing else to evaluate)."""
    checks = tuple(c for c in catalogue.checks if c.meta.family == family)
    return Catalogue(checks, catalogue.citations, catalogue.safeguards)


def known_regions() -> frozenset[str]:
    """Every ARM location name of the shipped region table (any country), normalised."""
    document = json.loads((data_dir() / "us_regions.json").read_text(encoding="utf-8"))
    return frozenset(
        normalise_region(str(name))
        for row in document["regions"]
        for name in (row.get("name"), row.get("display_name"))
        if name
    )


def allowed_regions(raw: Iterable[str] | None) -> frozenset[str]:
    """The allowed ARM locations, each checked against the known region list.

    Raises:
        InputError: for an empty list or an unknown region (a typo would turn every resource
            into a false FAIL).
    """
    if raw is None:
        return frozenset(default_us_regions())
    names = [r.strip() for r in raw if r.strip()]
    if not names:
        raise InputError("--allowed-regions: expected a comma-separated list of ARM locations")
    known = known_regions()
    for name in names:
        if normalise_region(name) not in known:
            raise InputError(
                f"--allowed-regions: unknown region {name!r}; expected ARM location names "
                "such as eastus,eastus2,centralus (see azaudit/data/us_regions.json)"
            )
    return frozenset(normalise_region(n) for n in names)


# -- step 2 and 3: the snapshot -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Obtained:
    """A snapshot and who collected it."""

    snapshot: Snapshot
    identity: str


def obtain_snapshot(source: ScanSource, catalogue: Catalogue, deps: object = None) -> Obtained:
    """Build, read or collect the snapshot.

    `deps` is handed to the live collector (a `LiveDeps` when a test or an embedder injects a
    credential or environment).
    """
    if isinstance(source, DemoSource):
        from azaudit.demo import build_demo_snapshot

        return Obtained(build_demo_snapshot(), DEMO_IDENTITY)
    if isinstance(source, SnapshotSource):
        return Obtained(load_snapshot(source.path), UNKNOWN_IDENTITY)
    if isinstance(source, WebSource):
        started = _iso(source.options.clock())
        document = scan_sites(source.targets, source.options)
        return Obtained(web_only_snapshot(document, started), WEB_IDENTITY)
    from azaudit.cli_live import collect_with_progress

    claims: dict[str, str] = {}
    snapshot = collect_with_progress(
        source.options, catalogue, source.log_format, _recording_identity(deps, claims)
    )
    return Obtained(snapshot, describe_identity(claims))


def describe_identity(claims: Mapping[str, str]) -> str:
    """`upn=…, appid=…, oid=…` from the token's claims, or `unknown`."""
    parts = [f"{k}={claims[k]}" for k in ("upn", "appid", "oid") if claims.get(k)]
    return ", ".join(parts) or UNKNOWN_IDENTITY


def _recording_identity(deps: object, claims: dict[str, str]) -> LiveDeps:
    """The collector's dependencies with a credential that notes who the token is for."""
    base = deps if isinstance(deps, LiveDeps) else LiveDeps()
    inner = base.credential_factory

    def factory(endpoints: CloudEndpoints, tenant: str | None) -> AsyncTokenCredential:
        if inner is None:
            from azaudit.collect.auth import default_credential

            credential = default_credential(endpoints, tenant)
        else:
            credential = inner(endpoints, tenant)
        return _ClaimsRecorder(credential, claims)

    return dataclasses.replace(base, credential_factory=factory)


class _ClaimsRecorder:
    """Passes tokens through and keeps the identity claims of the first (never the token)."""

    def __init__(self, inner: AsyncTokenCredential, claims: dict[str, str]) -> None:
        self._inner = inner
        self._claims = claims

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A token from the wrapped credential."""
        from azaudit.collect.auth import token_claims

        token = await self._inner.get_token(*scopes, **kwargs)
        if not self._claims:
            found = token_claims(token.token)
            for key, alias in (("appid", "azp"), ("oid", "oid"), ("upn", "upn")):
                value = found.get(key) or found.get(alias)
                if isinstance(value, str) and value:
                    self._claims[key] = value
        return token

    async def close(self) -> None:
        """Close the wrapped credential."""
        await self._inner.close()

    async def __aenter__(self) -> _ClaimsRecorder:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


# -- step 4: findings and result ----------------------------------------------------------------


def annotate(
    findings: list[Finding],
    snapshot: Snapshot,
    inputs: ScanInputs,
    phi: PhiScope,
    today: date,
) -> tuple[tuple[Finding, ...], tuple[WaiverInfo, ...]]:
    """PHI scope, then waivers: what the summaries must already count.

    Consumes `findings`: the list is emptied as it is read. PHI scoring turns every finding
    into a new one, and dropping each evaluated finding once it is scored keeps one generation
    of findings in memory instead of two (tens of megabytes on a large tenant).
    """
    severities = {c.id: c.meta.severity for c in inputs.scoped.checks}
    scoped = apply_phi_scope(_consumed(findings), snapshot, phi, severities)
    waived = apply_waivers(scoped, inputs.waivers, snapshot, today)
    return waived.findings, waived.waivers


def _consumed(items: list[Finding]) -> Iterator[Finding]:
    """The items first to last, each removed from `items` as it is yielded."""
    items.reverse()
    while items:
        yield items.pop()


def catalogue_version(catalogue: Catalogue) -> str:
    """SHA-256 over the bytes of every loaded check file, in catalogue order."""
    digest = hashlib.sha256()
    for check in catalogue.checks:
        digest.update(check.path.read_bytes())
    return digest.hexdigest()


def build(
    obtained: Obtained,
    snapshot_digest: str,
    inputs: ScanInputs,
    request: ScanRequest,
    now: datetime,
    deadline: float | None = None,
) -> ScanResult:
    """Evaluate and bundle the result with its PHI scope, waivers and evidence chain."""
    snapshot = obtained.snapshot
    # Checks judge ages (sign-ins, keys) as of collection, so re-scanning a kept snapshot
    # reproduces the same findings.
    # BAA scope is judged on the column of the cloud that was scanned (Azure Government has
    # its own audit scope).
    baa_list = inputs.baa_list.for_cloud(str(snapshot.cloud.get("name") or ""))
    config = ScanConfig(
        baa_list=baa_list, allowed_regions=inputs.regions, now=snapshot.collected_time
    )
    evaluated = evaluate(snapshot, inputs.scoped.checks, config, deadline=deadline)
    raw = apply_attestations(evaluated, inputs.attestations, snapshot.collected_time)
    del evaluated  # each step returns new findings: keep one generation alive, not three
    findings, waivers = annotate(raw, snapshot, inputs, request.phi, now.date())
    del raw
    evidence = EvidenceInfo(
        snapshot_sha256=snapshot_digest,
        scanning_identity=obtained.identity,
        tool_version=__version__,
        catalogue_version=catalogue_version(inputs.catalogue),
    )
    return build_result(
        snapshot,
        inputs.scoped,
        findings,
        config,
        _iso(now),
        phi_scope=request.phi.info,
        waivers=waivers,
        evidence=evidence,
        web_sites=recorded_web_sites(snapshot),
    )


def scan_websites(
    snapshot: Snapshot,
    inputs: ScanInputs,
    request: ScanRequest,
    base: WebScanOptions | None = None,
) -> Snapshot:
    """The snapshot with the `web:scan` document of the tenant's (and the user's) sites added.

    Runs after collection and before the snapshot is written, so the evidence file holds what
    the web checks are evaluated on. `base` carries injected settings (trust store, host
    resolution) for embedders and tests; the request's render and page limits apply on top.
    """
    if inputs.web_targets is None:
        return snapshot
    options = dataclasses.replace(
        base or WebScanOptions(), render=request.web_render, max_pages=request.web_max_pages
    )
    document = run_web_scan(snapshot, options, extra=inputs.web_targets)
    return with_web_scan(snapshot, document)


def decide_exit_code(result: ScanResult, fail_on: FailOn, strict: bool) -> ExitCode:
    """`result.exit_code`, also failing on findings whose *effective* severity reaches `fail_on`.

    A medium finding escalated to high in PHI scope fails a `--fail-on high` gate.
    """
    code = exit_code(result, fail_on, strict)
    if code is not ExitCode.OK or fail_on is FailOn.NEVER:
        return code
    threshold = Severity(fail_on.value).rank
    for finding in result.findings:
        if (
            finding.status is Status.FAIL
            and finding.severity is not None
            and finding.severity.rank >= threshold
        ):
            return ExitCode.FINDINGS
    return code


# -- step 5: files ------------------------------------------------------------------------------


def owned_file_names() -> frozenset[str]:
    """Every file name a scan can write into `--out` (older ones are stale, not foreign)."""
    return frozenset({*(f.filename for f in OutputFormat), SNAPSHOT_FILENAME})


def render_all(
    formats: Iterable[OutputFormat], result: ScanResult, options: RenderOptions
) -> dict[str, FileContent]:
    """Every requested format as a writer that streams it into its (staged) file.

    Nothing is held in memory whole: each renderer writes into the temporary file that is
    renamed into place only once every format succeeded.
    """

    def writer(fmt: OutputFormat) -> Callable[[BinaryIO], None]:
        return lambda stream: write(fmt, result, stream, options)

    return {fmt.filename: writer(fmt) for fmt in dict.fromkeys(formats)}


def write_reports(
    out: Path, files: Mapping[str, FileContent], keep: Iterable[str]
) -> tuple[str, ...]:
    """Swap the new report set into `out`, all or none; returns the stale names removed.

    Raises:
        InputError: naming `--out` when the files cannot be written (nothing changed).
    """
    try:
        return replace_report_set(out, files, owned_file_names(), tuple(keep))
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        where = f" ({Path(exc.filename).name})" if exc.filename else ""
        raise InputError(f"--out {out}: cannot write the reports: {reason}{where}") from None


# -- the whole run ------------------------------------------------------------------------------


@frozen_phases()
def run_scan(
    request: ScanRequest,
    deps: object = None,
    clock: Callable[[], datetime] | None = None,
    web_options: WebScanOptions | None = None,
) -> ScanOutcome:
    """Run the scan the request describes.

    `deps` reaches the live collector; `clock` gives the report time and the day waivers are
    judged on (default: now, UTC); `web_options` the web scan's injected settings.

    Raises:
        InputError: a bad input (before any work), or reports that cannot be written.
        AzauditError: the live collection cannot start.
    """
    started = time.monotonic()
    inputs = load_inputs(request)
    obtained = obtain_snapshot(request.source, inputs.catalogue, deps)
    obtained = dataclasses.replace(
        obtained, snapshot=scan_websites(obtained.snapshot, inputs, request, web_options)
    )
    kept: list[str] = []
    if isinstance(request.source, COLLECTING_SOURCES):
        canonical = dump_snapshot(obtained.snapshot)
        digest = hashlib.sha256(canonical).hexdigest()
        path = request.out / SNAPSHOT_FILENAME
        try:
            # mtime=0 keeps the file byte-identical for the same snapshot.
            write_atomic(path, gzip.compress(canonical, mtime=0))
        except OSError as exc:
            raise InputError(
                f"--out {request.out}: cannot write {SNAPSHOT_FILENAME}: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
        del canonical
        kept.append(SNAPSHOT_FILENAME)
    else:
        digest = snapshot_sha256(obtained.snapshot)
    now = (clock or _utc_now)()
    try:
        deadline = _deadline(request.source, started)
        result = build(obtained, digest, inputs, request, now, deadline)
        if inputs.history is not None:
            result = compare_with_history(result, inputs.history)
        files = render_all(request.formats, result, RenderOptions(paper=request.paper))
        stale = write_reports(request.out, files, kept)
    except AzauditError as exc:
        if kept:
            raise InputError(
                f"{exc} (the collected snapshot is kept in {request.out / SNAPSHOT_FILENAME})"
            ) from None
        raise
    warnings = (
        (
            f"--out {request.out}: removed {', '.join(stale)} left there by an earlier scan "
            "(not written by this one)",
        )
        if stale
        else ()
    )
    notes: tuple[str, ...] = ()
    if inputs.history is not None:
        from azaudit.history.store import redact  # only when used (module docstring)

        run_id = record_in_history(result, inputs.history)
        notes += (f"recorded as run {run_id} in {redact(inputs.history)}",)
    if inputs.mail is not None:
        # The reports are on disk already: a delivery failure is one line and exit 2, and the
        # files stay for the pipeline's artifact step.
        from azaudit.deliver.mail import mail_reports  # only when used (module docstring)

        mail, settings = inputs.mail
        notes += (mail_reports(result, request.out, mail, settings).describe(),)
    return ScanOutcome(
        result=result,
        files=tuple(request.out / name for name in [*files, *kept]),
        exit_code=decide_exit_code(result, request.fail_on, request.strict),
        warnings=warnings,
        notes=notes,
    )


def _deadline(source: ScanSource, started: float) -> float | None:
    """When evaluation must stop: a live scan's `--timeout` bounds the whole run, evaluation too.

    Checks not evaluated by then are ERROR findings (never silently missing). The demo and a
    kept snapshot have no deadline: re-evaluating evidence must give the same findings.
    """
    if isinstance(source, LiveSource):
        return started + source.options.timeout
    return None


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
