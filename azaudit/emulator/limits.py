"""ARM and Resource Graph request quotas: the headers Azure sends, optionally enforced.

ARM meters reads with a token bucket per subscription (and one for tenant-level reads): 250
requests, refilled at 25 per second (learn.microsoft.com, request-limits-and-throttling, 2024
model); it reports what is left in `x-ms-ratelimit-remaining-subscription-reads`. Resource
Graph allows about 15 queries per 5-second window per user and reports
`x-ms-user-quota-remaining` / `x-ms-user-quota-resets-after` on every answer.

Three modes (`LimitMode`): `report` meters and sends the true remaining budget (a client that
paces itself by these headers behaves as against Azure) but never refuses; `enforce` also
answers 429 with `Retry-After` when a budget is empty, as Azure does; `unlimited` always reports
a full budget (to measure a client's own throughput).
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

ARM_BUCKET = 250
ARM_REFILL_PER_S = 25.0
ARG_QUOTA = 15
ARG_WINDOW_S = 5.0


class LimitMode(enum.StrEnum):
    """How the emulator applies Azure's request quotas."""

    UNLIMITED = "unlimited"
    REPORT = "report"
    ENFORCE = "enforce"


@dataclass(frozen=True, slots=True)
class Admission:
    """Whether a request may proceed, the quota headers, and the wait if it may not."""

    allowed: bool
    headers: dict[str, str]
    retry_after_s: int = 0


class Limits:
    """Quota bookkeeping shared by all request threads.

    Args:
        mode: unlimited, report or enforce.
        clock: monotonic clock in seconds (injected so tests can control time).
        bucket: ARM reads per subscription before refill matters (Azure: 250).
        refill_per_s: ARM reads refilled per second (Azure: 25).
    """

    def __init__(
        self,
        mode: LimitMode = LimitMode.REPORT,
        clock: Callable[[], float] = time.monotonic,
        bucket: int = ARM_BUCKET,
        refill_per_s: float = ARM_REFILL_PER_S,
    ) -> None:
        self.mode = mode
        self.bucket = bucket
        self.refill_per_s = refill_per_s
        self._now = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._window_start = self._now()
        self._window_used = 0

    def arm_read(self, subscription: str | None) -> Admission:
        """Meter one ARM read for a subscription (None: a tenant-level read)."""
        key = subscription.lower() if subscription else ""
        header = (
            "x-ms-ratelimit-remaining-subscription-reads"
            if subscription
            else "x-ms-ratelimit-remaining-tenant-reads"
        )
        if self.mode is LimitMode.UNLIMITED:
            return Admission(True, {header: str(self.bucket - 1)})
        with self._lock:
            now = self._now()
            tokens, last = self._buckets.get(key, (float(self.bucket), now))
            tokens = min(float(self.bucket), tokens + (now - last) * self.refill_per_s)
            if tokens >= 1.0:
                tokens -= 1.0
                self._buckets[key] = (tokens, now)
                return Admission(True, {header: str(int(tokens))})
            self._buckets[key] = (tokens, now)
            wait = math.ceil((1.0 - tokens) / self.refill_per_s)
        if self.mode is not LimitMode.ENFORCE:
            return Admission(True, {header: "0"})
        return Admission(False, {header: "0"}, max(1, wait))

    def arg_query(self) -> Admission:
        """Meter one Resource Graph query against the per-user window."""
        if self.mode is LimitMode.UNLIMITED:
            return Admission(
                True,
                {
                    "x-ms-user-quota-remaining": str(ARG_QUOTA - 1),
                    "x-ms-user-quota-resets-after": _hms(ARG_WINDOW_S),
                },
            )
        with self._lock:
            now = self._now()
            if now - self._window_start >= ARG_WINDOW_S:
                self._window_start = now
                self._window_used = 0
            resets = max(0.0, ARG_WINDOW_S - (now - self._window_start))
            exhausted = self._window_used >= ARG_QUOTA
            if not exhausted:
                self._window_used += 1
            remaining = max(0, ARG_QUOTA - self._window_used)
        headers = {
            "x-ms-user-quota-remaining": str(remaining),
            "x-ms-user-quota-resets-after": _hms(resets),
        }
        if exhausted and self.mode is LimitMode.ENFORCE:
            return Admission(False, headers, max(1, math.ceil(resets)))
        return Admission(True, headers)


def _hms(seconds: float) -> str:
    whole = math.ceil(seconds)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
