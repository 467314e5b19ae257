"""Live collection from Azure (ARM, Resource Graph, Microsoft Graph) into a `Snapshot`.

Read-only, bounded and fail-closed:
1. authenticate (no ARM token: stop with one clear line);
2. resolve the subscriptions in scope (explicit ids are each verified: an id ARM does not know
   stops the scan as bad input, one that cannot be read becomes a gap covering everything of
   it); meanwhile Microsoft Graph sources are read (a per-item relationship such as the
   members of each directory role item by item, never by the truncating `$expand`) and
   Resource Graph counts rows and resource groups per subscription; tenant-level ARM documents
   (Microsoft Entra diagnostic settings) are read once and stored under the scope `/`;
3. the inventory: queries of at most 1,000 expected rows, every page fetched at once and
   checked against `totalRecords`; per subscription, its ARM documents, and the
   resource-scoped documents of its rows as soon as they arrive (`plan.py`); a subscription
   Resource Graph holds fewer resource groups of than ARM lists is a gap, never "empty";
4. at the `--timeout` deadline, every document not yet read becomes a gap.

How many requests are in flight is learned (`adaptive.py`, `--concurrency` is the ceiling);
each subscription is paced by its remaining read budget and 429/5xx are retried
(`pipeline.py`, `throttle.py`); at most `per_scope_concurrency` requests are outstanding per
subscription. The run's event loop is uvloop's where installed (`event_loop_factory`), and
the cyclic garbage collector is paused for the run (`collect_live`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from azure.core.credentials_async import AsyncTokenCredential

from azaudit import __version__
from azaudit.catalogue import Catalogue
from azaudit.collect.adaptive import AdaptiveLimit
from azaudit.collect.auth import RedactingCredential, default_credential, token_claims
from azaudit.collect.clouds import CloudEndpoints, resolve_endpoints
from azaudit.collect.fetch import (
    FetchError,
    arm_next_link,
    clean,
    error_from_exception,
    get_document,
    get_list,
)
from azaudit.collect.options import LiveDeps, LiveOptions
from azaudit.collect.pipeline import Clients
from azaudit.collect.plan import (
    CollectionPlan,
    arm_url,
    build_plan,
    graph_item_url,
    graph_url,
)
from azaudit.collect.progress import CollectionStats, ProgressObserver
from azaudit.collect.throttle import Pacer
from azaudit.errors import AzauditError, InputError
from azaudit.gc_pause import paused_gc
from azaudit.models import JSON, TENANT_SCOPE, CollectionGap
from azaudit.snapshot import Snapshot, resource_subscription, subscription_of, subscription_scope
from azaudit.sources import INVENTORY, DataSource

SUBSCRIPTIONS_API = "2022-12-01"
MANAGEMENT_GROUPS_API = "2020-05-01"
ARG_QUERY = "resources | order by id asc"
ARG_COUNT_QUERY = "resources | summarize count() by subscriptionId"
ARG_GROUPS_QUERY = (
    "resourcecontainers | where type =~ 'microsoft.resources/subscriptions/resourcegroups' "
    "| summarize count() by subscriptionId"
)
RESOURCE_GROUPS_API = "2021-04-01"
ARG_MAX_PAGES = 100_000
EVERYTHING = "*"
"""Gap source covering every document of a scope (a subscription that cannot be read)."""


class CollectionError(AzauditError):
    """The collection cannot start or cannot know its scope (no token, no subscription)."""


def collect_live(
    options: LiveOptions,
    catalogue: Catalogue,
    observer: ProgressObserver | None = None,
    deps: LiveDeps | None = None,
) -> Snapshot:
    """Collect a snapshot of the requested scope.

    Raises:
        InputError: malformed or conflicting options, or endpoint overrides.
        CollectionError: no ARM token, or the subscriptions in scope cannot be determined.
    """
    options.validate_scan()
    deps = deps or LiveDeps()
    endpoints = resolve_endpoints(options.cloud, deps.environ)
    collection = _Collection(
        options, endpoints, build_plan(catalogue.checks), observer or ProgressObserver(), deps
    )
    collected: list[Snapshot] = []

    async def main() -> None:
        # The snapshot is not the main task's result: on leaving, asyncio.run formats that
        # task (and its result) while restoring the SIGINT handler, which for a 10k-resource
        # snapshot costs about a second of CPU.
        collected.append(await collection.run())

    # The cyclic garbage collector is paused for the run: every answer adds parsed JSON that
    # each collection re-traverses (about a sixth of the collection's CPU at 10k resources),
    # while the run itself leaves only a few hundred objects of cyclic garbage behind
    # (docs/performance.md). Reference counting still frees every answer it drops.
    with paused_gc(), asyncio.Runner(loop_factory=event_loop_factory(deps.event_loop)) as runner:
        runner.run(main())
    return collected[0]


def event_loop_factory(choice: str = "auto") -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The event loop a collection runs on: uvloop's where installed, else asyncio's.

    A collection is CPU-bound in the client at a few hundred requests per second: uvloop's
    loop (libuv, with its own TLS transport) costs about a fifth less CPU per request than
    asyncio's on the same request set (docs/performance.md). `choice` `asyncio` forces the
    standard loop (None: `asyncio.Runner`'s default); `uvloop` requires it.
    """
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class _Collection:
    """The state of one run: what was read, what failed, what is still outstanding."""

    def __init__(
        self,
        options: LiveOptions,
        endpoints: CloudEndpoints,
        plan: CollectionPlan,
        observer: ProgressObserver,
        deps: LiveDeps,
    ) -> None:
        self.options = options
        self.endpoints = endpoints
        self.plan = plan
        self.observer = observer
        self.deps = deps
        self.subscriptions: dict[str, dict[str, JSON]] = {}
        self.resources: list[dict[str, JSON]] = []
        self.details: dict[str, dict[str, JSON]] = {}
        self.graph: dict[str, JSON] = {}
        self.gaps: list[CollectionGap] = []
        self.organization: dict[str, JSON] = {}
        self.token_tenant: str | None = None
        self.scope_known = False
        # (scope, source) of every document planned but not yet read or failed.
        self.pending: dict[tuple[str, str], None] = {}
        self.gaps_by_subscription: dict[str, int] = {}
        self._clients: Clients | None = None
        self._scope_semaphores: dict[str, asyncio.Semaphore] = {}
        self._arg_groups: asyncio.Future[dict[str, int] | None] | None = None

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> Snapshot:
        started = time.monotonic()
        now = self.deps.clock() if self.deps.clock is not None else datetime.now(UTC)
        collected_at = now.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
        factory = self.deps.credential_factory or default_credential
        credential = RedactingCredential(factory(self.endpoints, self.options.tenant))
        limit = AdaptiveLimit(
            self.options.concurrency,
            initial=self.options.initial_concurrency,
            on_change=lambda change: self.observer.concurrency_changed(change.limit, change.reason),
        )
        try:
            async with Clients(
                self.endpoints,
                credential,
                self.observer,
                self.options.concurrency,
                retry=self.options.retry,
                pacer=Pacer(self.deps.throttle),
                limit=limit,
                environ=self.deps.environ,
            ) as clients:
                self._clients = clients
                deadline = asyncio.timeout(self.options.timeout)
                try:
                    async with deadline:
                        await self._authenticate(credential)
                        await self._collect()
                except TimeoutError:
                    if not deadline.expired():
                        raise
                    self._expire()
                meter = clients.meter
        finally:
            await credential.close()
        self.observer.collection_done(
            CollectionStats(
                subscriptions=len(self.subscriptions),
                resources=len(self.resources),
                requests=meter.requests,
                throttled=meter.throttled,
                failed=meter.failed,
                gaps=len(self.gaps),
                elapsed=time.monotonic() - started,
                peak_concurrency=limit.peak,
            )
        )
        return self._snapshot(collected_at)

    @property
    def clients(self) -> Clients:
        assert self._clients is not None
        return self._clients

    async def _authenticate(self, credential: AsyncTokenCredential) -> None:
        try:
            token = await credential.get_token(self.endpoints.arm_scope)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            raise CollectionError(
                f"cannot get a token for Azure Resource Manager ({self.endpoints.arm}): "
                f"{clean(first)}; run 'azaudit doctor' to check the credential"
            ) from None
        tid = token_claims(token.token).get("tid")
        self.token_tenant = tid if isinstance(tid, str) else None

    async def _collect(self) -> None:
        # Planned before the scope is resolved: should the deadline pass while subscriptions
        # are still being verified, these become gaps instead of silently missing documents.
        for source in (*self.plan.graph_sources, *self.plan.tenant_sources):
            self._plan(TENANT_SCOPE, source.name)
        try:
            async with asyncio.TaskGroup() as tasks:
                # Microsoft Graph and tenant-level ARM do not depend on the scope: they start now.
                tasks.create_task(self._organization())
                for source in self.plan.graph_sources:
                    tasks.create_task(self._graph_source(source))
                for source in self.plan.tenant_sources:
                    tasks.create_task(self._tenant_source(source))
                tasks.create_task(self._collect_subscriptions())
        except ExceptionGroup as group:
            # The scope could not be resolved (CollectionError, InputError): one clear error.
            raise _first_error(group) from None

    async def _collect_subscriptions(self) -> None:
        loop = asyncio.get_running_loop()
        counting: asyncio.Task[tuple[dict[str, int] | None, dict[str, int] | None]] | None = None
        if self.options.management_group is None:
            # Counted while the scope is resolved (one round trip less before the inventory):
            # the named subscriptions, or all the caller can see for --all-subscriptions.
            counting = loop.create_task(self._all_counts(self.options.subscriptions or None))
        try:
            readable = await self._resolve_scope()
        except BaseException:
            if counting is not None:
                counting.cancel()
            raise
        self.observer.scope_resolved(len(self.subscriptions))
        inventories: dict[str, asyncio.Future[list[dict[str, JSON]] | None]] = {
            sid.lower(): loop.create_future() for sid in readable
        }
        self._arg_groups = loop.create_future()
        if counting is None:
            counting = loop.create_task(self._all_counts(readable))
        async with asyncio.TaskGroup() as tasks:
            for sid in readable:
                tasks.create_task(self._subscription(sid, inventories[sid.lower()]))
            tasks.create_task(self._inventory(readable, inventories, counting))

    # -- scope -----------------------------------------------------------------------------

    async def _resolve_scope(self) -> list[str]:
        """Subscription ids in scope whose subscription document could be read."""
        if self.options.all_subscriptions:
            docs = await self._listing(
                f"{self.endpoints.arm}/subscriptions?api-version={SUBSCRIPTIONS_API}",
                "list the subscriptions",
            )
            for doc in docs:
                sid = doc.get("subscriptionId")
                if not isinstance(sid, str) or not sid:
                    raise CollectionError(
                        "the subscription list holds an entry without subscriptionId"
                    )
                self.subscriptions.setdefault(sid.lower(), dict(doc))
            readable = [str(d["subscriptionId"]) for d in self.subscriptions.values()]
            for sid in readable:
                self._plan_subscription(sid)
            self.scope_known = True
            if not self.subscriptions:
                raise CollectionError(
                    "--all-subscriptions: the credential can see no subscription "
                    "(grant it Reader on the subscriptions to audit; see 'azaudit doctor')"
                )
            return readable
        if self.options.management_group is not None:
            ids = await self._management_group_subscriptions(self.options.management_group)
        else:
            ids = list(dict.fromkeys(s.lower() for s in self.options.subscriptions))
        for sid in ids:
            self.subscriptions.setdefault(sid.lower(), _stub(sid))
            self._plan(subscription_scope(sid), EVERYTHING)
            self._plan_subscription(sid)
        self.scope_known = True
        explicit = bool(self.options.subscriptions)
        verified = await asyncio.gather(*(self._verify(sid, explicit) for sid in ids))
        return [sid for sid, ok in zip(ids, verified, strict=True) if ok]

    async def _listing(self, url: str, what: str) -> list[dict[str, JSON]]:
        try:
            body = await get_list(
                self.clients.arm_get, url, "nextLink", arm_next_link(_api_version(url))
            )
        except Exception as exc:
            error = error_from_exception(exc)
            raise CollectionError(f"cannot {what}: {error.reason}") from None
        return [v for v in body["value"] if isinstance(v, dict)]

    async def _management_group_subscriptions(self, group: str) -> list[str]:
        url = (
            f"{self.endpoints.arm}/providers/Microsoft.Management/managementGroups/{group}"
            f"/descendants?api-version={MANAGEMENT_GROUPS_API}"
        )
        items = await self._listing(url, f"list the descendants of management group {group!r}")
        ids: list[str] = []
        for item in items:
            # A subscription is of type "/subscriptions" (".../managementGroups/subscriptions").
            if str(item.get("type", "")).lower().endswith("/subscriptions"):
                name = item.get("name")
                if isinstance(name, str) and name:
                    ids.append(name.lower())
        if not ids:
            raise CollectionError(
                f"--management-group {group}: no subscription below it is visible to the "
                "credential (grant it Reader on the management group; see 'azaudit doctor')"
            )
        return list(dict.fromkeys(ids))

    async def _verify(self, sid: str, explicit: bool = False) -> bool:
        scope = subscription_scope(sid)
        url = f"{self.endpoints.arm}{scope}?api-version={SUBSCRIPTIONS_API}"
        try:
            doc = await get_document(self.clients.arm_get, url)
            if not isinstance(doc.get("subscriptionId"), str):
                raise FetchError("unexpected response: no subscriptionId", 200, "UnexpectedShape")
        except Exception as exc:
            error = error_from_exception(exc)
            if explicit and error.status_code == 404:
                # A mistyped or foreign id: nothing to audit, and no report that looks clean.
                raise InputError(
                    f"--subscription {sid}: no such subscription is visible to the credential "
                    f"({error.reason}); check the id, or run 'azaudit doctor'"
                ) from None
            self._gap(scope, EVERYTHING, error)
            for source in self._subscription_level():  # covered by the gap on everything
                self._done(scope, source)
            return False
        self.subscriptions[sid.lower()] = doc
        self._done(scope, EVERYTHING)
        return True

    # -- per subscription ------------------------------------------------------------------

    async def _subscription(
        self, sid: str, inventory: asyncio.Future[list[dict[str, JSON]] | None]
    ) -> None:
        scope = subscription_scope(sid)
        doc = self.subscriptions.get(sid.lower(), {})
        self.observer.subscription_started(sid, str(doc.get("displayName") or sid))
        limit = self._scope_semaphore(sid.lower())
        async with asyncio.TaskGroup() as tasks:
            groups = tasks.create_task(self._resource_group_count(sid))
            await self._spawn(tasks, limit, [(scope, s) for s in self.plan.subscription_sources])
            # Details start as soon as this subscription's rows arrive, not after all of them.
            rows = await inventory
            if rows is not None:
                items = [(str(r["id"]), s) for r in rows for s in self.plan.sources_for(r)]
                await self._spawn(tasks, limit, items)
                await self._cross_check(sid, rows, await groups)
        self.observer.subscription_done(
            sid, len(rows or ()), self.gaps_by_subscription.get(sid.lower(), 0)
        )

    async def _resource_group_count(self, sid: str) -> int | FetchError:
        """How many resource groups ARM lists in the subscription (the inventory cross-check)."""
        url = (
            f"{self.endpoints.arm}{subscription_scope(sid)}/resourcegroups"
            f"?api-version={RESOURCE_GROUPS_API}"
        )
        try:
            body = await get_list(
                self.clients.arm_get, url, "nextLink", arm_next_link(RESOURCE_GROUPS_API)
            )
        except Exception as exc:
            return error_from_exception(exc)
        return len(body["value"]) if isinstance(body["value"], list) else 0

    async def _cross_check(
        self, sid: str, rows: Sequence[dict[str, JSON]], arm_groups: int | FetchError
    ) -> None:
        """A subscription Resource Graph left out (or holds only partly) is a gap, not empty.

        Resource Graph silently omits subscriptions it cannot (yet) serve; ARM's list of
        resource groups is authoritative and costs one request. Fewer resource groups in
        Resource Graph than in ARM, or no rows at all while ARM lists resource groups, means
        the inventory of this subscription cannot be trusted.
        """
        assert self._arg_groups is not None
        counted = await self._arg_groups
        arg_groups = None if counted is None else counted.get(sid.lower(), 0)
        reason: str | None = None
        if isinstance(arm_groups, FetchError):
            if not rows:
                reason = (
                    "Resource Graph returned no rows for this subscription and the cross-check "
                    f"against ARM's resource groups failed: {arm_groups.reason}"
                )
        elif arg_groups is not None and arg_groups < arm_groups:
            reason = (
                f"Resource Graph holds {arg_groups} of the {arm_groups} resource groups ARM lists "
                "in this subscription: its inventory of the subscription is incomplete"
            )
        elif arg_groups is None and not rows and arm_groups > 0:
            reason = (
                f"Resource Graph returned no rows for this subscription although ARM lists "
                f"{arm_groups} resource group(s)"
            )
        if reason is not None:
            scope = subscription_scope(sid)
            self._gap(scope, INVENTORY, FetchError(reason, 200, "IncompleteInventory"))

    async def _spawn(
        self,
        tasks: asyncio.TaskGroup,
        limit: asyncio.Semaphore,
        items: Sequence[tuple[str, DataSource]],
    ) -> None:
        """Start one task per document, never more than `limit` at once (bounded memory)."""
        for scope, source in items:
            self._plan(scope, source.name)
        for scope, source in items:
            await limit.acquire()
            tasks.create_task(self._arm_source(scope, source, limit))

    async def _arm_source(self, scope: str, source: DataSource, limit: asyncio.Semaphore) -> None:
        try:
            url = arm_url(self.endpoints.arm, scope, source)
            if source.paged:
                body = await get_list(
                    self.clients.arm_get,
                    url,
                    "nextLink",
                    arm_next_link(source.api_version_at(scope) or ""),
                )
            else:
                body = await get_document(self.clients.arm_get, url)
        except Exception as exc:
            self._gap(scope, source.name, error_from_exception(exc))
            return
        finally:
            limit.release()
        self.details.setdefault(scope, {})[source.name] = body
        self._done(scope, source.name)

    async def _tenant_source(self, source: DataSource) -> None:
        """A tenant-level ARM document, stored under `/`; any failure is its gap at `/`."""
        limit = self._scope_semaphore("tenant")
        await limit.acquire()
        await self._arm_source(TENANT_SCOPE, source, limit)

    # -- inventory (Resource Graph) --------------------------------------------------------

    async def _all_counts(
        self, subscriptions: Sequence[str] | None
    ) -> tuple[dict[str, int] | None, dict[str, int] | None]:
        """Rows and resource groups per subscription, as Resource Graph counts them."""
        if subscriptions is not None and not subscriptions:
            return {}, {}
        rows, groups = await asyncio.gather(
            self._counts(subscriptions, ARG_COUNT_QUERY),
            self._counts(subscriptions, ARG_GROUPS_QUERY),
        )
        return rows, groups

    async def _inventory(
        self,
        readable: Sequence[str],
        futures: dict[str, asyncio.Future[list[dict[str, JSON]] | None]],
        counting: asyncio.Task[tuple[dict[str, int] | None, dict[str, int] | None]],
    ) -> None:
        """Count first (one round trip), then fetch every page of every query at once."""
        counts, groups = await counting
        assert self._arg_groups is not None
        self._arg_groups.set_result(groups)
        async with asyncio.TaskGroup() as tasks:
            for batch, expected in self._partition(readable, counts):
                tasks.create_task(self._inventory_query(batch, expected, futures))

    async def _counts(self, scope: Sequence[str] | None, query: str) -> dict[str, int] | None:
        """Rows per subscription (`summarize count() by subscriptionId`), None if unknown.

        `scope` None: every subscription the caller can see (one query).
        """
        counts: dict[str, int] = {}
        batches: list[list[str] | None] = (
            [None]
            if scope is None
            else [list(b) for b in _chunks(scope, self.options.arg_batch_size)]
        )
        try:
            for batch in batches:
                body: dict[str, JSON] = {"query": query, "options": {"resultFormat": "objectArray"}}
                if batch is not None:
                    body["subscriptions"] = list(batch)
                response = await self.clients.arg_query(body)
                data = response.get("data")
                for row in data if isinstance(data, list) else []:
                    if not isinstance(row, dict):
                        continue
                    sid, count = row.get("subscriptionId"), row.get("count_")
                    if isinstance(sid, str) and isinstance(count, int):
                        counts[sid.lower()] = counts.get(sid.lower(), 0) + count
                if response.get("$skipToken"):  # more than 1,000 subscriptions in one answer
                    return None
        except Exception:
            return None  # sizes and cross-check then fall back (see _partition, _cross_check)
        return counts

    def _partition(
        self, readable: Sequence[str], counts: dict[str, int] | None
    ) -> list[tuple[list[str], int | None]]:
        """Queries of at most `inventory_page_rows` expected rows (first fit, largest first).

        A subscription with more rows gets a query of its own whose pages are fetched in
        parallel. Without counts (or with parallel paging off), subscriptions are batched
        `arg_batch_size` per query and paged in sequence.
        """
        if counts is None or not self.options.parallel_inventory:
            return [(list(b), None) for b in _chunks(readable, self.options.arg_batch_size)]
        capacity = self.options.inventory_page_rows
        ordered = sorted(readable, key=lambda s: -counts.get(s.lower(), 0))
        bins: list[tuple[list[str], int]] = []
        queries: list[tuple[list[str], int | None]] = []
        for sid in ordered:
            size = counts.get(sid.lower(), 0)
            if size > capacity:
                queries.append(([sid], size))
                continue
            for index, (members, used) in enumerate(bins):
                if used + size <= capacity and len(members) < self.options.arg_batch_size:
                    members.append(sid)
                    bins[index] = (members, used + size)
                    break
            else:
                bins.append(([sid], size))
        return queries + [(members, used) for members, used in bins]

    async def _inventory_query(
        self,
        batch: Sequence[str],
        expected: int | None,
        futures: dict[str, asyncio.Future[list[dict[str, JSON]] | None]],
    ) -> None:
        try:
            if expected is None:
                rows = await self._query_sequential(batch)
            else:
                rows = await self._query_parallel(batch, expected)
        except Exception as exc:
            error = error_from_exception(exc)
            for sid in batch:
                self._gap(subscription_scope(sid), INVENTORY, error)
                futures[sid.lower()].set_result(None)
            return
        by_subscription: dict[str, list[dict[str, JSON]]] = {}
        for row in rows:
            owner = (resource_subscription(row) or "").lower()
            by_subscription.setdefault(owner, []).append(row)
        for sid in batch:
            mine = by_subscription.get(sid.lower(), [])
            self.resources.extend(mine)
            self.observer.resources_counted(sid, len(mine))
            for row in mine:
                for source in self.plan.sources_for(row):
                    self._plan(str(row["id"]), source.name)
            self._done(subscription_scope(sid), INVENTORY)
            futures[sid.lower()].set_result(mine)

    async def _page(
        self,
        batch: Sequence[str],
        skip: int | None,
        skip_token: str | None,
        top: int | None = None,
    ) -> tuple[list[dict[str, JSON]], int | None, str | None]:
        """One page: its rows, `totalRecords` and `$skipToken`; a truncated answer raises.

        The QueryRequest/QueryResponse JSON is built and read directly: the SDK's model layer
        would walk every value of every row to "deserialize" what is already plain JSON (the
        largest single CPU cost of a 10k-resource inventory).
        """
        if skip is not None and top is None:
            top = self.options.inventory_page_rows
        options: dict[str, JSON] = {"resultFormat": "objectArray"}
        if top is not None:
            options["$top"] = top
        if skip:
            options["$skip"] = skip
        if skip_token:
            options["$skipToken"] = skip_token
        response = await self.clients.arg_query(
            {"subscriptions": list(batch), "query": ARG_QUERY, "options": options}
        )
        rows = _inventory_rows(response.get("data"))
        token = response.get("$skipToken")
        next_token = token if isinstance(token, str) and token else None
        if str(response.get("resultTruncated")).lower() == "true" and not next_token:
            raise FetchError(
                "Resource Graph truncated the inventory and offered no $skipToken",
                200,
                "ResultTruncated",
            )
        total = response.get("totalRecords")
        return rows, total if isinstance(total, int) else None, next_token

    async def _query_parallel(self, batch: Sequence[str], expected: int) -> list[dict[str, JSON]]:
        """Every page of one query at once (`$skip`/`$top`), each checked against the total."""
        size = self.options.inventory_page_rows
        pages = max(1, -(-expected // size))
        answers = list(
            await asyncio.gather(*(self._page(batch, i * size, None) for i in range(pages)))
        )
        total = answers[0][1]
        if total is None:
            raise FetchError("Resource Graph's answer has no totalRecords", 200, "UnexpectedShape")
        while len(answers) * size < total and len(answers) < ARG_MAX_PAGES:
            answers.append(await self._page(batch, len(answers) * size, None))  # grown since
        rows: list[dict[str, JSON]] = []
        ids: set[str] = set()
        for index, (page, page_total, _) in enumerate(answers):
            start = index * size
            want = max(0, min(size, total - start))
            while page_total == total and len(page) < want:
                # The service may answer fewer rows than asked: read the rest of this range.
                more, page_total, _ = await self._page(
                    batch, start + len(page), None, top=want - len(page)
                )
                if not more:
                    break
                page = [*page, *more]
            if page_total != total or len(page) != want:
                raise FetchError(
                    f"inventory incomplete: Resource Graph page {index + 1} held {len(page)} "
                    f"of {want} rows ({total} announced; a short page, or the inventory "
                    "changed while it was read)",
                    200,
                    "IncompleteResult",
                )
            for row in page:
                if str(row["id"]).lower() not in ids:  # a row repeated across pages
                    ids.add(str(row["id"]).lower())
                    rows.append(row)
        return rows

    async def _query_sequential(self, batch: Sequence[str]) -> list[dict[str, JSON]]:
        """Every page of one query, one after the other (`$skipToken`)."""
        rows: list[dict[str, JSON]] = []
        received = 0
        ids: set[str] = set()
        skip_token: str | None = None
        total: int | None = None
        seen: set[str] = set()
        for _ in range(ARG_MAX_PAGES):
            page, page_total, skip_token = await self._page(batch, None, skip_token)
            for row in page:
                received += 1
                # A row repeated across pages would be evaluated and reported twice.
                if str(row["id"]).lower() not in ids:
                    ids.add(str(row["id"]).lower())
                    rows.append(row)
            if total is None:
                total = page_total
            if not skip_token:
                break
            if skip_token in seen:
                raise FetchError("Resource Graph paging did not terminate", 200)
            seen.add(skip_token)
        else:
            raise FetchError("Resource Graph paging did not terminate", 200)
        if total is not None and received < total:
            raise FetchError(
                f"inventory incomplete: Resource Graph announced {total} rows, returned {received}",
                200,
                "IncompleteResult",
            )
        return rows

    # -- Microsoft Graph -------------------------------------------------------------------

    async def _graph_source(self, source: DataSource) -> None:
        try:
            url = graph_url(self.endpoints.graph, source)
            async with self._scope_semaphore("graph"):
                if source.paged:
                    body = await get_list(self.clients.graph_get, url, "@odata.nextLink")
                else:
                    body = await get_document(self.clients.graph_get, url)
            if source.per_item is not None:
                await self._embed_per_item(source, body)
        except Exception as exc:
            # Also when one item's relationship failed: a partial document is never stored.
            self._gap("/", source.name, error_from_exception(exc))
            return
        self.graph[source.name] = body
        self._done("/", source.name)

    async def _embed_per_item(self, source: DataSource, body: dict[str, JSON]) -> None:
        """Read `source.per_item` of every item (all pages) and store it in the item.

        Raises `FetchError` naming the item when any of them cannot be read completely; the
        other reads are then cancelled.
        """
        relation = source.per_item
        assert relation is not None
        items = body.get("value")
        if not isinstance(items, list):
            raise FetchError(
                "unexpected response: expected a 'value' array", 200, "UnexpectedShape"
            )
        for item in items:
            if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not item["id"]:
                raise FetchError(
                    f"unexpected response: an item of {source.graph_path} without an id",
                    200,
                    "UnexpectedShape",
                )
        try:
            async with asyncio.TaskGroup() as tasks:
                reads = [
                    (item, tasks.create_task(self._item_relation(source, item))) for item in items
                ]
        except ExceptionGroup as group:
            raise _first_error(group) from None
        for item, read in reads:
            item[relation.name] = read.result()

    async def _item_relation(self, source: DataSource, item: dict[str, JSON]) -> list[JSON]:
        relation = source.per_item
        assert relation is not None
        item_id = str(item["id"])
        try:
            url = graph_item_url(self.endpoints.graph, source, item_id)
            async with self._scope_semaphore("graph"):
                listed = await get_list(self.clients.graph_get, url, "@odata.nextLink")
        except Exception as exc:
            error = error_from_exception(exc)
            label = clean(str(item.get("displayName") or item_id))
            raise FetchError(
                f"{relation.name} of {source.graph_path} {label!r} ({item_id}): {error.reason}",
                error.status_code,
                error.error_code,
            ) from None
        values = listed["value"]
        assert isinstance(values, list)
        return values

    async def _organization(self) -> None:
        """The tenant's id and display name, for report headers only (not evidence).

        A failure is not a gap: no check reads it, and the tenant id is also known from the
        token and the subscriptions.
        """
        url = f"{self.endpoints.graph}/v1.0/organization?$select=id,displayName"
        try:
            async with self._scope_semaphore("graph"):
                body = await get_list(self.clients.graph_get, url, "@odata.nextLink")
        except Exception:
            return
        values = body.get("value")
        if isinstance(values, list) and values and isinstance(values[0], dict):
            self.organization = values[0]

    # -- bookkeeping -----------------------------------------------------------------------

    def _scope_semaphore(self, key: str) -> asyncio.Semaphore:
        if key not in self._scope_semaphores:
            self._scope_semaphores[key] = asyncio.Semaphore(self.options.per_scope_concurrency)
        return self._scope_semaphores[key]

    def _subscription_level(self) -> list[str]:
        return [INVENTORY, *(s.name for s in self.plan.subscription_sources)]

    def _plan_subscription(self, sid: str) -> None:
        """Everything of a subscription is outstanding from the moment it is in scope.

        Should the deadline pass before its inventory is read, the inventory becomes a gap: a
        subscription in the snapshot without inventory and without a gap would look empty.
        """
        for source in self._subscription_level():
            self._plan(subscription_scope(sid), source)

    def _plan(self, scope: str, source: str) -> None:
        self.pending[(scope, source)] = None

    def _done(self, scope: str, source: str) -> None:
        self.pending.pop((scope, source), None)

    def _gap(self, scope: str, source: str, error: FetchError) -> None:
        gap = CollectionGap(scope, source, error.reason, error.status_code, error.error_code)
        self.gaps.append(gap)
        self._done(scope, source)
        owner = subscription_of(scope)
        if owner is not None:
            key = owner.lower()
            self.gaps_by_subscription[key] = self.gaps_by_subscription.get(key, 0) + 1
        self.observer.gap_recorded(gap)

    def _expire(self) -> None:
        """The deadline passed: what is still outstanding becomes gaps."""
        if not self.scope_known:
            raise CollectionError(
                f"the --timeout deadline ({self.options.timeout:g} s) passed before the "
                "subscriptions in scope were known"
            )
        reason = f"not collected before the --timeout deadline ({self.options.timeout:g} s)"
        unverified = {scope for scope, source in self.pending if source == EVERYTHING}
        for scope, source in list(self.pending):
            if source != EVERYTHING and scope in unverified:
                continue  # the gap on everything of this subscription covers it
            self._gap(scope, source, FetchError(reason, None, "DeadlineExceeded"))

    def _tenant_id(self) -> str:
        """From Graph's organization, else `--tenant` (if an id), the token, a subscription."""
        candidates: list[str | None] = [_str(self.organization.get("id"))]
        if self.options.tenant and "." not in self.options.tenant:  # a domain is not an id
            candidates.append(self.options.tenant)
        candidates.append(self.token_tenant)
        candidates += [_str(d.get("tenantId")) for d in self.subscriptions.values()]
        return next((c for c in candidates if c), "")

    def _snapshot(self, collected_at: str) -> Snapshot:
        tenant_id = self._tenant_id()
        tenant: dict[str, JSON] = {"tenantId": tenant_id}
        name = _str(self.organization.get("displayName"))
        if name:
            tenant["displayName"] = name
        return Snapshot(
            collected_at=collected_at,
            tool_version=__version__,
            cloud=self.endpoints.to_json(),
            tenant=tenant,
            subscriptions=tuple(self.subscriptions.values()),
            resources=tuple(sorted(self.resources, key=lambda r: str(r["id"]).lower())),
            details={scope: self.details[scope] for scope in sorted(self.details)},
            graph={name: self.graph[name] for name in sorted(self.graph)},
            gaps=tuple(sorted(self.gaps, key=lambda g: (g.scope.lower(), g.source.lower()))),
        )


def _inventory_rows(data: Any) -> list[dict[str, JSON]]:
    if not isinstance(data, list):
        raise FetchError(
            "unexpected Resource Graph response: 'data' is not an array", 200, "UnexpectedShape"
        )
    for row in data:
        if (
            not isinstance(row, dict)
            or not isinstance(row.get("id"), str)
            or not isinstance(row.get("type"), str)
        ):
            raise FetchError(
                "unexpected Resource Graph row: expected an object with 'id' and 'type'",
                200,
                "UnexpectedShape",
            )
    return data


def _first_error(group: BaseExceptionGroup[Exception]) -> Exception:
    """The first failure inside a (possibly nested) exception group."""
    first = group.exceptions[0]
    return _first_error(first) if isinstance(first, BaseExceptionGroup) else first


def _stub(sid: str) -> dict[str, JSON]:
    """A subscription known only by id (it could not be read): findings for it are ERRORs."""
    return {"id": subscription_scope(sid), "subscriptionId": sid}


def _chunks(items: Sequence[str], size: int) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _api_version(url: str) -> str:
    marker = "api-version="
    return url.split(marker, 1)[1].split("&", 1)[0] if marker in url else ""


def _str(value: JSON) -> str | None:
    return value if isinstance(value, str) and value else None
