"""What a live collection covers and how: parsed by the CLI, used by the collectors.

Kept free of Azure SDK imports so that the CLI starts fast when no live scan is asked for.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from azaudit.errors import InputError

if TYPE_CHECKING:
    from azaudit.collect.auth import CredentialFactory
    from azaudit.collect.throttle import ThrottleSettings

_GUID = re.compile(r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
_MANAGEMENT_GROUP = re.compile(r"^[A-Za-z0-9_.()\-]{1,90}$")


class LogFormat(enum.StrEnum):
    """How progress and diagnostics are written: rich on a terminal, plain or JSON lines in CI."""

    AUTO = "auto"
    RICH = "rich"
    PLAIN = "plain"
    JSON = "json"


@dataclass(frozen=True, slots=True)
class RetrySettings:
    """Bounded retry of 408/429/5xx, timeouts and connection errors (azure-core RetryPolicy).

    `Retry-After` / `retry-after-ms` from the service take precedence over the backoff.

    Attributes:
        total: retries per request, all causes together.
        backoff_factor: exponential backoff base when no `Retry-After` is given (seconds).
        backoff_max: longest backoff between two attempts (seconds).
        connect_timeout: TCP/TLS connect timeout per attempt (seconds).
        read_timeout: socket read timeout per attempt (seconds).
    """

    total: int = 6
    backoff_factor: float = 0.8
    backoff_max: float = 60.0
    connect_timeout: float = 20.0
    read_timeout: float = 120.0


@dataclass(frozen=True, slots=True)
class LiveOptions:
    """Scope and tuning of a live scan.

    Attributes:
        subscriptions: explicit subscription ids (`--subscription`, repeatable).
        all_subscriptions: every subscription the credential can see.
        management_group: every subscription below this management group.
        tenant: Entra tenant id to authenticate against.
        cloud: `AzureCloud`, `AzureUSGovernment` or `AzureChinaCloud`.
        concurrency: the ceiling of requests in flight; below it the limit adapts to latency,
            429s and the remaining-budget headers (collect/adaptive.py).
        initial_concurrency: where the adaptive limit starts (it doubles per round trip while
            answers stay fast).
        timeout: overall deadline for collection, in seconds.
        per_scope_concurrency: maximum requests outstanding for one subscription (or Graph).
        arg_batch_size: subscriptions per Resource Graph query (the service accepts ~1000).
        inventory_page_rows: rows per Resource Graph page (the service's maximum is 1,000).
        parallel_inventory: fetch the pages of the inventory at once (`$skip`/`$top`, sized by a
            count query) rather than one after the other (`$skipToken`).
        retry: retry and timeout settings of every request.
    """

    subscriptions: tuple[str, ...] = ()
    all_subscriptions: bool = False
    management_group: str | None = None
    tenant: str | None = None
    cloud: str = "AzureCloud"
    concurrency: int = 256
    initial_concurrency: int = 16
    timeout: float = 1800.0
    per_scope_concurrency: int = 32
    arg_batch_size: int = 1000
    inventory_page_rows: int = 1000
    parallel_inventory: bool = True
    retry: RetrySettings = field(default_factory=RetrySettings)

    def validate_scan(self) -> None:
        """`validate`, and a scan reads exactly one scope (a second one would be ignored).

        Raises:
            InputError: naming the options and what was expected.
        """
        chosen = [
            name
            for name, given in (
                ("--subscription", bool(self.subscriptions)),
                ("--all-subscriptions", self.all_subscriptions),
                ("--management-group", self.management_group is not None),
            )
            if given
        ]
        if len(chosen) != 1:
            raise InputError(
                "choose exactly one of --subscription, --all-subscriptions or "
                f"--management-group (got {', '.join(chosen) or 'none'})"
            )
        self.validate()

    def validate(self) -> None:
        """Reject malformed ids before any request is made.

        Raises:
            InputError: naming the option and what was expected.
        """
        for sub in self.subscriptions:
            if not _GUID.match(sub):
                raise InputError(
                    f"--subscription {sub!r}: expected a subscription id "
                    "(a GUID such as 00000000-0000-0000-0000-000000000000)"
                )
        if self.management_group is not None and not _MANAGEMENT_GROUP.match(self.management_group):
            raise InputError(
                f"--management-group {self.management_group!r}: expected a management group "
                "id (letters, digits, - _ . ( ), at most 90 characters)"
            )
        if self.tenant is not None and not self.tenant.strip():
            raise InputError("--tenant: expected a tenant id or domain")
        if (
            self.concurrency < 1
            or self.initial_concurrency < 1
            or self.per_scope_concurrency < 1
            or self.arg_batch_size < 1
        ):
            raise InputError("--concurrency: expected a positive number")
        if not 1 <= self.inventory_page_rows <= 1000:
            raise InputError("inventory page size: expected 1 to 1000 rows")
        if self.timeout <= 0:
            raise InputError("--timeout: expected a positive number of seconds")


@dataclass(frozen=True, slots=True)
class LiveDeps:
    """What a live collection gets injected instead of reading globals.

    Attributes:
        credential_factory: builds the credential (default: `DefaultAzureCredential`).
        environ: environment for endpoint and CA-bundle overrides (default: `os.environ`).
        throttle: pacing thresholds (default: `ThrottleSettings()`).
        clock: the time recorded as `collected_at` (default: the system clock, UTC).
        event_loop: `auto` (uvloop where installed, else asyncio), `asyncio` or `uvloop`.
    """

    credential_factory: CredentialFactory | None = None
    environ: Mapping[str, str] | None = None
    throttle: ThrottleSettings | None = None
    clock: Callable[[], datetime] | None = None
    event_loop: str = "auto"
