"""Shared pieces of the live-collection tests: a test tenant, an emulator, real credentials.

Every test talks HTTPS to the local emulator on 127.0.0.1 through the real Azure SDK clients
and a real `ClientSecretCredential` (never `DefaultAzureCredential`, which could fall through
to the managed-identity endpoint 169.254.169.254).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential
from azure.identity.aio import ClientSecretCredential

from azaudit.catalogue import Catalogue
from azaudit.collect.clouds import CloudEndpoints
from azaudit.collect.live import collect_live
from azaudit.collect.options import LiveDeps, LiveOptions, RetrySettings
from azaudit.collect.plan import build_plan
from azaudit.collect.progress import ProgressObserver
from azaudit.emulator import Emulator, FaultPlan
from azaudit.models import JSON
from azaudit.snapshot import Snapshot, subscription_scope
from tests.catalogue_support import builtin_catalogue

TENANT_ID = "7e4a1c2b-0000-4000-8000-00000000a001"
SUB_A = "aaaaaaaa-0000-4000-8000-000000000001"
SUB_B = "bbbbbbbb-0000-4000-8000-000000000002"
SUB_C = "cccccccc-0000-4000-8000-000000000003"
FAST_RETRY = RetrySettings(total=4, backoff_factor=0.01, backoff_max=0.05, read_timeout=10.0)


def _rid(sub: str, group: str, provider: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{provider}/{name}"


def _resources(sub: str, storage: int) -> list[dict[str, JSON]]:
    rows: list[dict[str, JSON]] = []
    for i in range(storage):
        rows.append(
            {
                "id": _rid(sub, "rg-data", "Microsoft.Storage/storageAccounts", f"st{i:03d}"),
                "type": "Microsoft.Storage/storageAccounts",
                "location": "eastus",
                "kind": "StorageV2",
                "properties": {
                    "supportsHttpsTrafficOnly": i % 2 == 0,
                    "minimumTlsVersion": "TLS1_2",
                },
            }
        )
    server = _rid(sub, "rg-db", "Microsoft.Sql/servers", "sql1")
    rows += [
        {
            "id": server,
            "type": "Microsoft.Sql/servers",
            "location": "eastus2",
            "properties": {"minimalTlsVersion": "1.2", "publicNetworkAccess": "Disabled"},
        },
        {
            "id": f"{server}/databases/phi",
            "type": "Microsoft.Sql/servers/databases",
            "location": "eastus2",
            "properties": {"status": "Online"},
        },
        {
            "id": _rid(sub, "rg-web", "Microsoft.Web/sites", "portal"),
            "type": "Microsoft.Web/sites",
            "location": "westus2",
            "kind": "app",
            "properties": {"httpsOnly": True},
        },
        {
            "id": _rid(sub, "rg-bkp", "Microsoft.RecoveryServices/vaults", "vault1"),
            "type": "Microsoft.RecoveryServices/vaults",
            "location": "centralus",
            "properties": {},
        },
        {
            "id": _rid(sub, "rg-sec", "Microsoft.KeyVault/vaults", "kv1"),
            "type": "Microsoft.KeyVault/vaults",
            "location": "eastus",
            "properties": {"enablePurgeProtection": True},
        },
    ]
    return rows


def _document(name: str, paged: bool, items: int) -> JSON:
    if paged:
        return {
            "value": [
                {"id": f"{name}/item{i}", "name": f"item{i}", "properties": {"index": i}}
                for i in range(items)
            ]
        }
    return {"id": name, "name": "default", "properties": {"state": "Enabled"}}


def directory_user(index: int) -> dict[str, JSON]:
    """A user as `graph:users` and a directory role's `members` list hold it."""
    return {
        "id": f"user-{index}",
        "displayName": f"User {index}",
        "userPrincipalName": f"user{index}@example.org",
        "userType": "Member",
        "accountEnabled": True,
    }


def tenant_snapshot(
    catalogue: Catalogue,
    subscriptions: tuple[str, ...] = (SUB_A, SUB_B),
    storage: int = 3,
    list_items: int = 5,
    users: int = 7,
) -> Snapshot:
    """A tenant holding every document the catalogue's collection plan reads (no gaps)."""
    plan = build_plan(catalogue.checks)
    resources: list[dict[str, JSON]] = []
    details: dict[str, dict[str, JSON]] = {}
    for sub in subscriptions:
        rows = _resources(sub, storage)
        resources += rows
        scope = subscription_scope(sub)
        details[scope] = {
            s.name: _document(f"{scope}/{s.name}", s.paged, list_items)
            for s in plan.subscription_sources
        }
        for row in rows:
            for source in plan.sources_for(row):
                rid = str(row["id"])
                details.setdefault(rid, {})[source.name] = _document(
                    f"{rid}/{source.name}", source.paged, 2
                )
    if plan.tenant_sources:
        details["/"] = {s.name: _document(s.name, s.paged, list_items) for s in plan.tenant_sources}
    graph: dict[str, JSON] = {}
    people: list[JSON] = [directory_user(i) for i in range(users)]
    for source in plan.graph_sources:
        if source.name == "graph:users":
            graph[source.name] = {"value": people}
        elif source.per_item is not None:
            # Each item with its relationship (role i holds users 0..i-1), as the collector
            # stores it after reading every page of each item's list.
            graph[source.name] = {
                "value": [
                    {
                        "id": f"{source.graph_path}-{i}",
                        "displayName": f"Item {i}",
                        source.per_item.name: people[:i],
                    }
                    for i in range(users)
                ]
            }
        elif source.paged:
            graph[source.name] = {"value": [{"id": f"{source.name}-{i}"} for i in range(users)]}
        else:
            graph[source.name] = {"id": source.graph_path, "isEnabled": True}
    return Snapshot(
        collected_at="2026-01-01T00:00:00Z",
        tool_version="0.1.0",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": TENANT_ID, "displayName": "Contoso Health"},
        subscriptions=tuple(
            {"subscriptionId": sub, "displayName": f"sub-{sub[:4]}", "state": "Enabled"}
            for sub in subscriptions
        ),
        resources=tuple(resources),
        details=details,
        graph=graph,
        gaps=(),
    )


class RecordingCredential:
    """A real credential that remembers every token it handed out (to grep outputs for)."""

    def __init__(self, inner: AsyncTokenCredential) -> None:
        self.inner = inner
        self.tokens: list[str] = []

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        token = await self.inner.get_token(*scopes, **kwargs)
        self.tokens.append(token.token)
        return token

    async def close(self) -> None:
        await self.inner.close()

    async def __aenter__(self) -> RecordingCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


class CredentialFactory:
    """Builds `ClientSecretCredential`s against the emulator's token endpoint."""

    def __init__(self, emulator: Emulator, secret: str | None = None) -> None:
        self.emulator = emulator
        self.secret = secret
        self.credentials: list[RecordingCredential] = []

    def __call__(self, endpoints: CloudEndpoints, tenant: str | None) -> AsyncTokenCredential:
        env = self.emulator.environment()
        inner = ClientSecretCredential(
            tenant or env["AZURE_TENANT_ID"],
            env["AZURE_CLIENT_ID"],
            self.secret if self.secret is not None else env["AZURE_CLIENT_SECRET"],
            authority=self.emulator.base_url,
            disable_instance_discovery=True,
            connection_verify=self.emulator.ca_path,
        )
        credential = RecordingCredential(inner)
        self.credentials.append(credential)
        return credential

    @property
    def tokens(self) -> list[str]:
        """Every token issued to azaudit so far."""
        return [t for c in self.credentials for t in c.tokens]


def deps_for(emulator: Emulator, **kwargs: Any) -> tuple[LiveDeps, CredentialFactory]:
    """Injected dependencies pointing a collection at `emulator`."""
    factory = CredentialFactory(emulator, kwargs.pop("secret", None))
    environ: Mapping[str, str] = {
        k: v for k, v in emulator.environment().items() if k.startswith("AZAUDIT_")
    }
    return LiveDeps(credential_factory=factory, environ=environ, **kwargs), factory


@contextmanager
def running(
    snapshot: Snapshot, faults: FaultPlan | None = None, **kwargs: Any
) -> Iterator[Emulator]:
    """An emulator serving `snapshot` for the duration of the block."""
    with Emulator(snapshot, faults, **kwargs) as emulator:
        yield emulator


def collect(
    emulator: Emulator,
    catalogue: Catalogue | None = None,
    observer: ProgressObserver | None = None,
    deps: LiveDeps | None = None,
    **options: Any,
) -> Snapshot:
    """Run a live collection against `emulator` (subscriptions default to all it serves)."""
    if deps is None:
        deps, _ = deps_for(emulator)
    options.setdefault("retry", FAST_RETRY)
    if not options.get("all_subscriptions") and not options.get("management_group"):
        options.setdefault("subscriptions", tuple(emulator.snapshot.subscription_ids()))
    return collect_live(LiveOptions(**options), catalogue or builtin_catalogue(), observer, deps)


def without_odata(document: JSON) -> JSON:
    """A Graph document without `@odata.*` annotations (the emulator adds a context URL)."""
    if isinstance(document, dict):
        return {k: without_odata(v) for k, v in document.items() if not k.startswith("@odata")}
    if isinstance(document, list):
        return [without_odata(v) for v in document]
    return document
