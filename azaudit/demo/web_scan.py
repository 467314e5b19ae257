"""The demo tenant's recorded web scan: the `web:scan` document a `scan --web` run would keep.

The sites are the ones the scanner discovers in the demo inventory (every App Service app and
slot), plus the public site given on the command line (`--web-url https://www.<domain>/`). Each
page is HTML run through the scanner's own parser and detector (`azaudit.web.pages.record_page`,
`azaudit.web.detect.detect_container`), so the evidence in the document is what a real scan of
such pages records; only the network is left out.

The story: the public site loads Google Tag Manager, whose container deploys the Meta Pixel,
also on the appointment-request page. The patient portal records sessions with Microsoft
Clarity on its appointment pages (Microsoft's HIPAA BAA does not cover Clarity) and sends
Application Insights telemetry to the tenant's own resource. The billing-statements app, built by
a contractor, has Google Analytics and reports to an Application Insights key outside the
tenant. The referral app uses Twilio Segment (a BAA on some plans only), and its forgotten
staging slot Crazy Egg (no BAA evidence). The other apps carry no tracker.
"""

from __future__ import annotations

from azaudit.demo.monitoring import PORTAL_INSTRUMENTATION_KEY
from azaudit.demo.org import DOMAIN, guid
from azaudit.snapshot import Snapshot
from azaudit.web.detect import detect_container
from azaudit.web.discover import discover_sites
from azaudit.web.html import parse_page
from azaudit.web.options import SiteTarget, WebScanOptions, site_targets
from azaudit.web.pages import FetchedPage, record_page
from azaudit.web.scan import new_site, scan_document, with_web_scan
from azaudit.web.trackers import default_tracker_data

PUBLIC_SITE = f"https://www.{DOMAIN}/"
"""The organisation's public site, given on the command line (not in the Azure inventory)."""

FETCHED_AT = "2026-11-01T06:04:00Z"
"""When the pages were read: just after the inventory was collected."""

_GTM_CONTAINER = "https://www.googletagmanager.com/gtm.js?id=GTM-NW4H7Q2"
_CONTRACTOR_KEY = guid("ikey:billing-contractor")

_GTM = (
    "<!-- Google Tag Manager --><script>(function(w,d,s,l,i){w[l]=w[l]||[];"
    "w[l].push({'gtm.start':new Date().getTime(),event:'gtm.js'});var f=d.getElementsByTagName(s)"
    "[0],j=d.createElement(s);j.async=true;j.src='https://www.googletagmanager.com/gtm.js?id='+i;"
    "f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','GTM-NW4H7Q2');"
    "</script><!-- End Google Tag Manager -->"
)
_CLARITY = (
    '<script type="text/javascript">(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){(c[a].q='
    'c[a].q||[]).push(arguments)};t=l.createElement(r);t.async=1;t.src="https://www.clarity.ms/'
    'tag/"+i;y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);})(window, document, '
    '"clarity", "script", "nw7k2p9q4r");</script>'
)
_GOOGLE_ANALYTICS = (
    '<script async src="https://www.googletagmanager.com/gtag/js?id=G-NW8X2B6C4D"></script>'
    "<script>window.dataLayer=window.dataLayer||[];function gtag(){dataLayer.push(arguments);}"
    "gtag('js', new Date());gtag('config', 'G-NW8X2B6C4D');</script>"
)
_SEGMENT = (
    '<script src="https://cdn.segment.com/analytics.js/v1/nwRefW8k2/analytics.min.js"></script>'
)
_CRAZY_EGG = '<script async src="https://script.crazyegg.com/pages/scripts/0118/4471.js"></script>'


def _app_insights(key: str) -> str:
    return (
        '<script src="https://js.monitor.azure.com/scripts/b/ai.3.gbl.min.js"></script>'
        "<script>var appInsights=new Microsoft.ApplicationInsights.ApplicationInsights({config:{"
        f'connectionString: "InstrumentationKey={key};IngestionEndpoint=https://eastus2-3.in.'
        'applicationinsights.azure.com/"}});appInsights.loadAppInsights();'
        "appInsights.trackPageView();</script>"
    )


CONTAINERS = {
    _GTM_CONTAINER: (
        'var data={"resource":{"version":"14","tags":[{"function":"__html","vtp_html":"<script>'
        "!function(f,b,e,v,n,t,s){if(f.fbq)return;n=f.fbq=function(){n.callMethod?"
        "n.callMethod.apply(n,arguments):n.queue.push(arguments)};t=b.createElement(e);"
        "t.src='https:\\/\\/connect.facebook.net\\/en_US\\/fbevents.js';}(window,document,"
        "'script');fbq('init', '907311452218334');fbq('track', 'PageView');<\\/script>\"}]}};"
    )
}
"""Tag-manager container bodies, by URL (fetched once per scan, as a browser would)."""

_PORTAL_TELEMETRY = _app_insights(PORTAL_INSTRUMENTATION_KEY)

_PAGES: dict[str, dict[str, tuple[str, tuple[str, ...]]]] = {
    PUBLIC_SITE: {
        "/": ("Care close to home", (_GTM,)),
        "/find-a-doctor": ("Find a doctor", (_GTM,)),
        "/appointments/request": ("Request an appointment", (_GTM,)),
    },
    "https://app-nw-portal-web.azurewebsites.net/": {
        "/": ("Patient portal", (_PORTAL_TELEMETRY,)),
        "/appointments": ("My appointments", (_PORTAL_TELEMETRY, _CLARITY)),
        "/messages": ("Messages", (_PORTAL_TELEMETRY,)),
    },
    "https://app-nw-billing-statements.azurewebsites.net/": {
        "/": ("Statements", (_GOOGLE_ANALYTICS, _app_insights(_CONTRACTOR_KEY))),
        "/statements/latest": ("Latest statement", (_GOOGLE_ANALYTICS,)),
    },
    "https://app-nw-referrals.azurewebsites.net/": {
        "/": ("Referrals", (_SEGMENT,)),
        "/referrals/new": ("New referral", (_SEGMENT,)),
    },
    "https://app-nw-referrals-staging.azurewebsites.net/": {
        "/": ("Referrals (staging)", (_SEGMENT, _CRAZY_EGG)),
    },
}
"""Pages of each site (path -> title and tags); a site not listed serves one untagged page."""


def _targets(snapshot: Snapshot) -> list[SiteTarget]:
    """What `scan --web --web-url <public site>` scans: discovered sites, then the given one."""
    return [*discover_sites(snapshot), *site_targets([PUBLIC_SITE])]


def site_pages(url: str) -> dict[str, str]:
    """The HTML of every page of the site at `url`, by path; each page links to all the others,
    so a crawl from the start page reads every one of them."""
    host = url.split("/")[2]
    pages = _PAGES.get(url, {"/": (host, ())})
    nav = "".join(f'<a href="{path}">{title}</a> ' for path, (title, _) in pages.items())
    return {
        path: (
            f"<!doctype html><html><head><title>{title} - Northwind Regional Health</title>"
            f"{''.join(tags)}</head><body><nav>{nav}</nav><h1>{title}</h1></body></html>"
        )
        for path, (title, tags) in pages.items()
    }


def demo_sites(snapshot: Snapshot) -> dict[str, dict[str, str]]:
    """Start URL -> path -> HTML of every site the demo's web scan reads."""
    return {target.url: site_pages(target.url) for target in _targets(snapshot)}


def with_recorded_web_scan(snapshot: Snapshot) -> Snapshot:
    """`snapshot` with the `web:scan` document of its discovered sites and the public site."""
    data = default_tracker_data()
    sites = []
    for target in _targets(snapshot):
        site = new_site(target)
        host = target.url.split("/")[2]
        for path, html in site_pages(target.url).items():
            url = target.url.rstrip("/") + path
            page = FetchedPage(url, url, 200, FETCHED_AT, parse_page(html, url))
            for container in record_page(site, page, host, data):
                site["detections"].extend(
                    detect_container(data, url, container, CONTAINERS[container], FETCHED_AT)
                )
        site["scanned"] = True
        sites.append(site)
    return with_web_scan(snapshot, scan_document(sites, WebScanOptions(), data))
