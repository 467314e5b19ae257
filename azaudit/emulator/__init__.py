"""A local Azure emulator: serves a snapshot as a tenant over HTTPS for tests and benchmarks.

It answers the Entra ID token endpoints, ARM (subscriptions, management groups, resources and
the detail documents of `azaudit.sources`), Azure Resource Graph and Microsoft Graph with the
wire protocol of real Azure, replays the snapshot's collection gaps as the failures that caused
them, and injects latency and faults from a `FaultPlan`. docs/emulator.md describes it.
"""

from __future__ import annotations

from azaudit.emulator.faults import FaultKind, FaultPlan, FaultRule
from azaudit.emulator.limits import LimitMode
from azaudit.emulator.server import Emulator, EmulatorError, EmulatorStats, RequestRecord

__all__ = [
    "Emulator",
    "EmulatorError",
    "EmulatorStats",
    "FaultKind",
    "FaultPlan",
    "FaultRule",
    "LimitMode",
    "RequestRecord",
]
