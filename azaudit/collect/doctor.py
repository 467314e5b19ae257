"""`azaudit doctor`: does the credential get tokens, and may it read what a scan reads?

Each probe is one read of the kind a scan makes, through the same read-only pipeline. A probe
is OK on HTTP 200, MISSING on 401/403 (the answer names what to grant), ERROR otherwise
(network, 5xx after retries, provider not registered). Graph permissions are the least
privileged application permissions documented for each API (learn.microsoft.com/graph/api/...):
conditionalAccessRoot-list-policies and identitySecurityDefaultsEnforcementPolicy-get need
Policy.Read.All; directoryRole-list with members and user-list need Directory.Read.All (or
RoleManagement.Read.Directory + User.Read.All); user signInActivity and
userRegistrationDetails need AuditLog.Read.All (and an Entra ID P1/P2 licence).

Beyond the subscription-wide reads, each resource-scoped detail source the catalogue needs
(`config/web` of a web app, SQL auditing, diagnostic settings, ...; see `plan.py`) is read once
on one representative resource of its types per subscription: a custom role, a deny assignment
or an unregistered provider can block exactly those reads while listing resources works, and
the scan would then report ERROR for every such resource.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import quote

from azure.core.credentials_async import AsyncTokenCredential

from azaudit.catalogue import Catalogue, load_catalogue
from azaudit.collect.auth import RedactingCredential, default_credential, token_claims
from azaudit.collect.clouds import CloudEndpoints, resolve_endpoints
from azaudit.collect.fetch import FetchError, clean, error_from_exception, get_document, get_list
from azaudit.collect.live import MANAGEMENT_GROUPS_API, SUBSCRIPTIONS_API
from azaudit.collect.options import LiveDeps, LiveOptions, RetrySettings
from azaudit.collect.pipeline import Clients
from azaudit.collect.plan import ANY_TYPE, CollectionPlan, arm_url, build_plan
from azaudit.collect.progress import ProgressObserver
from azaudit.collect.throttle import Pacer
from azaudit.models import JSON
from azaudit.sources import DataSource

GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
# Application-permission (app role) ids of Microsoft Graph in the global and US Government
# clouds; Azure China uses other ids, so no command is printed there (the portal path is).
GRAPH_APP_ROLE_IDS = {
    "Policy.Read.All": "246dd0d5-5bd0-4def-940b-0421030a5b68",
    "Directory.Read.All": "7ab1d382-f21e-4acd-a863-ba3e13f7da61",
    "AuditLog.Read.All": "b0afded3-3588-46d8-8b3d-9842eff778da",
}
RESOURCES_API = "2021-04-01"
PRICINGS_API = "2024-01-01"
CONTACTS_API = "2023-12-01-preview"
DOCTOR_RETRY = RetrySettings(total=2, backoff_factor=0.5, backoff_max=5.0, read_timeout=60.0)


class ProbeStatus(enum.StrEnum):
    """Outcome of one probe."""

    OK = "OK"
    MISSING = "MISSING"
    ERROR = "ERROR"


class IdentityKind(enum.StrEnum):
    """Who the token was issued to; decides how Graph permissions are granted."""

    APPLICATION = "application"
    MANAGED_IDENTITY = "managed identity"
    USER = "user"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Identity:
    """The signed-in identity as the ARM token's claims describe it (never the token)."""

    kind: IdentityKind
    object_id: str | None
    app_id: str | None
    tenant_id: str | None
    name: str | None


@dataclass(frozen=True, slots=True)
class Probe:
    """One permission check and its verdict.

    Attributes:
        permission: the role or Graph permission (`Reader`, `Policy.Read.All`, ...).
        scope: where it is needed (`/subscriptions/<id>`, `tenant`).
        what: the read that was tried.
        status: OK, MISSING or ERROR.
        detail: the answer (`HTTP 403 AuthorizationFailed`), one line.
        fix: the exact commands (or portal path) that grant what is missing.
    """

    permission: str
    scope: str
    what: str
    status: ProbeStatus
    detail: str
    fix: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DoctorReport:
    """Everything `azaudit doctor` prints."""

    cloud: str
    identity: Identity
    probes: tuple[Probe, ...]

    @property
    def ok(self) -> bool:
        """Whether every probe passed."""
        return all(p.status is ProbeStatus.OK for p in self.probes)


def run_doctor(
    options: LiveOptions, deps: LiveDeps | None = None, catalogue: Catalogue | None = None
) -> DoctorReport:
    """Probe tokens and permissions for the scope in `options`.

    `catalogue` decides which detail reads are probed (default: the bundled catalogue).

    Raises:
        InputError: malformed options or endpoint overrides.
    """
    options.validate()
    deps = deps or LiveDeps()
    endpoints = resolve_endpoints(options.cloud, deps.environ)
    plan = build_plan((catalogue or load_catalogue()).checks)
    return asyncio.run(_Doctor(options, endpoints, deps, plan).run())


Read = Callable[[], Awaitable[object]]


class _Doctor:
    def __init__(
        self,
        options: LiveOptions,
        endpoints: CloudEndpoints,
        deps: LiveDeps,
        plan: CollectionPlan,
    ) -> None:
        self.plan = plan
        self.options = options
        self.endpoints = endpoints
        self.deps = deps
        self.identity = Identity(IdentityKind.UNKNOWN, None, None, None, None)
        self.probes: list[Probe] = []

    async def run(self) -> DoctorReport:
        factory = self.deps.credential_factory or default_credential
        credential = RedactingCredential(factory(self.endpoints, self.options.tenant))
        try:
            async with Clients(
                self.endpoints,
                credential,
                ProgressObserver(),
                self.options.concurrency,
                retry=DOCTOR_RETRY,
                pacer=Pacer(self.deps.throttle),
            ) as clients:
                arm_ok = await self._token(credential, "ARM", self.endpoints.arm_scope)
                graph_ok = await self._token(
                    credential, "Microsoft Graph", self.endpoints.graph_scope
                )
                if arm_ok:
                    await self._arm_probes(clients)
                if graph_ok:
                    await self._graph_probes(clients)
        finally:
            await credential.close()
        return DoctorReport(self.endpoints.name, self.identity, tuple(self.probes))

    # -- tokens ----------------------------------------------------------------------------

    async def _token(self, credential: AsyncTokenCredential, api: str, scope: str) -> bool:
        try:
            token = await credential.get_token(scope)
        except Exception as exc:
            first = (str(exc).strip().splitlines() or [""])[0]
            self.probes.append(
                Probe(
                    f"token for {api}",
                    "tenant",
                    f"get a token for {scope}",
                    ProbeStatus.MISSING,
                    clean(first) or type(exc).__name__,
                    _credential_fix(),
                )
            )
            return False
        if api == "ARM":
            self.identity = _identity(token_claims(token.token))
        self.probes.append(
            Probe(f"token for {api}", "tenant", f"get a token for {scope}", ProbeStatus.OK, "")
        )
        return True

    # -- ARM -------------------------------------------------------------------------------

    async def _arm_probes(self, clients: Clients) -> None:
        arm = self.endpoints.arm
        listed: list[str] = []

        async def list_subscriptions() -> object:
            body = await get_list(
                clients.arm_get, f"{arm}/subscriptions?api-version={SUBSCRIPTIONS_API}", "nextLink"
            )
            for item in body["value"]:
                if isinstance(item, dict) and isinstance(item.get("subscriptionId"), str):
                    listed.append(item["subscriptionId"])
            if not listed and not self.options.subscriptions:
                raise FetchError(
                    "no subscription is visible to the credential", 200, "NoSubscription"
                )
            return body

        self.probes.append(
            await self._probe(
                "Reader", "tenant", "list subscriptions", list_subscriptions, self._reader_fix("/")
            )
        )
        if self.options.management_group:
            group = self.options.management_group
            mg_scope = f"/providers/Microsoft.Management/managementGroups/{group}"

            async def descendants() -> object:
                return await get_list(
                    clients.arm_get,
                    f"{arm}{mg_scope}/descendants?api-version={MANAGEMENT_GROUPS_API}",
                    "nextLink",
                )

            self.probes.append(
                await self._probe(
                    "Reader",
                    mg_scope,
                    "list management group descendants",
                    descendants,
                    self._reader_fix(mg_scope),
                )
            )
        for source in self.plan.tenant_sources:
            url = arm_url(arm, "/", source)

            async def tenant_read(url: str = url, paged: bool = source.paged) -> object:
                if paged:
                    return await get_list(clients.arm_get, url, "nextLink")
                return await get_document(clients.arm_get, url)

            self.probes.append(
                await self._probe(
                    "Reader at /",
                    "tenant",
                    f"read {source.name}",
                    tenant_read,
                    (
                        "assign Reader at the tenant root (needs elevated access; without it "
                        "only the checks of this document report ERROR): "
                        + self._role_fix("Reader", "/")[0],
                    ),
                )
            )
        subscriptions = list(self.options.subscriptions) or listed
        per_subscription = await asyncio.gather(
            *(self._subscription_probes(clients, s) for s in subscriptions)
        )
        for probes in per_subscription:
            self.probes.extend(probes)

    async def _subscription_probes(self, clients: Clients, sid: str) -> list[Probe]:
        arm = self.endpoints.arm
        scope = f"/subscriptions/{sid}"

        def reader(url: str) -> Read:
            return lambda: get_list(clients.arm_get, url, "nextLink")

        probes = [
            await self._probe(
                "Reader",
                scope,
                "list resources",
                reader(f"{arm}{scope}/resources?$top=1&api-version={RESOURCES_API}"),
                self._reader_fix(scope),
            )
        ]
        for what, path, api in (
            ("read Defender plans", "providers/Microsoft.Security/pricings", PRICINGS_API),
            (
                "read security contacts",
                "providers/Microsoft.Security/securityContacts",
                CONTACTS_API,
            ),
        ):
            probes.append(
                await self._probe(
                    "Security Reader",
                    scope,
                    what,
                    reader(f"{arm}{scope}/{path}?api-version={api}"),
                    self._role_fix("Security Reader", scope),
                )
            )
        probes += await self._detail_probes(clients, sid)
        return probes

    async def _detail_probes(self, clients: Clients, sid: str) -> list[Probe]:
        """One read of each resource-scoped source, on a resource of its types, if any exists."""
        arm = self.endpoints.arm
        scope = f"/subscriptions/{sid}"

        async def representative(types: frozenset[str]) -> dict[str, JSON] | None:
            wanted = " or ".join(f"resourceType eq '{t}'" for t in sorted(types))
            url = (
                f"{arm}{scope}/resources?$filter={quote(wanted)}&$top=1&api-version={RESOURCES_API}"
            )
            try:
                body = await get_document(clients.arm_get, url)
            except Exception:
                return None  # listing itself is probed (and reported) above
            values = body.get("value")
            first = values[0] if isinstance(values, list) and values else None
            return first if isinstance(first, dict) and isinstance(first.get("id"), str) else None

        sources = [(s, t) for s, t in self.plan.resource_sources if ANY_TYPE not in t]
        found = await asyncio.gather(*(representative(t) for _, t in sources))

        def read(source: DataSource, rid: str) -> Read:
            url = arm_url(arm, rid, source)
            if source.paged:
                return lambda: get_list(clients.arm_get, url, "nextLink")
            return lambda: get_document(clients.arm_get, url)

        reads = []
        for (source, _), resource in zip(sources, found, strict=True):
            if resource is None:
                continue  # no resource of these types here: nothing the scan would read
            rid = str(resource["id"])
            name = rid.rstrip("/").rsplit("/", 1)[-1]
            what = f"read {source.name} of {resource.get('type', 'resource')} {name}"
            reads.append(
                self._probe("Reader", scope, what, read(source, rid), self._reader_fix(scope))
            )
        return list(await asyncio.gather(*reads))

    # -- Microsoft Graph -------------------------------------------------------------------

    async def _graph_probes(self, clients: Clients) -> None:
        base = f"{self.endpoints.graph}/v1.0"

        def read(path: str) -> Read:
            return lambda: get_document(clients.graph_get, f"{base}/{path}")

        checks: Sequence[tuple[str, str, str]] = (
            (
                "Policy.Read.All",
                "read Conditional Access policies",
                "identity/conditionalAccess/policies",
            ),
            (
                "Policy.Read.All",
                "read security defaults",
                "policies/identitySecurityDefaultsEnforcementPolicy",
            ),
            (
                "Directory.Read.All",
                "list directory roles",
                "directoryRoles?$select=id,displayName",
            ),
            ("Directory.Read.All", "list users", "users?$top=1&$select=id,userType,accountEnabled"),
            (
                "AuditLog.Read.All",
                "read users' last sign-in",
                "users?$top=1&$select=id,signInActivity",
            ),
            (
                "AuditLog.Read.All",
                "read MFA registration details",
                "reports/authenticationMethods/userRegistrationDetails?$top=1",
            ),
        )
        probes = await asyncio.gather(
            *(
                self._probe(permission, "tenant", what, read(path), self._graph_fix(permission))
                for permission, what, path in checks
            )
        )
        self.probes.extend(probes)

    # -- probing and advice ----------------------------------------------------------------

    async def _probe(
        self, permission: str, scope: str, what: str, read: Read, fix: tuple[str, ...]
    ) -> Probe:
        try:
            await read()
        except Exception as exc:
            error = error_from_exception(exc)
            status, advice = _classify(error, fix, scope)
            return Probe(permission, scope, what, status, error.reason, advice)
        return Probe(permission, scope, what, ProbeStatus.OK, "HTTP 200")

    def _assignee(self) -> str:
        principal_type = {
            IdentityKind.USER: "User",
            IdentityKind.APPLICATION: "ServicePrincipal",
            IdentityKind.MANAGED_IDENTITY: "ServicePrincipal",
        }.get(self.identity.kind)
        if self.identity.object_id and principal_type:
            return (
                f"--assignee-object-id {self.identity.object_id} "
                f"--assignee-principal-type {principal_type}"
            )
        return "--assignee <principal-object-id>"

    def _role_fix(self, role: str, scope: str) -> tuple[str, ...]:
        return (f'az role assignment create {self._assignee()} --role "{role}" --scope {scope}',)

    def _reader_fix(self, scope: str) -> tuple[str, ...]:
        if scope == "/":
            return (
                "assign Reader on each subscription (or a management group) to audit: "
                + self._role_fix("Reader", "/subscriptions/<subscription-id>")[0],
            )
        return self._role_fix("Reader", scope)

    def _graph_fix(self, permission: str) -> tuple[str, ...]:
        portal = (
            "portal: Microsoft Entra admin center > App registrations > <app> > API permissions "
            f"> Add a permission > Microsoft Graph > Application permissions > {permission} "
            "> Grant admin consent"
        )
        role_id = GRAPH_APP_ROLE_IDS.get(permission)
        kind = self.identity.kind
        if kind is IdentityKind.USER:
            return (
                "signed in as a user: Graph reads use the user's directory role; assign Global "
                "Reader (Entra admin center > Roles and administrators > Global Reader > Add "
                "assignments), or run azaudit as an application with "
                f"{permission} (application permission)",
            )
        if self.endpoints.name == "AzureChinaCloud" or role_id is None:
            return (portal,)
        graph = self.endpoints.graph
        if kind is IdentityKind.MANAGED_IDENTITY:
            principal = self.identity.object_id or "<managed-identity-object-id>"
            return (
                "graph_sp=$(az ad sp show --id " + GRAPH_APP_ID + " --query id -o tsv)",
                f"az rest --method POST --uri {graph}/v1.0/servicePrincipals/{principal}"
                "/appRoleAssignments --body "
                f"\"{{'principalId':'{principal}','resourceId':'$graph_sp','appRoleId':'{role_id}'}}\"",
            )
        app = self.identity.app_id or "<app-id>"
        return (
            f"az ad app permission add --id {app} --api {GRAPH_APP_ID} "
            f"--api-permissions {role_id}=Role",
            f"az ad app permission admin-consent --id {app}",
            portal,
        )


def _classify(
    error: FetchError, fix: tuple[str, ...], scope: str
) -> tuple[ProbeStatus, tuple[str, ...]]:
    code = error.error_code or ""
    if "NonPremium" in code or "premium" in error.reason.lower():
        return ProbeStatus.MISSING, (
            "the tenant needs a Microsoft Entra ID P1 or P2 licence for sign-in activity and "
            "MFA registration reports",
        )
    if error.status_code in {401, 403} or code == "NoSubscription":
        return ProbeStatus.MISSING, fix
    if error.status_code == 409 and code == "MissingSubscriptionRegistration":
        sub = scope.rsplit("/", 1)[-1]
        return ProbeStatus.ERROR, (
            "an Owner or Contributor registers the provider (azaudit never writes): "
            f"az provider register --namespace Microsoft.Security --subscription {sub}",
        )
    return ProbeStatus.ERROR, ()


def _identity(claims: dict[str, JSON]) -> Identity:
    def text(name: str) -> str | None:
        value = claims.get(name)
        return value if isinstance(value, str) and value else None

    if not claims:
        kind = IdentityKind.UNKNOWN
    elif text("scp") or text("upn"):
        kind = IdentityKind.USER
    elif text("xms_mirid"):
        kind = IdentityKind.MANAGED_IDENTITY
    else:
        kind = IdentityKind.APPLICATION
    return Identity(
        kind=kind,
        object_id=text("oid"),
        app_id=text("appid") or text("azp"),
        tenant_id=text("tid"),
        name=text("upn") or text("app_displayname") or text("name"),
    )


def _credential_fix() -> tuple[str, ...]:
    return (
        "sign in with 'az login' (add --tenant <tenant-id>), or set AZURE_TENANT_ID, "
        "AZURE_CLIENT_ID and AZURE_CLIENT_SECRET (or AZURE_FEDERATED_TOKEN_FILE) for a service "
        "principal; AZURE_TOKEN_CREDENTIALS selects one credential type",
    )
