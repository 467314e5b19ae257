"""What a page references, read with a real HTML parser (the standard library's `html.parser`).

Only elements that make a browser fetch or run something are collected: `script` (external and
inline code), `link` with a fetching `rel` (preload, modulepreload, prefetch, preconnect,
dns-prefetch, stylesheet), `img` (including tracking pixels inside `noscript`), `iframe`, and `a`
links for the crawl. Text and link targets are never matched against trackers: a page that
mentions a vendor, or links to its site, does not load it. `html.parser` does not run scripts,
so `noscript` content is parsed as markup, which is what exposes noscript pixels.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

FETCHING_RELS = frozenset(
    {"preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch", "stylesheet"}
)
# Script types a browser executes (or a consent manager re-types to text/plain until consent).
CODE_TYPES = frozenset(
    {"", "text/javascript", "application/javascript", "module", "text/plain", "text/ecmascript"}
)


@dataclass(frozen=True, slots=True)
class Reference:
    """An element that makes the browser fetch a URL."""

    kind: str  # "script", "link", "img", "iframe"
    url: str  # absolute
    element: str  # the start tag as written, shortened: the evidence a reader can search for


@dataclass(slots=True)
class PageContent:
    """Everything on one page that matters to tracker detection and the crawl."""

    references: list[Reference] = field(default_factory=list)
    inline_scripts: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


class _Collector(HTMLParser):
    def __init__(self, base_url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base_url
        self.content = PageContent()
        self._script: list[str] | None = None

    def _absolute(self, raw: str | None) -> str | None:
        if raw is None or not raw.strip():
            return None
        value = raw.strip()
        if value.lower().startswith(("javascript:", "data:", "mailto:", "tel:", "blob:")):
            return None
        try:
            return urldefrag(urljoin(self.base, value))[0]
        except ValueError:  # e.g. an unbalanced IPv6 bracket: a browser would not fetch it either
            return None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        text = self.get_starttag_text() or f"<{tag}>"
        element = text if len(text) <= 300 else text[:297] + "..."
        if tag == "base" and values.get("href"):
            self.base = self._absolute(values["href"]) or self.base
        elif tag == "script":
            src = self._absolute(values.get("src"))
            if src is not None:
                self.content.references.append(Reference("script", src, element))
            elif values.get("type", "").strip().lower() in CODE_TYPES:
                self._script = []
        elif tag == "link":
            rels = set(values.get("rel", "").lower().split())
            href = self._absolute(values.get("href"))
            if href is not None and rels & FETCHING_RELS:
                self.content.references.append(Reference("link", href, element))
        elif tag in ("img", "iframe"):
            src = self._absolute(values.get("src"))
            if src is not None:
                self.content.references.append(Reference(tag, src, element))
        elif tag == "a":
            href = self._absolute(values.get("href"))
            if href is not None:
                self.content.links.append(href)

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            code = "".join(self._script)
            if code.strip():
                self.content.inline_scripts.append(code)
            self._script = None


def parse_page(html: str, url: str) -> PageContent:
    """The references, inline scripts and links of an HTML document fetched from `url`."""
    collector = _Collector(url)
    collector.feed(html)
    collector.close()
    return collector.content
