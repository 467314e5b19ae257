"""Key rotation policy evidence: a summary list item is not proof that a key has no policy."""

from __future__ import annotations

from typing import Any

from azaudit.casebook import CASE_SUBSCRIPTION
from azaudit.models import Status
from azaudit.snapshot import subscription_scope
from tests.evaluator_support import builtin_check, run_check

SUB = subscription_scope(CASE_SUBSCRIPTION)
VAULT = f"{SUB}/resourceGroups/rg-case/providers/Microsoft.KeyVault/vaults/case-resource"


def _key(name: str, **props: Any) -> dict[str, Any]:
    """A key as Microsoft's listKeys example (2023-07-01) shows it, plus `props`."""
    return {
        "id": f"{VAULT}/keys/{name}",
        "name": name,
        "type": "Microsoft.KeyVault/vaults/keys",
        "location": "westus",
        "properties": {
            "attributes": {
                "enabled": True,
                "created": 1596493796,
                "updated": 1596493796,
                "recoveryLevel": "Purgeable",
            },
            "keyUri": f"https://case-resource.vault.azure.net:443/keys/{name}",
            **props,
        },
    }


def _run(*keys: dict[str, Any]) -> dict[str, Any]:
    body = {"details": {"keys": {"value": list(keys)}}}
    findings = run_check(builtin_check("kv_key_rotation_policy"), body)
    return {f.resource_name: f for f in findings}


FULL = {"kty": "RSA", "keyOps": ["wrapKey", "unwrapKey"], "keySize": 2048}
ROTATE = {
    "lifetimeActions": [
        {"trigger": {"timeAfterCreate": "P90D"}, "action": {"type": "rotate"}},
    ]
}


def test_summary_list_item_without_policy_is_an_error_not_a_fail() -> None:
    found = _run(_key("sample-key-name-1"), _key("sample-key-name-2"))
    assert len(found) == 2
    for finding in found.values():
        assert finding.status is Status.ERROR
        assert "rotation-policy show" in finding.message
        assert finding.property_path == "properties.rotationPolicy"


def test_complete_key_document_without_policy_fails() -> None:
    (finding,) = _run(_key("cmk", **FULL)).values()
    assert finding.status is Status.FAIL
    assert finding.message == "the key has no rotation policy"


def test_policy_in_a_summary_item_is_judged() -> None:
    found = _run(
        _key("rotated", rotationPolicy=ROTATE),
        _key("notified", rotationPolicy={"lifetimeActions": [{"action": {"type": "notify"}}]}),
    )
    assert found["rotated"].status is Status.PASS
    assert found["notified"].status is Status.FAIL


def test_key_type_of_the_wrong_type_is_an_error() -> None:
    (finding,) = _run(_key("odd", kty=3)).values()
    assert finding.status is Status.ERROR
    assert "kty" in finding.property_path
