"""Demo Key Vault keys and secrets as Azure Resource Manager lists them: metadata only.

Shaped after Microsoft's `listKeys` / `listSecrets` examples (Key Vault RP 2023-07-01): names,
attributes (epoch seconds) and, for keys, the rotation policy. There is no key material and no
secret value, as in the ARM responses; the secret URIs are left out as well.

The story: governed vaults give every key an expiry date and a rotation policy that rotates it,
and every secret an expiry date. The legacy EHR vault and the dev vault hold keys that never
expire and are never rotated, and secrets that never expire.
"""

from __future__ import annotations

from azaudit.demo.arm import Doc, arm_list
from azaudit.demo.org import DEMO_NOW

_DAY = 86_400
_NOW = int(DEMO_NOW.timestamp())


def _attributes(created_days_ago: int, expires_in_days: int | None) -> Doc:
    created = _NOW - created_days_ago * _DAY
    attributes: Doc = {
        "enabled": True,
        "created": created,
        "updated": created,
        "recoveryLevel": "Recoverable",
    }
    if expires_in_days is not None:
        attributes["exp"] = _NOW + expires_in_days * _DAY
    return attributes


def _rotation_policy() -> Doc:
    return {
        "attributes": {
            "created": _NOW - 300 * _DAY,
            "updated": _NOW - 300 * _DAY,
            "expiryTime": "P1Y",
        },
        "lifetimeActions": [
            {"trigger": {"timeAfterCreate": "P330D"}, "action": {"type": "rotate"}},
            {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "notify"}},
        ],
    }


def vault_keys(vault_id: str, vault_name: str, location: str, *, governed: bool) -> Doc:
    """The `keys` list of a vault: one customer-managed key."""
    name = "cmk-data"
    props: Doc = {
        "attributes": _attributes(300, 65 if governed else None),
        "kty": "RSA-HSM",
        "keyOps": ["wrapKey", "unwrapKey"],
        "keySize": 3072,
        "keyUri": f"https://{vault_name}.vault.azure.net:443/keys/{name}",
    }
    if governed:
        props["rotationPolicy"] = _rotation_policy()
    return arm_list(
        [
            {
                "id": f"{vault_id}/keys/{name}",
                "name": name,
                "type": "Microsoft.KeyVault/vaults/keys",
                "location": location,
                "properties": props,
            }
        ]
    )


def vault_secrets(vault_id: str, location: str, *, governed: bool) -> Doc:
    """The `secrets` list of a vault: one application credential, values never included."""
    name = "app-db-connection"
    return arm_list(
        [
            {
                "id": f"{vault_id}/secrets/{name}",
                "name": name,
                "type": "Microsoft.KeyVault/vaults/secrets",
                "location": location,
                "properties": {"attributes": _attributes(120, 245 if governed else None)},
            }
        ]
    )
