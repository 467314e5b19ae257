"""Demo App Service: plans, web and function apps, and each app's `config/web` document.

Site rows follow Microsoft's `WebApps_List` example; `config/web` follows
`WebApps_GetConfiguration`. Neither carries app settings or connection strings, which azaudit
never collects.

The story: the patient portal's web and API apps are HTTPS-only, TLS 1.2, FTP disabled and CORS
limited to the portal's own domain. Its notification function still allows plain FTP, and a
legacy billing-statement app accepts HTTP and TLS 1.0. In dev, the cohort explorer has remote
debugging on and CORS `*`; the `config/web` document of the ETL API could not be read (403), the
demo's one collection gap. Deployment slots (`Microsoft.Web/sites/slots`, with their own
`config/web`): the portal's staging slot is hardened like its app; the referrals app's staging
slot, left from a debugging session, accepts HTTP, plain FTP, TLS 1.0 on SCM, remote debugging and
any CORS origin.
"""

from __future__ import annotations

from dataclasses import dataclass

from azaudit.demo.arm import (
    Doc,
    Estate,
    arg_row,
    log_category,
    resource_id,
    system_identity,
)
from azaudit.demo.network import Network
from azaudit.demo.org import CLINICAL, DEV, DOMAIN, PORTAL, Subscription, days_ago, hexid
from azaudit.models import CollectionGap

SITE = "Microsoft.Web/sites"
SLOT = "Microsoft.Web/sites/slots"
PLAN = "Microsoft.Web/serverFarms"


@dataclass(frozen=True, slots=True)
class PlanSpec:
    """An App Service plan."""

    sub: Subscription
    rg: str
    name: str
    location: str
    sku: str
    tier: str
    linux: bool = True


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """An app and its site configuration; defaults are the hardened baseline."""

    sub: Subscription
    rg: str
    name: str
    plan: str
    kind: str = "app,linux"
    runtime: str = "DOTNETCORE|8.0"
    https_only: bool = True
    tls: str = "1.2"
    scm_tls: str = "1.2"
    ftps: str = "Disabled"
    remote_debugging: bool = False
    cors: tuple[str, ...] = ()
    vnet_subnet: tuple[str, str, str] | None = None
    diagnostics: bool = True
    config_readable: bool = True
    slot: str = ""
    """Set for a deployment slot of the app `name`."""


PLANS: tuple[PlanSpec, ...] = (
    PlanSpec(
        CLINICAL, "rg-clinical-apps-eus", "asp-nw-clinical-eus", "eastus", "P1v3", "PremiumV3"
    ),
    PlanSpec(PORTAL, "rg-portal-app-eus2", "asp-nw-portal-eus2", "eastus2", "P2v3", "PremiumV3"),
    PlanSpec(
        PORTAL,
        "rg-portal-app-eus2",
        "asp-nw-portal-legacy-eus2",
        "eastus2",
        "S1",
        "Standard",
        linux=False,
    ),
    PlanSpec(DEV, "rg-dev-analytics-eus", "asp-nw-dev-eus", "eastus", "B1", "Basic"),
)

_PORTAL_ORIGIN = f"https://patients.{DOMAIN}"
_PORTAL_SUBNET = ("rg-portal-network-eus2", "vnet-nw-portal-eus2", "snet-appsvc-integration")

SITES: tuple[SiteSpec, ...] = (
    SiteSpec(
        CLINICAL,
        "rg-clinical-apps-eus",
        "app-nw-referrals",
        "asp-nw-clinical-eus",
        cors=(f"https://clinicians.{DOMAIN}",),
        vnet_subnet=("rg-clinical-network-eus", "vnet-nw-clinical-eus", "snet-appsvc-integration"),
    ),
    SiteSpec(
        PORTAL,
        "rg-portal-app-eus2",
        "app-nw-portal-web",
        "asp-nw-portal-eus2",
        cors=(_PORTAL_ORIGIN,),
        vnet_subnet=_PORTAL_SUBNET,
    ),
    SiteSpec(
        PORTAL,
        "rg-portal-app-eus2",
        "app-nw-portal-api",
        "asp-nw-portal-eus2",
        cors=(_PORTAL_ORIGIN, f"https://www.{DOMAIN}"),
        vnet_subnet=_PORTAL_SUBNET,
    ),
    SiteSpec(
        PORTAL,
        "rg-portal-app-eus2",
        "func-nw-portal-notify",
        "asp-nw-portal-eus2",
        kind="functionapp,linux",
        runtime="DOTNET-ISOLATED|8.0",
        ftps="AllAllowed",
        cors=("https://portal.azure.com",),
        vnet_subnet=_PORTAL_SUBNET,
    ),
    SiteSpec(
        PORTAL,
        "rg-portal-app-eus2",
        "app-nw-billing-statements",
        "asp-nw-portal-legacy-eus2",
        kind="app",
        runtime="",
        https_only=False,
        tls="1.0",
        scm_tls="1.0",
        ftps="FtpsOnly",
        diagnostics=False,
    ),
    SiteSpec(
        DEV,
        "rg-dev-analytics-eus",
        "app-nw-dev-cohort-explorer",
        "asp-nw-dev-eus",
        runtime="PYTHON|3.12",
        ftps="AllAllowed",
        remote_debugging=True,
        cors=("*",),
        diagnostics=False,
    ),
    SiteSpec(
        DEV,
        "rg-dev-analytics-eus",
        "app-nw-dev-etl-api",
        "asp-nw-dev-eus",
        runtime="PYTHON|3.12",
        diagnostics=False,
        config_readable=False,
    ),
    SiteSpec(
        PORTAL,
        "rg-portal-app-eus2",
        "app-nw-portal-web",
        "asp-nw-portal-eus2",
        cors=(_PORTAL_ORIGIN,),
        vnet_subnet=_PORTAL_SUBNET,
        slot="staging",
    ),
    SiteSpec(
        CLINICAL,
        "rg-clinical-apps-eus",
        "app-nw-referrals",
        "asp-nw-clinical-eus",
        https_only=False,
        scm_tls="1.0",
        ftps="AllAllowed",
        remote_debugging=True,
        cors=("*",),
        slot="staging",
    ),
)


def _plan_row(spec: PlanSpec) -> Doc:
    return arg_row(
        spec.sub,
        spec.rg,
        PLAN,
        spec.name,
        spec.location,
        {
            "serverFarmId": int(hexid(spec.name, 4), 16),
            "name": spec.name,
            "workerSize": "Default",
            "workerSizeId": 0,
            "currentWorkerSize": "Default",
            "currentWorkerSizeId": 0,
            "currentNumberOfWorkers": 2 if spec.sub.phi else 1,
            "status": "Ready",
            "webSpace": f"{spec.rg}-{spec.location.replace(' ', '')}webspace",
            "maximumNumberOfWorkers": 30 if spec.tier == "PremiumV3" else 3,
            "planName": "VirtualDedicatedPlan",
            "computeMode": "Dedicated",
            "perSiteScaling": False,
            "elasticScaleEnabled": False,
            "maximumElasticWorkerCount": 1,
            "numberOfSites": sum(1 for s in SITES if s.plan == spec.name and not s.slot),
            "isSpot": False,
            "kind": "linux" if spec.linux else "app",
            "reserved": spec.linux,
            "isXenon": False,
            "hyperV": False,
            "targetWorkerCount": 0,
            "targetWorkerSizeId": 0,
            "provisioningState": "Succeeded",
            "zoneRedundant": spec.tier == "PremiumV3",
        },
        kind="linux" if spec.linux else "app",
        sku={
            "name": spec.sku,
            "tier": spec.tier,
            "size": spec.sku,
            "family": spec.sku.rstrip("0123456789") if spec.tier != "PremiumV3" else "Pv3",
            "capacity": 2 if spec.sub.phi else 1,
        },
    )


def _site_row(spec: SiteSpec, plan_id: str, location: str, network: Network) -> Doc:
    label = f"{spec.name}-{spec.slot}" if spec.slot else spec.name
    host = f"{label}.azurewebsites.net"
    props: Doc = {
        "state": "Running",
        "hostNames": [host],
        "repositorySiteName": spec.name,
        "usageState": "Normal",
        "enabled": True,
        "enabledHostNames": [host, f"{label}.scm.azurewebsites.net"],
        "availabilityState": "Normal",
        "hostNameSslStates": [
            {"name": host, "sslState": "Disabled", "hostType": "Standard"},
            {
                "name": f"{label}.scm.azurewebsites.net",
                "sslState": "Disabled",
                "hostType": "Repository",
            },
        ],
        "serverFarmId": plan_id,
        "reserved": "linux" in spec.kind,
        "isXenon": False,
        "hyperV": False,
        "lastModifiedTimeUtc": days_ago(12, fraction=True),
        "vnetRouteAllEnabled": spec.vnet_subnet is not None,
        "vnetImagePullEnabled": False,
        "vnetContentShareEnabled": False,
        # The list API leaves most of siteConfig empty: the real values are in config/web.
        "siteConfig": {
            "numberOfWorkers": 1,
            "linuxFxVersion": spec.runtime,
            "acrUseManagedIdentityCreds": False,
            "alwaysOn": spec.sub.phi,
            "http20Enabled": True,
            "functionAppScaleLimit": 0,
            "minimumElasticInstanceCount": 0,
            "minTlsVersion": None,
            "scmMinTlsVersion": None,
            "ftpsState": None,
            "remoteDebuggingEnabled": None,
            "cors": None,
        },
        "scmSiteAlsoStopped": False,
        "clientAffinityEnabled": False,
        "clientCertEnabled": False,
        "clientCertMode": "Required",
        "hostNamesDisabled": False,
        "outboundIpAddresses": "198.51.100.40,198.51.100.41",
        "possibleOutboundIpAddresses": "198.51.100.40,198.51.100.41,198.51.100.42,198.51.100.43",
        "containerSize": 1536 if spec.kind.startswith("functionapp") else 0,
        "dailyMemoryTimeQuota": 0,
        "resourceGroup": spec.rg,
        "defaultHostName": host,
        "httpsOnly": spec.https_only,
        "redundancyMode": "None",
        "publicNetworkAccess": "Enabled",
        "storageAccountRequired": False,
        "keyVaultReferenceIdentity": "SystemAssigned",
        "privateEndpointConnections": [],
    }
    if spec.vnet_subnet is not None:
        props["virtualNetworkSubnetId"] = network.subnet_id(spec.sub, *spec.vnet_subnet)
    row = arg_row(
        spec.sub,
        spec.rg,
        SLOT if spec.slot else SITE,
        (spec.name, spec.slot) if spec.slot else spec.name,
        location,
        props,
        kind=spec.kind,
        identity=system_identity(label),
    )
    if spec.slot:
        row["name"] = f"{spec.name}/{spec.slot}"  # ARM names a slot `<app>/<slot>`
    return row


def _config_web(spec: SiteSpec, site_id: str) -> Doc:
    """`config/web` (2023-12-01) without app settings or connection strings."""
    cors: Doc | None = (
        {"allowedOrigins": list(spec.cors), "supportCredentials": False} if spec.cors else None
    )
    allow_all = {
        "ipAddress": "Any",
        "action": "Allow",
        "priority": 2147483647,
        "name": "Allow all",
        "description": "Allow all access",
    }
    return {
        "id": f"{site_id}/config/web",
        "name": spec.name,
        "type": f"{SLOT if spec.slot else SITE}/config",
        "location": None,
        "kind": spec.kind,
        "properties": {
            "numberOfWorkers": 1,
            "defaultDocuments": ["Default.htm", "Default.html", "index.html", "hostingstart.html"],
            "netFrameworkVersion": "v4.0" if spec.kind == "app" else "v8.0",
            "phpVersion": "",
            "pythonVersion": "",
            "nodeVersion": "",
            "powerShellVersion": "",
            "linuxFxVersion": spec.runtime,
            "requestTracingEnabled": False,
            "remoteDebuggingEnabled": spec.remote_debugging,
            "remoteDebuggingVersion": "VS2022" if spec.remote_debugging else None,
            "httpLoggingEnabled": spec.sub.phi,
            "acrUseManagedIdentityCreds": False,
            "logsDirectorySizeLimit": 35,
            "detailedErrorLoggingEnabled": False,
            "publishingUsername": f"${spec.name}",
            "scmType": "None",
            "use32BitWorkerProcess": False,
            "webSocketsEnabled": False,
            "alwaysOn": spec.sub.phi,
            "appCommandLine": "",
            "managedPipelineMode": "Integrated",
            "virtualApplications": [
                {
                    "virtualPath": "/",
                    "physicalPath": "site\\wwwroot",
                    "preloadEnabled": spec.sub.phi,
                }
            ],
            "loadBalancing": "LeastRequests",
            "autoHealEnabled": False,
            "vnetName": "",
            "vnetRouteAllEnabled": spec.vnet_subnet is not None,
            "vnetPrivatePortsCount": 0,
            "publicNetworkAccess": "Enabled",
            "cors": cors,
            "localMySqlEnabled": False,
            "ipSecurityRestrictions": [allow_all],
            "scmIpSecurityRestrictions": [allow_all],
            "scmIpSecurityRestrictionsUseMain": False,
            "http20Enabled": True,
            "minTlsVersion": spec.tls,
            "minTlsCipherSuite": None,
            "scmMinTlsVersion": spec.scm_tls,
            "ftpsState": spec.ftps,
            "preWarmedInstanceCount": 0,
            "functionAppScaleLimit": 0,
            "functionsRuntimeScaleMonitoringEnabled": False,
            "minimumElasticInstanceCount": 0,
            "azureStorageAccounts": {},
        },
    }


def build(estate: Estate, network: Network) -> None:
    """Add plans and apps, with `config/web` for every app except the one behind the gap."""
    locations: dict[str, str] = {}
    for plan in PLANS:
        locations[plan.name] = plan.location
        estate.add(_plan_row(plan))
    for site in SITES:
        plan = next(p for p in PLANS if p.name == site.plan)
        plan_id = resource_id(plan.sub, plan.rg, PLAN, plan.name)
        row = _site_row(site, plan_id, locations[site.plan], network)
        site_id = str(row["id"])
        logs = [
            log_category("AppServiceHTTPLogs"),
            log_category("AppServiceAuditLogs"),
            log_category("AppServiceIPSecAuditLogs"),
            log_category("AppServicePlatformLogs"),
        ]
        estate.add_logged(row, logs, enabled=site.diagnostics)
        if site.config_readable:
            estate.doc(site_id, "config/web", _config_web(site, site_id))
        else:
            estate.gap(
                CollectionGap(
                    scope=site_id,
                    source="config/web",
                    reason=(
                        "403 AuthorizationFailed: the scanning identity lacks "
                        "'Microsoft.Web/sites/config/read' on this app (a deny assignment "
                        "from the dev team's deployment stack)"
                    ),
                    status_code=403,
                    error_code="AuthorizationFailed",
                )
            )
