"""How many requests may be in flight: learned from latency and Azure's throttle signals.

A fixed limit is either too low (most of the run waits on round trips: 16 requests at 100 ms
is 160 requests/s however fast ARM could answer) or too high (a throttled tenant answers 429s
and every retry waits on `Retry-After`). `AdaptiveLimit` starts small, doubles per round trip
while answers come back as fast as the fastest seen ("slow start"), and then grows by one per
round trip. It shrinks:
- by half on a 429 (the service says it is overloaded);
- by a quarter when a response reports a read budget below the low watermark
  (`x-ms-ratelimit-remaining-*-reads`, Resource Graph's `x-ms-user-quota-remaining`);
- by a tenth when the smoothed latency exceeds three times the fastest round trip plus 100 ms
  (queueing at the server or in this process).
The limit shrinks at most once per round trip (requests sent before a decrease report the
old congestion), unless a stronger signal follows (a 429 after a low budget). The limit never
exceeds the ceiling (`--concurrency`) nor falls below the floor. `Pacer` (throttle.py) spaces
each subscription's requests; this class bounds them all together.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

SMOOTHING = 0.2
"""Weight of the newest round trip in the smoothed latency."""
LATENCY_TOLERANCE = 3.0
"""Smoothed latency above this multiple of the fastest round trip means queueing..."""
LATENCY_SLACK = 0.1
WARM_UP = 100
"""Answers before latency counts: the first ones carry TLS handshakes and cold caches."""
"""...when it is also this many seconds above it (a few ms of jitter on a fast link is not)."""


@dataclass(frozen=True, slots=True)
class LimitChange:
    """One change of the limit, for progress output and tests."""

    limit: int
    reason: str
    """`slow start`, `increase`, `throttled`, `low budget` or `latency`."""


class AdaptiveLimit:
    """An asyncio concurrency limit whose size follows the signals above.

    Args:
        ceiling: the largest limit (`--concurrency`).
        initial: the starting limit (capped at `ceiling`).
        floor: the smallest limit.
        on_change: called with every change (progress events, tests).
        clock: monotonic clock in seconds.
    """

    def __init__(
        self,
        ceiling: int,
        initial: int = 16,
        floor: int = 8,
        on_change: Callable[[LimitChange], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ceiling = max(1, ceiling)
        self.floor = max(1, min(floor, self.ceiling))
        self._limit = float(max(self.floor, min(initial, self.ceiling)))
        self._in_flight = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._on_change = on_change
        self._clock = clock
        self._slow_start = True
        self._min_rtt: float | None = None
        self._smoothed: float | None = None
        self._quiet_until = 0.0
        self._quiet_factor = 1.0
        self._samples = 0
        self.history: list[LimitChange] = []
        """Every change, in order."""
        self.peak = int(self._limit)

    @property
    def limit(self) -> int:
        """Current number of requests allowed in flight."""
        return int(self._limit)

    @property
    def in_flight(self) -> int:
        """Requests holding a slot now."""
        return self._in_flight

    async def acquire(self, urgent: bool = False) -> None:
        """Wait for a slot; an `urgent` request (on the critical path) goes first."""
        if self._in_flight < self.limit and not self._waiters:
            self._in_flight += 1
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if urgent:
            self._waiters.appendleft(waiter)
        else:
            self._waiters.append(waiter)
        try:
            await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self._in_flight -= 1  # granted, then cancelled: give the slot back
                self._wake()
            else:
                self._waiters.remove(waiter)
            raise

    def release(self) -> None:
        """Give a slot back."""
        self._in_flight -= 1
        self._wake()

    def _wake(self) -> None:
        while self._waiters and self._in_flight < self.limit:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._in_flight += 1
                waiter.set_result(None)

    # -- signals ---------------------------------------------------------------------------

    def succeeded(self, rtt: float) -> None:
        """A request was answered (not throttled) after `rtt` seconds."""
        if self._min_rtt is None or rtt < self._min_rtt:
            self._min_rtt = rtt
        self._smoothed = (
            rtt if self._smoothed is None else (1 - SMOOTHING) * self._smoothed + SMOOTHING * rtt
        )
        assert self._min_rtt is not None
        self._samples += 1
        if (
            self._samples > WARM_UP
            and self._smoothed > LATENCY_TOLERANCE * self._min_rtt + LATENCY_SLACK
        ):
            self._decrease(0.9, "latency")
            return
        if self._slow_start:
            self._set(self._limit + 1.0, "slow start")  # one per answer: doubles per round trip
        else:
            self._set(self._limit + 1.0 / max(self._limit, 1.0), "increase")

    def throttled(self) -> None:
        """The service answered 429."""
        self._decrease(0.5, "throttled")

    def budget_low(self) -> None:
        """A response reported a read budget below the low watermark."""
        self._decrease(0.75, "low budget")

    def _decrease(self, factor: float, reason: str) -> None:
        self._slow_start = False
        now = self._clock()
        if now < self._quiet_until and factor >= self._quiet_factor:
            return  # already shrunk this round trip, at least as much
        self._quiet_until = now + (self._smoothed or self._min_rtt or 0.1)
        self._quiet_factor = factor
        self._set(self._limit * factor, reason)

    def _set(self, value: float, reason: str) -> None:
        before = self.limit
        self._limit = max(float(self.floor), min(float(self.ceiling), value))
        if self.limit != before:
            self.peak = max(self.peak, self.limit)
            change = LimitChange(self.limit, reason)
            self.history.append(change)
            if self._on_change is not None:
                self._on_change(change)
            self._wake()
