"""Live collection from Azure (ARM, Resource Graph, Microsoft Graph) into a `Snapshot`."""

from __future__ import annotations

from azaudit.catalogue import Catalogue
from azaudit.collect.options import LiveOptions, LogFormat
from azaudit.errors import InputError
from azaudit.snapshot import Snapshot


def collect_live(options: LiveOptions, catalogue: Catalogue, log_format: LogFormat) -> Snapshot:
    """Collect a snapshot of the requested scope."""
    raise InputError("live collection is not available in this build")
