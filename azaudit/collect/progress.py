"""How a collection reports progress: an observer the CLI implements (Rich, plain or JSON lines).

Collectors call these hooks from the event loop; implementations must be quick and must not
raise. Nothing passed here ever contains a token, a header or a response body.
"""

from __future__ import annotations

from dataclasses import dataclass

from azaudit.models import CollectionGap


@dataclass(frozen=True, slots=True)
class RequestInfo:
    """One HTTP attempt, as progress output may show it.

    Attributes:
        api: `arm`, `arg` (Resource Graph) or `graph` (Microsoft Graph).
        method: HTTP verb.
        path: URL path (no host, no query string).
        status: HTTP status, or None when no response arrived (network error, timeout).
        elapsed: seconds from sending to the response.
    """

    api: str
    method: str
    path: str
    status: int | None
    elapsed: float


@dataclass(frozen=True, slots=True)
class CollectionStats:
    """Totals of one collection, reported once at the end.

    Attributes:
        subscriptions: subscriptions in scope.
        resources: inventory rows collected.
        requests: HTTP attempts sent (retries included).
        throttled: attempts answered 429.
        failed: attempts answered >= 500 or with no response.
        gaps: collection gaps recorded.
        elapsed: wall-clock seconds.
        peak_concurrency: the highest number of requests the adaptive limit allowed in flight.
    """

    subscriptions: int
    resources: int
    requests: int
    throttled: int
    failed: int
    gaps: int
    elapsed: float
    peak_concurrency: int = 0


class ProgressObserver:
    """Receives collection events. The base class ignores them all (the silent observer)."""

    def scope_resolved(self, subscriptions: int) -> None:
        """The subscriptions in scope are known (`subscriptions` of them)."""

    def subscription_started(self, subscription_id: str, display_name: str) -> None:
        """Collection of one subscription began."""

    def subscription_done(self, subscription_id: str, resources: int, gaps: int) -> None:
        """Everything of one subscription was collected (or recorded as gaps)."""

    def resources_counted(self, subscription_id: str, count: int) -> None:
        """The inventory of a subscription holds `count` resources."""

    def request_done(self, request: RequestInfo) -> None:
        """One HTTP attempt finished (retries are separate attempts)."""

    def gap_recorded(self, gap: CollectionGap) -> None:
        """Some data could not be collected."""

    def concurrency_changed(self, limit: int, reason: str) -> None:
        """The adaptive limit of requests in flight changed (`reason`: why; adaptive.py)."""

    def collection_done(self, stats: CollectionStats) -> None:
        """The collection finished."""
