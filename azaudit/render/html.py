"""report.html: the self-contained HTML report, rendered from the Jinja templates in `reports/`.

Autoescaping is on for every template and undefined names raise, so a resource name or a tag value
can never become markup and a template typo can never render as an empty string. The page loads
nothing: the stylesheet is inlined and pinned by its hash in a Content-Security-Policy meta tag,
charts are inline SVG, and there is no script at all. The page is streamed into its file chunk by
chunk (Jinja's `generate`), so a 50,000-resource report is never held in memory as one string.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import urlsplit

import jinja2
from markupsafe import Markup

from azaudit.models import JSON, Finding, ScanResult, Status, TrendPoint, WaiverInfo
from azaudit.paths import reports_dir
from azaudit.render.json_format import dumps, encode
from azaudit.render.options import RenderOptions
from azaudit.result import findings_by_check, web_findings_by_site
from azaudit.risk import CHECK_EXPOSURE, PHI_FACTOR, SEVERITY_WEIGHT, Exposure

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
    """An observed value as an auditor reads it: indented JSON, key order as Azure returned it.

    NaN, infinities and unprintable integers are shown as strings (`json_format.json_safe`).
    """
    return dumps(value, indent=2)


_GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def names_in(texts: Iterable[str], names: Mapping[str, str]) -> list[tuple[str, str]]:
    """`(id, name)` for every GUID in `texts` that the snapshot has a name for, first seen first.

    Lets a finding that quotes object ids (role holders, CA exclusions, subscriptions) say who
    they are without rewriting the evidence itself.
    """
    seen: dict[str, str] = {}
    for text in texts:
        for match in _GUID.finditer(text):
            key = match.group(0).lower()
            if key not in seen and key in names:
                seen[key] = names[key]
    return list(seen.items())


def css_string(text: str) -> str:
    """`text` as a quoted CSS string: every character but letters, digits and a few marks is
    written as a hex escape, so tenant-controlled text cannot end the string or the stylesheet."""
    safe = []
    for ch in text:
        if ch.isascii() and (ch.isalnum() or ch in " -_.,:()"):
            safe.append(ch)
        else:
            safe.append(f"\\{ord(ch):06x}")
    return '"' + "".join(safe) + '"'


@dataclass(frozen=True, slots=True)
class TrendMark:
    """One run on the posture trend chart (geometry only; values come from the history)."""

    x: float
    y: float
    point: TrendPoint


TREND_WIDTH = 300.0
TREND_HEIGHT = 80.0


def trend_marks(points: Sequence[TrendPoint]) -> list[TrendMark]:
    """Runs with a posture placed on a 300x80 chart (0 % at the bottom, 100 % at the top)."""
    known = [p for p in points if p.posture is not None]
    if not known:
        return []
    step = TREND_WIDTH / max(len(known) - 1, 1)
    return [
        TrendMark(
            round(i * step if len(known) > 1 else TREND_WIDTH / 2, 2),
            round(TREND_HEIGHT - TREND_HEIGHT * float(p.posture or 0.0) / 100.0, 2),
            p,
        )
        for i, p in enumerate(known)
    ]


def polyline(marks: Sequence[TrendMark]) -> str:
    """SVG `points` attribute of the trend line."""
    return " ".join(f"{m.x},{m.y}" for m in marks)


def page_css(result: ScanResult, options: RenderOptions) -> str:
    """The print rules that depend on the result and options: paper size, running header and
    page numbers (omitted when the PDF printer draws its own)."""
    rules = [f"@page {{ size: {options.paper.css_size}; margin: 16mm 12mm 16mm; }}"]
    if options.page_chrome:
        header = css_string(f"HIPAA posture report - {result.tenant_name} - {result.generated_at}")
        rules.append(
            "@page { "
            f"@top-left {{ content: {header}; font-size: 8pt; color: #475467; }} "
            '@bottom-right { content: "Page " counter(page) " of " counter(pages); '
            "font-size: 8pt; color: #475467; } }"
        )
    return "\n".join(rules) + "\n"


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
    env.globals.update(
        stacked=stacked,
        scaled=scaled,
        plural=plural,
        names_in=names_in,
        trend_marks=trend_marks,
        polyline=polyline,
        trend_width=TREND_WIDTH,
        trend_height=TREND_HEIGHT,
    )
    return env


def _stylesheet(result: ScanResult, options: RenderOptions) -> str:
    css = (reports_dir() / STYLESHEET).read_text(encoding="utf-8") + page_css(result, options)
    if "</" in css:
        # Inside <style> the HTML parser ends the element at "</"; keep the stylesheet inert.
        raise ValueError(f"{STYLESHEET}: must not contain '</'")
    return css


def _largest(values: Iterable[int]) -> int:
    return max(values, default=0)


def _finding_texts(finding: Finding, observed: str) -> list[str]:
    return [finding.resource_id, finding.resource_name, finding.message, observed]


def _waivers_by_state(result: ScanResult) -> dict[str, list[WaiverInfo]]:
    """The waivers grouped by state, in file order (the template lists each state's table)."""
    grouped: dict[str, list[WaiverInfo]] = {}
    for waiver in result.waivers:
        grouped.setdefault(waiver.state, []).append(waiver)
    return grouped


def _finding_names(
    finding: Finding, observed: str, names: Mapping[str, str]
) -> list[tuple[str, str]]:
    """Names for the ids a finding quotes, except its subscription (the card names it already).

    `observed` is the observed value's `json_text`, which the card has rendered already.
    """
    own = (finding.subscription_id or "").lower()
    texts = _finding_texts(finding, observed)
    return [(key, label) for key, label in names_in(texts, names) if key != own]


def _chunks(result: ScanResult, options: RenderOptions) -> Iterable[str]:
    css = _stylesheet(result, options)
    summary = result.summary
    template = _environment().get_template(TEMPLATE)
    checks = {c.id: c for c in result.checks}
    names = result.display_names
    return template.generate(
        result=result,
        summary=summary,
        options=options,
        css=Markup(css),  # noqa: S704 - our own packaged stylesheet, checked above
        csp=content_security_policy(css),
        checks=checks,
        check_rows={c["check_id"]: c for c in summary["checks"]},
        findings=findings_by_check(result),
        web_findings=web_findings_by_site(result) if result.web_sites else {},
        waivers_by_state=_waivers_by_state(result),
        names=names,
        finding_names=lambda f, observed: _finding_names(f, observed, names),
        name_of=lambda key: names.get(str(key).lower(), key) if key else key,
        effective=lambda f: (f.severity or checks[f.check_id].severity).value,
        severity_max=_largest(summary["failing_by_severity"].values()),
        statuses=list(STATUS_LABELS),
        severity_weights={s.value: w for s, w in SEVERITY_WEIGHT.items()},
        phi_factor=PHI_FACTOR,
        exposures=[
            (e.value, e.factor, sorted(c for c, x in CHECK_EXPOSURE.items() if x is e))
            for e in Exposure
        ],
    )


_FLUSH = 64 * 1024


def write_html(result: ScanResult, stream: BinaryIO, options: RenderOptions) -> None:
    """Stream the HTML report into `stream` (UTF-8; a lone surrogate is written escaped)."""
    pending: list[str] = []
    size = 0
    for chunk in _chunks(result, options):
        pending.append(chunk)
        size += len(chunk)
        if size >= _FLUSH:
            stream.write(encode("".join(pending)))
            pending.clear()
            size = 0
    stream.write(encode("".join(pending)))


def render_html(result: ScanResult, options: RenderOptions | None = None) -> str:
    """The whole report as a string (for tests; a pure function of `result` and the templates)."""
    buffer = io.BytesIO()
    write_html(result, buffer, options or RenderOptions())
    return buffer.getvalue().decode("utf-8")
