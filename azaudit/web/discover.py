"""Public sites of a tenant, read from the snapshot's inventory (Resource Graph rows).

Where each host name comes from (ARM property names as Microsoft's REST specifications give them):
- App Service apps and slots (`Microsoft.Web/sites`, `Microsoft.Web/sites/slots`):
  `properties.enabledHostNames` (else `hostNames`, else `defaultHostName`), without the Kudu
  `*.scm.*` host; a stopped app (`properties.state` = `Stopped`) is listed, not scanned.
- Static Web Apps (`Microsoft.Web/staticSites`): `properties.defaultHostname` and
  `properties.customDomains`.
- Front Door Standard/Premium endpoints (`Microsoft.Cdn/profiles/afdEndpoints`) and custom domains
  (`Microsoft.Cdn/profiles/customDomains`): `properties.hostName`; classic Front Door
  (`Microsoft.Network/frontDoors`): `properties.frontendEndpoints[].properties.hostName`.
- CDN endpoints (`Microsoft.Cdn/profiles/endpoints`) and their custom domains
  (`Microsoft.Cdn/profiles/endpoints/customDomains`): `properties.hostName`.
- Application Gateway (`Microsoft.Network/applicationGateways`): `httpListeners[].properties`
  `hostName`/`hostNames` of listeners on a frontend IP configuration with a public IP; a public
  listener without a host name is listed, not scanned (the scanner only fetches host names).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.snapshot import Snapshot
from azaudit.web.options import SiteTarget

APP_TYPES = frozenset({"microsoft.web/sites", "microsoft.web/sites/slots"})
HOSTNAME_TYPES = frozenset(
    {
        "microsoft.cdn/profiles/afdendpoints",
        "microsoft.cdn/profiles/customdomains",
        "microsoft.cdn/profiles/endpoints",
        "microsoft.cdn/profiles/endpoints/customdomains",
    }
)


def discover_sites(snapshot: Snapshot) -> list[SiteTarget]:
    """Every site the inventory names, one per host name, in inventory order (no duplicates)."""
    sites: dict[str, SiteTarget] = {}
    for resource in snapshot.resources:
        rtype = str(resource.get("type", "")).lower()
        rid = str(resource.get("id", ""))
        props = resource.get("properties")
        if not isinstance(props, Mapping):
            continue
        for host, note in _hosts(rtype, props):
            url = f"https://{host.lower().rstrip('.')}/" if host else ""
            key = url or f"{rid}|{note}"
            if key not in sites:
                sites[key] = SiteTarget(url=url, origin="inventory", resource_id=rid, note=note)
    return list(sites.values())


def _hosts(rtype: str, props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    if rtype in APP_TYPES:
        names = _strings(props.get("enabledHostNames")) or _strings(props.get("hostNames"))
        if not names and isinstance(props.get("defaultHostName"), str):
            names = [props["defaultHostName"]]
        stopped = str(props.get("state", "")).lower() == "stopped"
        for name in names:
            if ".scm." not in name.lower():
                yield name, "not scanned: the app is stopped" if stopped else ""
    elif rtype == "microsoft.web/staticsites":
        default = props.get("defaultHostname")
        for static_name in [default, *_strings(props.get("customDomains"))]:
            if isinstance(static_name, str) and static_name:
                yield static_name, ""
    elif rtype in HOSTNAME_TYPES:
        if isinstance(props.get("hostName"), str) and props["hostName"]:
            yield props["hostName"], ""
    elif rtype == "microsoft.network/frontdoors":
        for endpoint in _mappings(props.get("frontendEndpoints")):
            inner = endpoint.get("properties")
            if isinstance(inner, Mapping) and isinstance(inner.get("hostName"), str):
                yield inner["hostName"], ""
    elif rtype == "microsoft.network/applicationgateways":
        yield from _gateway_hosts(props)


def _gateway_hosts(props: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    public = {
        str(f.get("id", "")).lower()
        for f in _mappings(props.get("frontendIPConfigurations"))
        if isinstance(f.get("properties"), Mapping) and f["properties"].get("publicIPAddress")
    }
    for listener in _mappings(props.get("httpListeners")):
        inner = listener.get("properties")
        if not isinstance(inner, Mapping):
            continue
        frontend = inner.get("frontendIPConfiguration")
        frontend_id = str(frontend.get("id", "")).lower() if isinstance(frontend, Mapping) else ""
        if frontend_id not in public:
            continue
        names = _strings(inner.get("hostNames"))
        if isinstance(inner.get("hostName"), str) and inner["hostName"]:
            names.insert(0, inner["hostName"])
        names = [n for n in names if "*" not in n]
        if not names:
            label = str(listener.get("name", ""))
            yield "", f"not scanned: public listener {label} has no host name to scan"
        for name in names:
            yield name, ""


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str) and v] if isinstance(value, list) else []


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []
