"""report.html: the self-contained HTML report, rendered from the Jinja templates in `reports/`.

Autoescaping is on for every template and undefined names raise, so a resource name or a tag value
can never become markup and a template typo can never render as an empty string. The page loads
nothing: the stylesheet is inlined and pinned by its hash in a Content-Security-Policy meta tag,
charts are inline SVG, and there is no script at all.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from azaudit.models import JSON, ScanResult, Status
from azaudit.paths import reports_dir
from azaudit.result import TENANT_WIDE, findings_by_check, open_findings_by_subscription

TEMPLATE = "report.html.j2"
STYLESHEET = "report.css"

STATUS_LABELS: dict[str, str] = {
    Status.PASS.value: "PASS",
    Status.FAIL.value: "FAIL",
    Status.ERROR.value: "ERROR",
    Status.MANUAL.value: "MANUAL",
    Status.NOT_APPLICABLE.value: "N/A",
    Status.WAIVED.value: "WAIVED",
}

# Statuses that decide posture, in the order a stacked bar draws them.
_EVALUATED = (Status.PASS.value, Status.FAIL.value, Status.ERROR.value)


@dataclass(frozen=True, slots=True)
class Segment:
    """A coloured piece of a bar or donut: geometry only, the numbers come from the summary."""

    status: str
    start: float
    length: float


def content_security_policy(css: str) -> str:
    """The page's CSP: nothing may load; only the inlined stylesheet (by hash) may apply."""
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    return (
        "default-src 'none'; "
        f"style-src 'sha256-{digest}'; "
        "img-src data:; "
        "base-uri 'none'; "
        "form-action 'none'"
    )


def stacked(counts: Mapping[str, int], total: float = 100.0) -> list[Segment]:
    """PASS/FAIL/ERROR as consecutive segments of a bar `total` units long (empty if none)."""
    evaluated = sum(counts.get(s, 0) for s in _EVALUATED)
    if evaluated == 0:
        return []
    segments: list[Segment] = []
    start = 0.0
    for status in _EVALUATED:
        length = round(total * counts.get(status, 0) / evaluated, 3)
        if length > 0:
            segments.append(Segment(status, round(start, 3), length))
            start += length
    return segments


def scaled(value: int, largest: int, total: float = 100.0) -> float:
    """`value` as a bar length where `largest` fills `total` units."""
    if largest <= 0:
        return 0.0
    return round(total * value / largest, 3)


def json_text(value: JSON) -> str:
    """An observed value as an auditor reads it: indented JSON, key order as Azure returned it."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def percent(value: float | None) -> str:
    """`57.7%`, or `n/a` when nothing was evaluated."""
    return "n/a" if value is None else f"{value:.1f}%"


def number(value: int) -> str:
    """`12,345`: counts stay readable in large tenants."""
    return f"{value:,}"


def safe_href(url: str) -> str | None:
    """The URL if it is an absolute http(s) link, else None (then it is shown as text only).

    References come from check files, including an organisation's own; a `javascript:` or
    `data:` URL must never become a link.
    """
    parts = urlsplit(url.strip())
    if parts.scheme in ("https", "http") and parts.netloc:
        return url.strip()
    return None


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 scope`, `3 scopes`."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{number(count)} {word}"


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(reports_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        json_text=json_text,
        percent=percent,
        number=number,
        safe_href=safe_href,
        status_label=lambda s: STATUS_LABELS[str(s)],
    )
    env.globals.update(stacked=stacked, scaled=scaled, plural=plural)
    return env


def _stylesheet() -> str:
    css = (reports_dir() / STYLESHEET).read_text(encoding="utf-8")
    if "</" in css:
        # Inside <style> the HTML parser ends the element at "</"; keep the stylesheet inert.
        raise ValueError(f"{STYLESHEET}: must not contain '</'")
    return css


def _largest(values: Iterable[int]) -> int:
    return max(values, default=0)


def render_html(result: ScanResult) -> str:
    """Render the HTML report (a pure function of `result` and the packaged templates)."""
    css = _stylesheet()
    summary = result.summary
    template = _environment().get_template(TEMPLATE)
    return template.render(
        result=result,
        summary=summary,
        css=Markup(css),  # noqa: S704 - our own packaged stylesheet, checked above
        csp=content_security_policy(css),
        checks={c.id: c for c in result.checks},
        check_rows={c["check_id"]: c for c in summary["checks"]},
        findings=findings_by_check(result),
        open_by_subscription=open_findings_by_subscription(result),
        tenant_wide_key=TENANT_WIDE,
        subscription_names={
            s.subscription_id.lower(): s.display_name for s in result.subscriptions
        },
        severity_max=_largest(summary["failing_by_severity"].values()),
        statuses=list(STATUS_LABELS),
    )
