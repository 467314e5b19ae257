"""Azure clouds: the ARM, Microsoft Graph and Entra endpoints and token scopes of each.

The same collector talks to the public cloud, US Government, Azure China, or a local emulator:
only these values change. Overrides come from the environment (`AZAUDIT_ARM_ENDPOINT`,
`AZAUDIT_GRAPH_ENDPOINT`, `AZAUDIT_AUTHORITY_HOST`) and must be HTTPS, because bearer tokens are
never sent over plain HTTP (azure-core refuses to, and so do we).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

from azaudit.errors import InputError
from azaudit.models import JSON

ENV_ARM_ENDPOINT = "AZAUDIT_ARM_ENDPOINT"
ENV_GRAPH_ENDPOINT = "AZAUDIT_GRAPH_ENDPOINT"
ENV_AUTHORITY_HOST = "AZAUDIT_AUTHORITY_HOST"
ENV_CA_BUNDLE = "AZAUDIT_CA_BUNDLE"
CA_BUNDLE_VARIABLES = (ENV_CA_BUNDLE, "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
"""Where the CA bundle that HTTPS connections trust comes from, in order of precedence."""


@dataclass(frozen=True, slots=True)
class CloudEndpoints:
    """Where one Azure cloud lives and which token audiences it expects.

    Attributes:
        name: `AzureCloud`, `AzureUSGovernment` or `AzureChinaCloud`.
        arm: Azure Resource Manager base URL (no trailing slash).
        graph: Microsoft Graph base URL (no trailing slash, no version segment).
        authority: Entra ID authority host URL.
        arm_scope: the `.default` scope of an ARM token.
        graph_scope: the `.default` scope of a Microsoft Graph token.
        custom: whether any endpoint was overridden (emulator, private cloud).
        ca_bundle: the CA bundle file HTTPS connections trust (None: the system default).
    """

    name: str
    arm: str
    graph: str
    authority: str
    arm_scope: str
    graph_scope: str
    custom: bool = False
    ca_bundle: str | None = None

    def to_json(self) -> dict[str, JSON]:
        """The `cloud` block of a snapshot."""
        return {
            "name": self.name,
            "arm": self.arm,
            "graph": self.graph,
            "authority": self.authority,
        }


def _cloud(name: str, arm: str, graph: str, authority: str) -> CloudEndpoints:
    """A national cloud; its token audiences are its own ARM and Graph hosts."""
    return CloudEndpoints(
        name=name,
        arm=arm,
        graph=graph,
        authority=authority,
        arm_scope=f"{arm}/.default",
        graph_scope=f"{graph}/.default",
    )


# Endpoints and scopes: learn.microsoft.com/azure/azure-government/compare-azure-government-
# global-azure and /graph/deployments (national cloud Graph hosts).
CLOUDS: dict[str, CloudEndpoints] = {
    c.name: c
    for c in (
        _cloud(
            "AzureCloud",
            "https://management.azure.com",
            "https://graph.microsoft.com",
            "https://login.microsoftonline.com",
        ),
        _cloud(
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://graph.microsoft.us",
            "https://login.microsoftonline.us",
        ),
        _cloud(
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
        ),
    )
}


def resolve_endpoints(cloud: str, environ: Mapping[str, str] | None = None) -> CloudEndpoints:
    """The endpoints of `cloud`, with any environment overrides applied.

    Token scopes stay those of the named cloud: an override moves where requests go, not which
    audience the token is issued for.

    Raises:
        InputError: unknown cloud name, or an override that is not an absolute HTTPS URL.
    """
    env = os.environ if environ is None else environ
    known = {name.lower(): endpoints for name, endpoints in CLOUDS.items()}
    endpoints = known.get(cloud.lower())
    if endpoints is None:
        raise InputError(f"--cloud {cloud!r}: expected one of {', '.join(CLOUDS)}")
    overrides: dict[str, str] = {}
    for variable, field_name in (
        (ENV_ARM_ENDPOINT, "arm"),
        (ENV_GRAPH_ENDPOINT, "graph"),
        (ENV_AUTHORITY_HOST, "authority"),
    ):
        value = env.get(variable, "").strip()
        if value:
            overrides[field_name] = _https_base(variable, value)
    bundle = ca_bundle(env)
    if overrides:
        return replace(endpoints, custom=True, ca_bundle=bundle, **overrides)
    return replace(endpoints, ca_bundle=bundle)


def _https_base(variable: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() != "https" or not parts.netloc:
        raise InputError(
            f"{variable}={value!r}: expected an absolute https:// URL "
            "(bearer tokens are never sent over plain HTTP)"
        )
    if parts.query or parts.fragment:
        raise InputError(f"{variable}={value!r}: expected a base URL without query or fragment")
    return value.rstrip("/")


def ca_bundle(environ: Mapping[str, str] | None = None) -> str | None:
    """The CA bundle file named by the environment, if any.

    Raises:
        InputError: the variable names a file that does not exist.
    """
    env = os.environ if environ is None else environ
    for variable in CA_BUNDLE_VARIABLES:
        value = env.get(variable, "").strip()
        if value:
            if not Path(value).is_file():
                raise InputError(f"{variable}={value!r}: no such CA bundle file")
            return value
    return None


def ssl_context(bundle: str | None) -> ssl.SSLContext:
    """One verifying TLS context for every connection of a run, trusting `bundle` if given.

    Built once and shared: a per-request context (what azure-core does when given a CA path)
    costs a new TCP+TLS handshake per request. Verification is never turned off.
    """
    try:
        return ssl.create_default_context(cafile=bundle)
    except (ssl.SSLError, OSError) as exc:
        raise InputError(f"CA bundle {bundle}: not a valid PEM bundle ({exc})") from None
