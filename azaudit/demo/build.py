"""Assembles the demo areas into one `Snapshot` (deterministic: no clock, no randomness)."""

from __future__ import annotations

from azaudit import __version__
from azaudit.demo import compute, databases, identity, monitoring, security, services, storage, web
from azaudit.demo.arm import Estate
from azaudit.demo.network import Network
from azaudit.demo.org import (
    COLLECTED_AT,
    SUBSCRIPTIONS,
    TENANT_ID,
    TENANT_NAME,
    subscription_document,
)
from azaudit.demo.tenant_settings import build as build_tenant_settings
from azaudit.demo.web_scan import with_recorded_web_scan
from azaudit.snapshot import Snapshot


def build_demo_snapshot() -> Snapshot:
    """The Northwind Regional Health demo tenant as a snapshot, identical on every call."""
    estate = Estate()
    network = Network(estate)
    network.build()
    storage.build(estate, network)
    compute.build(estate, network)
    databases.build(estate, network)
    web.build(estate, network)
    services.build(estate, network)
    security.build(estate, network)
    monitoring.build(estate)
    build_tenant_settings(estate)
    for scope, docs in identity.rbac_documents().items():
        for source, body in docs.items():
            estate.doc(scope, source, body)
    snapshot = Snapshot(
        collected_at=COLLECTED_AT,
        tool_version=__version__,
        cloud={
            "name": "AzureCloud",
            "resourceManager": "https://management.azure.com/",
            "microsoftGraph": "https://graph.microsoft.com/",
            "activeDirectory": "https://login.microsoftonline.com/",
        },
        tenant={"tenantId": TENANT_ID, "displayName": TENANT_NAME},
        subscriptions=tuple(subscription_document(s) for s in SUBSCRIPTIONS),
        resources=tuple(sorted(estate.resources, key=lambda r: str(r["id"]).lower())),
        details=estate.details,
        graph=identity.graph_documents(),
        gaps=tuple(estate.gaps),
    )
    return with_recorded_web_scan(snapshot)
