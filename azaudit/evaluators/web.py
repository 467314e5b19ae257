"""Web tracker evaluators: read the `web:scan` document (tenant scope `/`) and judge each site.

One outcome per site and tracker (FAIL), one PASS per site that was scanned completely without a
tracker of the kind the check looks for, and one ERROR per site that could not be scanned or per
page that failed (a page we could not read may hold a tracker: never a PASS). The finding's
resource is the app or endpoint serving the site when discovery knew it (so PHI scope by
subscription, resource group or tag applies) and the site URL otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from azaudit.evaluators.base import EvalContext, EvaluatorSpec, MissingData, Outcome, Param
from azaudit.evaluators.common import TENANT_ONLY
from azaudit.models import Status

DOCUMENT = "web:scan"
SCOPE = "/"
APP_INSIGHTS = "azure-application-insights"
APP_INSIGHTS_TYPE = "Microsoft.Insights/components"
SITE_TYPE = "azaudit/webSite"
_IKEY = re.compile(r"instrumentationkey=([0-9a-f-]{36})", re.I)


def _document(ctx: EvalContext) -> list[Mapping[str, Any]] | None:
    """The scanned sites, or None when no web scan was run (and none was attempted)."""
    try:
        body = ctx.detail(SCOPE, DOCUMENT)
    except MissingData as missing:
        if missing.reason == "not collected":
            return None
        raise
    if not isinstance(body, Mapping) or not isinstance(body.get("sites"), list):
        raise ValueError(f"{DOCUMENT}: expected an object with a 'sites' array")
    sites: list[Mapping[str, Any]] = body["sites"]
    for i, site in enumerate(sites):
        if not isinstance(site, Mapping):
            raise ValueError(f"{DOCUMENT}: sites[{i}] is not an object")
        for key, kind in (("url", str), ("scanned", bool), ("detections", list), ("errors", list)):
            if not isinstance(site.get(key), kind):
                raise ValueError(
                    f"{DOCUMENT}: sites[{i}].{key} is missing or not a {kind.__name__}"
                )
    return sites


def _not_run() -> Outcome:
    return Outcome(
        Status.NOT_APPLICABLE,
        DOCUMENT,
        None,
        "web scan run",
        "no web scan in this run (azaudit scan --web, or azaudit web-scan URL...)",
    )


def _target(site: Mapping[str, Any]) -> tuple[str, str]:
    """`(resource_id, resource_name)` findings about a site carry."""
    url = str(site["url"])
    host = urlsplit(url).hostname or url
    rid = site.get("resource_id")
    return (str(rid) if isinstance(rid, str) and rid else url), host


def _outcome(
    site: Mapping[str, Any], status: Status, item: str, observed: Any, expected: str, message: str
) -> Outcome:
    rid, name = _target(site)
    path = f"{DOCUMENT}.sites[{site['url']}]" + (f"[{item}]" if item else "")
    # One app can serve several host names, each with several trackers: the site and the item
    # make the finding's identity (history, waivers) unique.
    sub_item = f"{site['url']}|{item}" if item else str(site["url"])
    return Outcome(status, path, observed, expected, message, rid, SITE_TYPE, name, sub_item)


def _gaps(site: Mapping[str, Any]) -> Iterator[Outcome]:
    """ERROR outcomes for a site that was not scanned, or for each page that failed."""
    if not site["scanned"]:
        reasons = [f"{e.get('page_url')}: {e.get('reason')}" for e in site["errors"]]
        note = str(site.get("note") or "not scanned")
        yield _outcome(
            site,
            Status.ERROR,
            "",
            {"note": note, "errors": list(site["errors"])},
            "site scanned",
            f"site not scanned: {note}" + (f" ({'; '.join(reasons)})" if reasons else ""),
        )
        return
    for error in site["errors"]:
        page = str(error.get("page_url"))
        yield _outcome(
            site,
            Status.ERROR,
            f"error:{_path(page)}",
            dict(error),
            "page fetched and parsed",
            f"page not scanned: {page}: {error.get('reason')}",
        )


def _path(url: str) -> str:
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _patient_facing(url: str, patterns: list[str]) -> bool:
    """Whether a page is patient-facing: a pattern is a whole path segment (or segments) of it,
    or the host's first label (`portal.` / `mychart.` sites are portals throughout)."""
    parts = urlsplit(url)
    path = (parts.path or "/").lower()
    first_label = (parts.hostname or "").split(".", 1)[0]
    for pattern in patterns:
        segment = pattern.strip("/").lower()
        if not segment:
            continue
        if first_label == segment or re.search(rf"(?:^|/){re.escape(segment)}(?:/|\.|$)", path):
            return True
    return False


def _by_tracker(site: Mapping[str, Any], baa: set[str], exclude: set[str]) -> dict[str, list[Any]]:
    grouped: dict[str, list[Any]] = {}
    for d in site["detections"]:
        if not isinstance(d, Mapping) or not isinstance(d.get("tracker_id"), str):
            raise ValueError(f"{DOCUMENT}: a detection of {site['url']} has no tracker_id")
        if d.get("baa") in baa and d["tracker_id"] not in exclude:
            grouped.setdefault(d["tracker_id"], []).append(d)
    return grouped


def _evidence(tracker_id: str, found: list[Mapping[str, Any]], pages: list[str]) -> dict[str, Any]:
    first = min(found, key=lambda d: (str(d.get("first_seen")), str(d.get("page_url"))))
    return {
        "tracker_id": tracker_id,
        "product": first.get("product"),
        "vendor_baa": first.get("baa"),
        "pages": pages,
        "kind": first.get("kind"),
        "evidence": first.get("evidence"),
        "via": first.get("via"),
        "cookie_names": sorted({c for d in found for c in d.get("cookie_names") or []}),
        "first_seen": first.get("first_seen"),
        "data_verified": all(d.get("data_verified") is True for d in found),
    }


def _web_trackers(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Trackers whose vendor BAA status is in `baa`, optionally only on patient-facing paths."""
    sites = _document(ctx)
    if sites is None:
        yield _not_run()
        return
    baa = {str(b) for b in params["baa"]}
    exclude = {str(t) for t in params.get("exclude", [])}
    patterns = [str(p) for p in params.get("patient_paths", [])]
    facing = params.get("patient_facing")
    condition = str(params.get("condition", ""))
    for site in sites:
        gaps = list(_gaps(site))
        yield from gaps
        if not site["scanned"]:
            continue
        failing = 0
        for tracker_id, found in sorted(_by_tracker(site, baa, exclude).items()):
            pages = sorted({str(d.get("page_url")) for d in found})
            hot = [p for p in pages if _patient_facing(p, patterns)]
            if facing is True and not hot:
                continue
            if facing is False and hot:
                continue  # reported by the patient-facing check, at its higher severity
            shown = hot if facing is True else pages
            evidence = _evidence(tracker_id, found, shown)
            if not evidence["data_verified"]:
                evidence["data_note"] = "tracker data entry is UNVERIFIED (pattern from no source)"
            failing += 1
            where = f"{tracker_id}@{_path(shown[0])}"
            extra = f" {condition}" if condition else ""
            yield _outcome(
                site,
                Status.FAIL,
                where,
                evidence,
                "no third-party tracker without a signed BAA",
                f"{evidence['product']} (vendor BAA: {evidence['vendor_baa']}) on {shown[0]}"
                + (f" and {len(shown) - 1} more page(s)" if len(shown) > 1 else "")
                + f": {evidence['kind']} {evidence['evidence']}.{extra}",
            )
        if not failing and not gaps:
            yield _outcome(
                site,
                Status.PASS,
                "",
                {"pages": len(site.get("pages") or [])},
                "no third-party tracker without a signed BAA",
                f"no such tracker on the {len(site.get('pages') or [])} page(s) scanned",
            )


def _tenant_keys(ctx: EvalContext) -> dict[str, str]:
    """Instrumentation key -> ARM id of every Application Insights resource in the inventory."""
    keys: dict[str, str] = {}
    for row in ctx.resources_of_type(APP_INSIGHTS_TYPE):
        props = row.get("properties")
        if not isinstance(props, Mapping):
            continue
        for value in (
            props.get("InstrumentationKey"),
            *_IKEY.findall(str(props.get("ConnectionString") or "")),
        ):
            if isinstance(value, str) and value:
                keys[value.lower()] = str(row["id"])
    return keys


def _appinsights_tenant(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Application Insights on a site must send to a resource of the audited tenant."""
    sites = _document(ctx)
    if sites is None:
        yield _not_run()
        return
    tenant: dict[str, str] | None = None
    for site in sites:
        if not site["scanned"]:
            yield from _gaps(site)
            continue
        found = _by_tracker(site, {"yes", "no", "unknown", "enterprise"}, set()).get(APP_INSIGHTS)
        if not found:
            continue
        if tenant is None:
            tenant = _tenant_keys(ctx)
        keys = sorted({str(k) for d in found for k in d.get("instrumentation_keys") or []})
        pages = sorted({str(d.get("page_url")) for d in found})
        evidence = _evidence(APP_INSIGHTS, found, pages)
        evidence["instrumentation_keys"] = keys
        foreign = [k for k in keys if k not in tenant]
        ok = bool(keys) and not foreign
        evidence["tenant_resources"] = sorted({tenant[k] for k in keys if k in tenant})
        if ok:
            owned = ", ".join(evidence["tenant_resources"])
            message = f"telemetry goes to the tenant's own resource(s) {owned}"
        elif not keys:
            message = (
                f"Application Insights on {pages[0]} but no instrumentation key was found in the "
                "page: cannot show the telemetry stays in the audited tenant"
            )
        else:
            message = (
                f"Application Insights on {pages[0]} sends to instrumentation key(s) "
                f"{', '.join(foreign)} not found in the audited tenant (another organisation's "
                "resource is a disclosure outside the tenant's BAA)"
            )
        yield _outcome(
            site,
            Status.PASS if ok else Status.FAIL,
            f"{APP_INSIGHTS}@{_path(pages[0])}",
            evidence,
            "instrumentation key of an Application Insights resource in the audited tenant",
            message,
        )


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "web_trackers",
        _web_trackers,
        {
            "baa": Param((list,), doc="vendor BAA values this check reports: no/unknown/..."),
            "exclude": Param((list,), required=False, doc="tracker ids judged elsewhere"),
            "patient_facing": Param(
                (bool,), required=False, doc="true: only patient-facing pages; false: only others"
            ),
            "patient_paths": Param(
                (list,), required=False, doc="path prefixes/segments of patient-facing pages"
            ),
            "condition": Param((str,), required=False, doc="sentence added to every failure"),
        },
        TENANT_ONLY,
        "Third-party trackers found by the web scan, by the vendor's BAA status.",
    ),
    EvaluatorSpec(
        "web_appinsights_tenant",
        _appinsights_tenant,
        {},
        TENANT_ONLY,
        "Application Insights on a site reports to a resource in the audited tenant.",
    ),
)
