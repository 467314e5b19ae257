"""The bundled demo tenant (placeholder until the generator lands)."""

from __future__ import annotations

from azaudit.snapshot import Snapshot


def build_demo_snapshot() -> Snapshot:
    """The demo tenant as a snapshot."""
    sub = "11111111-1111-1111-1111-111111111111"
    return Snapshot(
        collected_at="2026-11-01T00:00:00Z",
        tool_version="0.1.0",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": "t", "displayName": "Demo"},
        subscriptions=({"subscriptionId": sub, "displayName": "demo"},),
        resources=(
            {
                "id": f"/subscriptions/{sub}/resourceGroups/r/providers/Microsoft.Storage/storageAccounts/a",
                "type": "Microsoft.Storage/storageAccounts",
                "name": "a",
                "location": "eastus",
                "properties": {"supportsHttpsTrafficOnly": False},
            },
        ),
        details={},
        graph={},
        gaps=(),
    )
