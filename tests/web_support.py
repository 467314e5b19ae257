"""Local HTTPS sites for the web scan tests, and a guard that no test traffic leaves 127.0.0.1.

Each test site is a real aiohttp server on 127.0.0.1 with a certificate for its public-looking
host name, issued by a throwaway CA (trustme). The scanner reaches it through its resolve
override (like curl's `--resolve`) with `only_resolved`, so an unmapped host fails to resolve
instead of reaching the internet. `loopback_only` adds a process-wide audit hook that refuses
any socket connection to an address other than 127.0.0.1 while it is active.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket
import ssl
import sys
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import trustme
from aiohttp import web

from azaudit.snapshot import Snapshot
from azaudit.web.options import WebScanOptions
from azaudit.web.scan import DOCUMENT

# Vendor snippets exactly as the vendors publish them (ids replaced by test ids).
CLARITY_SNIPPET = """<script type="text/javascript">
    (function(c,l,a,r,i,t,y){
        c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};
        t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/tag/"+i;
        y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);
    })(window, document, "clarity", "script", "k2x9test01");
</script>"""

HOTJAR_SNIPPET = """<!-- Hotjar Tracking Code for https://clinic.example.test -->
<script>
    (function(h,o,t,j,a,r){
        h.hj=h.hj||function(){(h.hj.q=h.hj.q||[]).push(arguments)};
        h._hjSettings={hjid:3141592,hjsv:6};
        a=o.getElementsByTagName('head')[0];
        r=o.createElement('script');r.async=1;
        r.src=t+h._hjSettings.hjid+j+h._hjSettings.hjsv;
        a.appendChild(r);
    })(window,document,'https://static.hotjar.com/c/hotjar-','.js?sv=');
</script>"""

GA4_SNIPPET = """<!-- Google tag (gtag.js) -->
<script async src="https://www.googletagmanager.com/gtag/js?id=G-TEST12345"></script>
<script>
  window.dataLayer = window.dataLayer || [];
  function gtag(){dataLayer.push(arguments);}
  gtag('js', new Date());

  gtag('config', 'G-TEST12345');
</script>"""

GTM_HEAD_SNIPPET = """<!-- Google Tag Manager -->
<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':
new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)[0],
j=d.createElement(s),dl=l!='dataLayer'?'&l='+l:'';j.async=true;j.src=
'https://www.googletagmanager.com/gtm.js?id='+i+dl;f.parentNode.insertBefore(j,f);
})(window,document,'script','dataLayer','GTM-TEST123');</script>
<!-- End Google Tag Manager -->"""

GTM_BODY_SNIPPET = """<!-- Google Tag Manager (noscript) -->
<noscript><iframe src="https://www.googletagmanager.com/ns.html?id=GTM-TEST123"
height="0" width="0" style="display:none;visibility:hidden"></iframe></noscript>
<!-- End Google Tag Manager (noscript) -->"""

# A GTM container whose Custom HTML tag deploys the Meta Pixel (strings escaped as gtm.js does).
GTM_CONTAINER = (
    'var data = {"resource":{"version":"7","macros":[],"tags":[{"function":"__html",'
    '"vtp_html":"\\u003cscript\\u003e!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function()'
    "{n.callMethod?n.callMethod.apply(n,arguments):n.queue.push(arguments)};t=b.createElement(e);"
    "t.async=!0;t.src=v;s=b.getElementsByTagName(e)[0];s.parentNode.insertBefore(t,s)}"
    "(window,document,'script','https:\\/\\/connect.facebook.net\\/en_US\\/fbevents.js');"
    "fbq('init','1234567890');fbq('track','PageView');\\u003c\\/script\\u003e\","
    '"tag_id":3}]}};'
)

# First-party code that injects the Meta Pixel only when it runs (found only by rendering).
RUNTIME_INJECTOR = """(function () {
  var s = document.createElement('script');
  s.async = true;
  s.src = 'https://connect.facebook.net/en_US/fbevents.js';
  document.head.appendChild(s);
  try { window.localStorage.setItem('clinic_visit', '1'); } catch (e) {}
})();
"""

APPINSIGHTS_KEY = "6f1c2a52-3a3e-4f0b-9d55-0c3c1b2a7e11"
APPINSIGHTS_SNIPPET = (
    '<script src="https://js.monitor.azure.com/scripts/b/ai.3.gbl.min.js" crossorigin="anonymous">'
    "</script>\n<script>\n"
    "var appInsights = new Microsoft.ApplicationInsights.ApplicationInsights({ config: {\n"
    f'  connectionString: "InstrumentationKey={APPINSIGHTS_KEY};'
    'IngestionEndpoint=https://eastus-8.in.applicationinsights.azure.com/"\n'
    "}});\nappInsights.loadAppInsights();\nappInsights.trackPageView();\n</script>"
)


def page(body: str, head: str = "", title: str = "Test page") -> str:
    """A small HTML document."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{head}"
        f"</head><body>{body}</body></html>"
    )


@dataclass(frozen=True, slots=True)
class Route:
    """What a test site answers for one path."""

    body: str | bytes = ""
    status: int = 200
    content_type: str = "text/html"
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Sites:
    """Running test sites: their CA, the resolve map, and the requests they served."""

    ca: trustme.CA
    resolve: dict[tuple[str, int], tuple[str, int]]
    ports: dict[str, int]
    requests: list[tuple[str, str, str, str]]  # (host, method, path, user agent)

    def options(self, **overrides: Any) -> WebScanOptions:
        """Scan options that trust the test CA and can reach only the test sites."""
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        settings: dict[str, Any] = {
            "resolve": self.resolve,
            "only_resolved": True,
            "ssl_context": context,
            "timeout": 2.0,
        }
        settings.update(overrides)
        return WebScanOptions(**settings)


def _app(
    host: str, routes: Mapping[str, Route], log: list[tuple[str, str, str, str]]
) -> web.Application:
    async def handle(request: web.Request) -> web.StreamResponse:
        log.append((host, request.method, request.path_qs, request.headers.get("User-Agent", "")))
        route = routes.get(request.path_qs) or routes.get(request.path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.delay:
            await asyncio.sleep(route.delay)
        body = route.body.encode() if isinstance(route.body, str) else route.body
        return web.Response(
            status=route.status,
            body=body,
            content_type=route.content_type,
            headers=dict(route.headers),
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


@contextmanager
def serve_sites(sites: Mapping[str, Mapping[str, Route]]) -> Iterator[Sites]:
    """Serve `host -> path -> Route` over HTTPS on 127.0.0.1, one port per host."""
    ca = trustme.CA()
    cert = ca.issue_cert(*sites)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_context)
    loop = asyncio.new_event_loop()
    log: list[tuple[str, str, str, str]] = []
    runners: list[web.AppRunner] = []
    ports: dict[str, int] = {}

    async def start() -> None:
        for host, routes in sites.items():
            runner = web.AppRunner(_app(host, routes, log), access_log=None, shutdown_timeout=0.1)
            await runner.setup()
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            ports[host] = sock.getsockname()[1]
            site = web.SockSite(runner, sock, ssl_context=server_context)
            await site.start()
            runners.append(runner)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
    try:
        yield Sites(
            ca=ca,
            resolve={(h, 443): ("127.0.0.1", p) for h, p in ports.items()},
            ports=ports,
            requests=log,
        )
    finally:

        async def stop() -> None:
            for runner in runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


_GUARD = {"active": False, "refused": []}


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if not _GUARD["active"] or event != "socket.connect":
        return
    address = args[1]
    if isinstance(address, tuple) and address and address[0] not in ("127.0.0.1", "::1"):
        _GUARD["refused"].append(address)  # type: ignore[attr-defined]
        raise ConnectionRefusedError(f"test guard: connection to {address!r} refused")


_HOOKED: list[bool] = []


@contextmanager
def loopback_only() -> Iterator[list[Any]]:
    """Refuse every socket connection to a non-loopback address; yield the refused addresses."""
    if not _HOOKED:
        sys.addaudithook(_audit)  # audit hooks cannot be removed: install once, toggle
        _HOOKED.append(True)
    refused: list[Any] = []
    _GUARD["active"], _GUARD["refused"] = True, refused
    try:
        yield refused
    finally:
        _GUARD["active"] = False


def without_web_scan(snapshot: Snapshot) -> Snapshot:
    """`snapshot` without its recorded `web:scan` document: what a live collection without
    `--web` gathers from the same tenant."""
    details = {scope: dict(docs) for scope, docs in snapshot.details.items()}
    details.get("/", {}).pop(DOCUMENT, None)
    return dataclasses.replace(snapshot, details=details)
