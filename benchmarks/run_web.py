"""Time the web tracker scan against local HTTPS sites with a fixed latency per request.

A server child process serves S sites x P pages over HTTPS on 127.0.0.1 (one port, sites told
apart by host name, a throwaway CA) and sleeps `--latency-ms` before every answer, a stand-in for
the distance to a real web server. Each scan then runs in its own child process so that its peak
RSS is its own:

- `naive`: the same fetch/parse/detect code, one site after another, one request at a time (what
  a simple sequential crawler does);
- `static`: `azaudit.web.scan_sites` with its defaults (all sites concurrently, 4 per site);
- `rendered`: the static scan plus headless Chromium on every page (`--render`), on the first
  `--render-sites` sites (rendering 1,000 pages takes long; pages/s is what is compared).

    python -m benchmarks.run_web
    python -m benchmarks.run_web --sites 50 --pages 20 --render-sites 5 --json web.json

Benchmarks are run by hand; they are not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SERVE_FLAG = "--serve-child"
SCAN_FLAG = "--scan-child"
GA4 = (
    '<script async src="https://www.googletagmanager.com/gtag/js?id=G-BENCH0001"></script>'
    "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js',new Date());gtag('config','G-BENCH0001');</script>"
)
FILLER = "<p>" + "Opening hours, departments, parking and visitor information. " * 6 + "</p>"


def host(i: int) -> str:
    """The host name of site `i`."""
    return f"site{i:03d}.bench.test"


def page_html(site: int, index: int, pages: int) -> str:
    """Page `index` of a site: about 25 KB, links onward, a tracker on every fifth page."""
    links = " ".join(
        f'<a href="/p{(index + k) % pages}">page {(index + k) % pages}</a>' for k in (1, 2, 3)
    )
    head = GA4 if index % 5 == 4 else ""
    return (
        f"<!doctype html><html><head><title>Site {site} page {index}</title>{head}</head>"
        f"<body><nav>{links} <a href='/'>home</a></nav>{FILLER * 40}</body></html>"
    )


def serve(config: dict[str, Any]) -> None:
    """Child: serve every site until killed; print the port once listening."""
    from aiohttp import web

    pages = int(config["pages"])
    latency = float(config["latency_ms"]) / 1000
    bodies = {
        (host(s), "/" if p == 0 else f"/p{p}"): page_html(s, p, pages)
        for s in range(int(config["sites"]))
        for p in range(pages)
    }

    async def handle(request: web.Request) -> web.Response:
        await asyncio.sleep(latency)
        body = bodies.get((request.host.split(":")[0], request.path))
        if body is None:
            return web.Response(status=404, text="not found")
        return web.Response(text=body, content_type="text/html")

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(config["cert"], config["key"])

    async def main() -> None:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock, ssl_context=context, backlog=1024).start()
        print(sock.getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def scan(mode: str, config: dict[str, Any]) -> None:
    """Child: run one scan mode and print its measurements as JSON."""
    from azaudit.web import SiteTarget, WebScanOptions, scan_sites

    count = int(config["render_sites"]) if mode == "rendered" else int(config["sites"])
    port = int(config["port"])
    context = ssl.create_default_context(cafile=config["ca"])
    options = WebScanOptions(
        max_pages=int(config["pages"]),
        max_depth=int(config["pages"]),
        resolve={(host(i), 443): ("127.0.0.1", port) for i in range(count)},
        only_resolved=True,
        ssl_context=context,
        render=mode == "rendered",
        render_trust_any_certificate=True,
        timeout=30.0,
    )
    targets = [SiteTarget(f"https://{host(i)}/", "user") for i in range(count)]
    started = time.perf_counter()
    if mode == "naive":
        sequential = WebScanOptions(**{**_fields(options), "per_host": 1, "concurrency": 1})
        sites = [s for t in targets for s in scan_sites([t], sequential)["sites"]]
    else:
        sites = scan_sites(targets, options)["sites"]
    wall = time.perf_counter() - started
    pages = sum(len(s["pages"]) for s in sites)
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(
        json.dumps(
            {
                "mode": mode,
                "sites": count,
                "pages": pages,
                "errors": sum(len(s["errors"]) for s in sites),
                "detections": sum(len(s["detections"]) for s in sites),
                "wall_s": round(wall, 2),
                "pages_per_s": round(pages / wall, 1),
                "peak_rss_mb": round(own.ru_maxrss / 1024, 1),
                "browser_peak_rss_mb": round(children.ru_maxrss / 1024, 1),
                "cpu_s": round(own.ru_utime + own.ru_stime, 1),
            }
        ),
        flush=True,
    )


def _fields(options: Any) -> dict[str, Any]:
    return {name: getattr(options, name) for name in options.__slots__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=50)
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--render-sites", type=int, default=5)
    parser.add_argument("--modes", default="naive,static,rendered")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument(SERVE_FLAG, default=None, help=argparse.SUPPRESS)
    parser.add_argument(SCAN_FLAG, nargs=2, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_child:
        serve(json.loads(args.serve_child))
        return 0
    if args.scan_child:
        scan(args.scan_child[0], json.loads(args.scan_child[1]))
        return 0

    import trustme

    with tempfile.TemporaryDirectory() as tmp:
        ca = trustme.CA()
        cert = ca.issue_cert(*(host(i) for i in range(args.sites)))
        paths = {name: str(Path(tmp) / f"{name}.pem") for name in ("ca", "cert", "key")}
        ca.cert_pem.write_to_path(paths["ca"])
        cert.cert_chain_pems[0].write_to_path(paths["cert"])
        cert.private_key_pem.write_to_path(paths["key"])
        config = {
            "sites": args.sites,
            "pages": args.pages,
            "latency_ms": args.latency_ms,
            "render_sites": args.render_sites,
            **paths,
        }
        server = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.run_web", SERVE_FLAG, json.dumps(config)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert server.stdout is not None
            config["port"] = int(server.stdout.readline())
            rows = []
            for mode in args.modes.split(","):
                out = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "benchmarks.run_web",
                        SCAN_FLAG,
                        mode,
                        json.dumps(config),
                    ],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
                print(json.dumps(rows[-1]), flush=True)
        finally:
            server.terminate()
            server.wait(timeout=30)
    report = {
        "machine": {"python": platform.python_version(), "cpus": _cpus()},
        "config": {k: config[k] for k in ("sites", "pages", "latency_ms", "render_sites")},
        "runs": rows,
    }
    print(_table(rows))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| Mode | Sites | Pages | Errors | Detections | Wall (s) | Pages/s | Peak RSS (MB) "
        "| Browser RSS (MB) | CPU (s) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mode']} | {r['sites']} | {r['pages']} | {r['errors']} | {r['detections']} "
            f"| {r['wall_s']} | {r['pages_per_s']} | {r['peak_rss_mb']} "
            f"| {r['browser_peak_rss_mb']} | {r['cpu_s']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
