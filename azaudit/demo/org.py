"""Who the demo organisation is: tenant, subscriptions, fixed ids and the collection clock.

Northwind Regional Health is fictional. Every domain ends in `.example` (RFC 2606), every public
IP address is in a documentation range (RFC 5737) and every GUID is either written out here or
derived from a name with `guid()`, so that two builds are byte-identical.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

TENANT_ID = "5c1f0e7a-9b2d-4e63-8a41-7d0c3b9e2f15"
TENANT_NAME = "Northwind Regional Health"
DOMAIN = "northwindhealth.example"

COLLECTED_AT = "2026-11-01T06:00:00Z"
"""When the demo snapshot was 'collected'; every relative date in the demo counts back from it."""

DEMO_NOW = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
"""`COLLECTED_AT` as a datetime: the reference time to evaluate the demo at."""

_NAMESPACE = uuid.UUID("0d6a2b8e-4f1c-4b7a-9e35-2c8f6a1d0b47")

ROOT_MANAGEMENT_GROUP = "/providers/Microsoft.Management/managementGroups/mg-northwind"
PRODUCTION_MANAGEMENT_GROUP = "/providers/Microsoft.Management/managementGroups/mg-nw-production"


def guid(name: str) -> str:
    """A stable, realistic-looking GUID for a named demo object (UUID v5 of the name)."""
    return str(uuid.uuid5(_NAMESPACE, name))


def hexid(name: str, length: int = 32) -> str:
    """A stable lowercase hex string (the suffixes Azure appends to generated names)."""
    return uuid.uuid5(_NAMESPACE, name).hex[:length]


def days_ago(days: float, *, fraction: bool = False) -> str:
    """ISO 8601 UTC time `days` before collection; ARM style (7 decimals) with `fraction`."""
    moment = DEMO_NOW - timedelta(days=days)
    if fraction:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, slots=True)
class Subscription:
    """One demo subscription and the defaults its resources share."""

    key: str
    subscription_id: str
    display_name: str
    environment: str
    phi: bool
    cost_center: str
    owner_team: str

    @property
    def scope(self) -> str:
        """`/subscriptions/<id>`."""
        return f"/subscriptions/{self.subscription_id}"

    def tags(self, **extra: str) -> dict[str, str]:
        """The tags Northwind's landing-zone policy stamps on every resource, plus `extra`."""
        tags = {
            "environment": self.environment,
            "data-classification": "phi" if self.phi else "internal",
            "cost-center": self.cost_center,
            "owner": self.owner_team,
        }
        tags.update(extra)
        return tags


PLATFORM = Subscription(
    key="platform",
    subscription_id="2a7d4c19-83e5-4f0b-b6a2-91c8e5d30f41",
    display_name="nw-platform-shared",
    environment="production",
    phi=False,
    cost_center="CC-1000",
    owner_team="cloud-platform",
)
CLINICAL = Subscription(
    key="clinical",
    subscription_id="6e3b9f02-5d71-4a8c-9c14-0b7e2a6d8c52",
    display_name="nw-prod-clinical",
    environment="production",
    phi=True,
    cost_center="CC-4410",
    owner_team="clinical-apps",
)
PORTAL = Subscription(
    key="portal",
    subscription_id="b84c1e6d-2f90-4d3a-8e57-6a1f9c0b4e63",
    display_name="nw-prod-patient-portal",
    environment="production",
    phi=True,
    cost_center="CC-4520",
    owner_team="digital-front-door",
)
DEV = Subscription(
    key="dev",
    subscription_id="f1d50a8b-7c3e-4b26-a09d-3e8b5c2f7a74",
    display_name="nw-dev-analytics",
    environment="development",
    phi=False,
    cost_center="CC-7300",
    owner_team="data-science",
)

SUBSCRIPTIONS: tuple[Subscription, ...] = (PLATFORM, CLINICAL, PORTAL, DEV)


def subscription_document(sub: Subscription) -> dict[str, object]:
    """The subscription as ARM's Subscriptions - List returns it (2022-12-01)."""
    return {
        "id": sub.scope,
        "subscriptionId": sub.subscription_id,
        "tenantId": TENANT_ID,
        "displayName": sub.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "EnterpriseAgreement_2014-09-01",
            "spendingLimit": "Off",
        },
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "tags": {
            "environment": sub.environment,
            "hipaa-phi": "true" if sub.phi else "false",
            "cost-center": sub.cost_center,
        },
    }


# -- well-known ids shared across areas -----------------------------------------------------------

SECURITY_WORKSPACE_ID = (
    f"{PLATFORM.scope}/resourceGroups/rg-nw-management-eus/providers/"
    "Microsoft.OperationalInsights/workspaces/law-nw-security-eus"
)
ACTIVITY_ARCHIVE_ID = (
    f"{PLATFORM.scope}/resourceGroups/rg-nw-management-eus/providers/"
    "Microsoft.Storage/storageAccounts/stnwactlogarchive"
)
DEV_WORKSPACE_ID = (
    f"{DEV.scope}/resourceGroups/rg-dev-analytics-eus/providers/"
    "Microsoft.OperationalInsights/workspaces/law-nw-dev-eus"
)
