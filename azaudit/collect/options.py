"""What a live collection covers and how: parsed by the CLI, used by the collectors."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class LogFormat(enum.StrEnum):
    """How progress and diagnostics are written: rich on a terminal, plain or JSON lines in CI."""

    AUTO = "auto"
    RICH = "rich"
    PLAIN = "plain"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """Scope and tuning of a live scan.

    Attributes:
        subscriptions: explicit subscription ids (`--subscription`, repeatable).
        all_subscriptions: every subscription the credential can see.
        management_group: every subscription below this management group.
        tenant: Entra tenant id to authenticate against.
        cloud: `AzureCloud`, `AzureUSGovernment` or `AzureChinaCloud`.
        concurrency: maximum ARM/Graph requests in flight.
        timeout: overall deadline for collection, in seconds.
    """

    subscriptions: tuple[str, ...] = ()
    all_subscriptions: bool = False
    management_group: str | None = None
    tenant: str | None = None
    cloud: str = "AzureCloud"
    concurrency: int = 16
    timeout: float = 1800.0
