"""Pacing requests by what Azure says about the remaining request budget.

ARM answers every read with `x-ms-ratelimit-remaining-subscription-reads` (and `-tenant-reads`);
Resource Graph with `x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after`. Since 2024 ARM
limits reads with a token bucket per subscription and principal (250 requests, refilled at 25/s:
learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling).
Rather than run into 429s and sleep on `Retry-After`, requests to a subscription whose budget is
low are spaced out, more as it approaches zero. A 429 that happens anyway is retried by
azure-core's retry policy, which honours `Retry-After` / `retry-after-ms`.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

REMAINING_READ_HEADERS = (
    "x-ms-ratelimit-remaining-subscription-reads",
    "x-ms-ratelimit-remaining-tenant-reads",
)
ARG_QUOTA_REMAINING = "x-ms-user-quota-remaining"
ARG_QUOTA_RESETS_AFTER = "x-ms-user-quota-resets-after"


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """When and how much to slow down.

    Attributes:
        low_watermark: remaining reads below which requests to that scope are spaced.
        refill_per_second: the bucket's refill rate; at the watermark requests are spaced by
            `1 / refill_per_second`, and proportionally more below it.
        max_spacing: the longest gap between two requests to one scope, in seconds.
        max_quota_wait: the longest wait for a Resource Graph quota window to reset, seconds.
        batch_window: requests spaced closer than this are released together at the end of
            the window their slot falls in (0: each at its own slot).
    """

    low_watermark: int = 50
    refill_per_second: float = 25.0
    max_spacing: float = 2.0
    max_quota_wait: float = 10.0
    batch_window: float = 0.2


def spacing_for_remaining(remaining: int, settings: ThrottleSettings) -> float:
    """Seconds to leave between requests to a scope with `remaining` reads left."""
    if remaining >= settings.low_watermark:
        return 0.0
    base = 1.0 / settings.refill_per_second
    factor = settings.low_watermark / max(remaining, 1)
    return min(settings.max_spacing, base * factor)


def parse_hms(value: str | None) -> float | None:
    """`hh:mm:ss` (Resource Graph's quota reset time) in seconds, or None."""
    if not value:
        return None
    parts = value.strip().split(":")
    if len(parts) != 3:
        return None
    try:
        hours, minutes, seconds = (float(p) for p in parts)
    except ValueError:
        return None
    total = hours * 3600 + minutes * 60 + seconds
    return total if total >= 0 else None


def _int_header(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        return None


class Pacer:
    """Spaces requests per scope key (a subscription id, `arg`, `graph`, `tenant`).

    Single event loop, no locks needed: slot bookkeeping happens between awaits.
    """

    def __init__(
        self,
        settings: ThrottleSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings or ThrottleSettings()
        self._clock = clock
        self._sleep = sleep
        self._spacing: dict[str, float] = {}
        self._next_slot: dict[str, float] = {}
        self.waited = 0.0
        """Total seconds requests were held back (for the end-of-run statistics)."""

    def spacing(self, key: str) -> float:
        """Current spacing of `key`, in seconds."""
        return self._spacing.get(key, 0.0)

    async def wait_turn(self, key: str) -> None:
        """Wait until a request to `key` may be sent."""
        now = self._clock()
        slot = max(now, self._next_slot.get(key, 0.0))
        spacing = self._spacing.get(key, 0.0)
        if spacing > 0.0 or slot > now:
            self._next_slot[key] = slot + spacing
        if slot > now:
            wake = slot
            window = self.settings.batch_window
            if 0.0 < spacing < window:
                # Wake with every other request whose slot is in the same window (a burst of at
                # most window / spacing requests; the slots, and so the rate, are unchanged).
                wake = max(slot, math.ceil(slot / window) * window)
            self.waited += wake - now
            await self._sleep(wake - now)

    def observe(self, key: str, headers: Mapping[str, str]) -> bool:
        """Update `key`'s pacing from a response's rate-limit headers; True if a budget is low."""
        low = False
        remaining: int | None = None
        for name in REMAINING_READ_HEADERS:  # every answer: no list or generator per call
            value = _int_header(headers, name)
            if value is not None and (remaining is None or value < remaining):
                remaining = value
        if remaining is not None:
            self._spacing[key] = spacing_for_remaining(remaining, self.settings)
            low = remaining < self.settings.low_watermark
        quota = _int_header(headers, ARG_QUOTA_REMAINING)
        if quota is not None and quota <= 0:
            resets = parse_hms(headers.get(ARG_QUOTA_RESETS_AFTER))
            wait = min(self.settings.max_quota_wait, resets if resets is not None else 1.0)
            self._next_slot[key] = max(self._next_slot.get(key, 0.0), self._clock() + wait)
            low = True
        return low
