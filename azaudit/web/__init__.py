"""The web tracker scanner: finds third-party trackers on the tenant's public sites.

Collection only (evaluation is in `azaudit.evaluators.web` and `checks/web/`): `discover_sites`
reads the inventory, `run_web_scan` crawls (and optionally renders) the sites and returns the
`web:scan` document the snapshot stores at the tenant scope.
"""

from __future__ import annotations

from azaudit.web.discover import discover_sites
from azaudit.web.options import SiteTarget, WebScanOptions
from azaudit.web.scan import DOCUMENT, run_web_scan, scan_sites

__all__ = [
    "DOCUMENT",
    "SiteTarget",
    "WebScanOptions",
    "discover_sites",
    "run_web_scan",
    "scan_sites",
]
