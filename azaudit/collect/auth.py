"""Credentials: which identity azaudit authenticates as, injected so tests can choose.

The default is azure-identity's `DefaultAzureCredential` (environment service principal,
workload identity federation, managed identity, Azure CLI, ...); `AZURE_TOKEN_CREDENTIALS`
narrows that chain (azure-identity reads it). Tests and embedders pass their own factory, for
example a `ClientSecretCredential` pointed at a local token endpoint.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.credentials_async import AsyncTokenCredential

from azaudit.collect.clouds import CLOUDS, CloudEndpoints
from azaudit.models import JSON

CredentialFactory = Callable[[CloudEndpoints, str | None], AsyncTokenCredential]
"""`(endpoints, tenant) -> credential`; the collector closes the credential when done."""


def default_credential(endpoints: CloudEndpoints, tenant: str | None) -> AsyncTokenCredential:
    """`DefaultAzureCredential` for the cloud's authority, limited to `tenant` when given."""
    from azure.identity.aio import DefaultAzureCredential

    kwargs: dict[str, Any] = {"authority": endpoints.authority}
    if endpoints.ca_bundle is not None:
        # Token requests trust the same CA bundle as ARM and Graph requests.
        kwargs["connection_verify"] = endpoints.ca_bundle
    if endpoints.authority not in {c.authority for c in CLOUDS.values()}:
        # MSAL would ask login.microsoftonline.com to validate an unknown authority host.
        kwargs["disable_instance_discovery"] = True
    if tenant:
        kwargs["additionally_allowed_tenants"] = [tenant]
    credential: AsyncTokenCredential = DefaultAzureCredential(**kwargs)
    return TenantCredential(credential, tenant) if tenant else credential


class TenantCredential:
    """Asks the wrapped credential for tokens of one tenant (`--tenant`).

    azure-core's bearer policy never passes a tenant; azure-identity credentials accept
    `tenant_id` on `get_token`, which is how the Azure CLI and service-principal credentials
    pick a tenant other than their default.
    """

    def __init__(self, inner: AsyncTokenCredential, tenant: str) -> None:
        self._inner = inner
        self._tenant = tenant

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> AccessToken:
        """A token for `scopes` in the configured tenant."""
        return await self._inner.get_token(
            *scopes,
            claims=claims,
            tenant_id=tenant_id or self._tenant,
            enable_cae=enable_cae,
            **kwargs,
        )

    async def close(self) -> None:
        """Release the wrapped credential's transport."""
        await self._inner.close()

    async def __aenter__(self) -> TenantCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


class RedactingCredential:
    """Passes every token it hands out to `remember_secret`, so no message can echo it."""

    def __init__(self, inner: AsyncTokenCredential) -> None:
        self._inner = inner

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A token from the wrapped credential, remembered for redaction."""
        from azaudit.collect.fetch import remember_secret

        token = await self._inner.get_token(*scopes, **kwargs)
        remember_secret(token.token)
        return token

    async def close(self) -> None:
        """Release the wrapped credential's transport."""
        await self._inner.close()

    async def __aenter__(self) -> RedactingCredential:
        return self

    async def __aexit__(self, *args: object) -> None:
        await self.close()


def token_claims(token: str) -> dict[str, JSON]:
    """The (unverified) claims of a JWT access token, or `{}` when it is not a JWT.

    Used only to name the identity in `azaudit doctor`'s advice (`appid`, `oid`, `tid`); the
    token itself is never printed or stored.
    """
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, binascii.Error, UnicodeError):
        return {}
    return claims if isinstance(claims, dict) else {}
