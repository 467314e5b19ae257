"""How azaudit starts the system Chromium (PDF reports, the rendered web scan).

One place for the flags: headless, no sandbox (CI runs as root), and none of Chromium's own
background traffic (updates, sync, safe browsing), which a closed network refuses anyway.
The browser is Debian's `chromium`; nothing is ever downloaded.
"""

from __future__ import annotations

DEFAULT_CHROMIUM = "/usr/bin/chromium"

HEADLESS_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
