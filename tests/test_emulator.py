"""The local Azure emulator, driven by the real Azure SDK clients over HTTPS on 127.0.0.1.

Each test talks to the emulator the way azaudit's collector does: azure-identity for tokens,
azure-mgmt-* clients and azure-core pipelines for ARM, Resource Graph and Microsoft Graph, with
the emulator's CA passed explicitly (the machine's REQUESTS_CA_BUNDLE must not decide trust).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from azure.core import PipelineClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import (
    ClientAuthenticationError,
    DecodeError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceResponseError,
)
from azure.core.pipeline.policies import BearerTokenCredentialPolicy, RetryPolicy
from azure.core.rest import HttpRequest, HttpResponse
from azure.identity import ClientSecretCredential
from azure.mgmt.authorization import AuthorizationManagementClient
from azure.mgmt.resource.subscriptions import SubscriptionClient
from azure.mgmt.resourcegraph import ResourceGraphClient
from azure.mgmt.resourcegraph.models import QueryRequest, QueryRequestOptions
from azure.mgmt.security import SecurityCenter

from azaudit.emulator import Emulator, FaultKind, FaultPlan, FaultRule, LimitMode, kql
from azaudit.emulator.limits import ARG_QUOTA, ARM_BUCKET, Limits
from azaudit.errors import InputError
from azaudit.models import CollectionGap
from azaudit.snapshot import Snapshot, snapshot_from_json, write_snapshot
from benchmarks.synthetic import generate
from tests.catalogue_support import builtin_catalogue
from tests.web_support import without_web_scan

TENANT = "5f3c2a1e-8d4b-4c6a-9e2f-1a2b3c4d5e6f"
SUBS = [f"{i}{i}{i}{i}{i}{i}{i}{i}-0000-4000-8000-00000000000{i}" for i in range(1, 6)]
GAPPED_INVENTORY = SUBS[3]
DENIED_ROLES = SUBS[1]
ARM_SCOPE = "https://management.azure.com/.default"
GRAPH_SCOPE = "https://graph.microsoft.com/.default"


def _rid(sub: str, rtype: str, name: str, group: str = "rg-app") -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/{rtype}/{name}"


def _tenant_snapshot() -> Snapshot:
    resources: list[dict[str, Any]] = []
    for sub in SUBS:
        for i in range(7):
            rtype = "Microsoft.Web/sites" if i % 3 == 0 else "Microsoft.Storage/storageAccounts"
            name = f"app{i}" if i % 3 == 0 else f"st{i}"
            resources.append(
                {
                    "id": _rid(sub, rtype, name, f"rg-{i % 2}"),
                    "name": name,
                    "type": rtype.lower(),
                    "location": "eastus",
                    "properties": {"index": i},
                }
            )
    site = _rid(SUBS[0], "Microsoft.Web/sites", "app0", "rg-0")
    assignments = {
        "value": [
            {
                "id": f"/subscriptions/{SUBS[0]}/providers/Microsoft.Authorization/"
                f"roleAssignments/{i:08d}-0000-4000-8000-000000000000",
                "name": f"{i:08d}-0000-4000-8000-000000000000",
                "type": "Microsoft.Authorization/roleAssignments",
                "properties": {
                    "roleDefinitionId": f"/subscriptions/{SUBS[0]}/providers/"
                    "Microsoft.Authorization/roleDefinitions/acdd72a7-3385-48ef-bd42-f6fb9462c12b",
                    "principalId": f"{i:08d}-1111-4000-8000-000000000000",
                    "principalType": "User",
                    "scope": f"/subscriptions/{SUBS[0]}",
                },
            }
            for i in range(23)
        ]
    }
    pricing = {
        sub: {
            "value": [
                {
                    "id": f"/subscriptions/{sub}/providers/Microsoft.Security/pricings/{plan}",
                    "name": plan,
                    "type": "Microsoft.Security/pricings",
                    "properties": {"pricingTier": "Standard"},
                }
                for plan in ("VirtualMachines", "SqlServers", "StorageAccounts")
            ]
        }
        for sub in SUBS
    }
    details: dict[str, dict[str, Any]] = {
        f"/subscriptions/{SUBS[0]}": {
            "providers/Microsoft.Authorization/roleAssignments": assignments,
        },
        site: {"config/web": {"id": f"{site}/config/web", "properties": {"minTlsVersion": "1.2"}}},
    }
    for sub in SUBS:
        details.setdefault(f"/subscriptions/{sub}", {})["providers/Microsoft.Security/pricings"] = (
            pricing[sub]
        )
    users = [
        {"id": f"u{i:02d}", "displayName": f"User {i}", "userType": "Guest" if i % 5 else "Member"}
        for i in range(25)
    ]
    roles = [
        {"id": "r1", "displayName": "Global Administrator", "members": [{"id": "u00"}]},
        {"id": "r2", "displayName": "Security Reader", "members": []},
    ]
    return Snapshot(
        collected_at="2026-11-01T06:00:00Z",
        tool_version="0.1.0",
        cloud={"name": "AzureCloud"},
        tenant={"tenantId": TENANT, "displayName": "Contoso Health"},
        subscriptions=tuple(
            {"subscriptionId": s, "displayName": f"sub-{i}"} for i, s in enumerate(SUBS)
        ),
        resources=tuple(resources),
        details=details,
        graph={"graph:users": {"value": users}, "graph:directoryRoles": {"value": roles}},
        gaps=(
            CollectionGap(
                f"/subscriptions/{DENIED_ROLES}",
                "providers/Microsoft.Authorization/roleAssignments",
                "access denied",
                403,
                "AuthorizationFailed",
            ),
            CollectionGap(f"/subscriptions/{GAPPED_INVENTORY}", "resources", "denied", 403, None),
            CollectionGap(
                "/",
                "graph:policies/identitySecurityDefaultsEnforcementPolicy",
                "denied",
                403,
                "Authorization_RequestDenied",
            ),
        ),
    )


SNAPSHOT = _tenant_snapshot()


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator(SNAPSHOT, arm_page_size=2, graph_page_size=10) as emulator:
        yield emulator


def _credential(emulator: Emulator, secret: str = "s3cret") -> ClientSecretCredential:  # noqa: S107
    return ClientSecretCredential(
        TENANT,
        "client-id",
        secret,
        authority=emulator.base_url,
        disable_instance_discovery=True,
        connection_verify=emulator.ca_path,
    )


class _FixedToken:
    """A credential that always presents one token (to test the emulator's token checks)."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(self.token, int(time.time()) + 3600)


def _arm_kwargs(emulator: Emulator, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": emulator.base_url,
        "credential_scopes": [ARM_SCOPE],
        "connection_verify": emulator.ca_path,
        **extra,
    }


def _subscriptions(emulator: Emulator, credential: Any = None, **extra: Any) -> SubscriptionClient:
    return SubscriptionClient(credential or _credential(emulator), **_arm_kwargs(emulator, **extra))


def _graph_client(emulator: Emulator, credential: Any = None) -> PipelineClient[Any, Any]:
    return PipelineClient(
        base_url=emulator.graph_endpoint,
        policies=[
            RetryPolicy(),
            BearerTokenCredentialPolicy(credential or _credential(emulator), GRAPH_SCOPE),
        ],
        connection_verify=emulator.ca_path,
    )


def _get(client: Any, url: str) -> HttpResponse:
    response: HttpResponse = client.send_request(HttpRequest("GET", url))
    return response


def _routes(emulator: Emulator, route: str) -> list[Any]:
    return [r for r in emulator.requests if r.route == route]


# -- tokens ------------------------------------------------------------------------------------


def test_client_secret_credential_gets_a_token_that_arm_accepts(emu: Emulator) -> None:
    credential = _credential(emu)
    token = credential.get_token(ARM_SCOPE)
    assert token.token and token.expires_on > time.time() + 3000
    doc = _subscriptions(emu, credential).subscriptions.get(SUBS[0])
    assert doc.display_name == "sub-0"
    routes = {r.route for r in emu.requests}
    assert {"token.openid_configuration", "token.issue", "arm.subscriptions.get"} <= routes


def test_wrong_client_secret_is_refused() -> None:
    with Emulator(SNAPSHOT, client_secret="right") as emulator:
        with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
            _credential(emulator, secret="wrong").get_token(ARM_SCOPE)
        assert _credential(emulator, secret="right").get_token(ARM_SCOPE).token


def test_unknown_tenant_is_refused(emu: Emulator) -> None:
    credential = ClientSecretCredential(
        "00000000-dead-4000-8000-000000000000",
        "client-id",
        "secret",
        authority=emu.base_url,
        disable_instance_discovery=True,
        connection_verify=emu.ca_path,
    )
    with pytest.raises(ClientAuthenticationError):
        credential.get_token(ARM_SCOPE)


def test_request_without_token_gets_401(emu: Emulator) -> None:
    client: PipelineClient[Any, Any] = PipelineClient(
        base_url=emu.base_url, connection_verify=emu.ca_path
    )
    response = _get(client, f"{emu.base_url}/subscriptions?api-version=2022-12-01")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationFailed"
    assert "WWW-Authenticate" in response.headers


def test_unknown_or_wrong_audience_token_gets_401(emu: Emulator) -> None:
    with pytest.raises(ClientAuthenticationError) as forged:
        _subscriptions(emu, _FixedToken("not-a-token")).subscriptions.get(SUBS[0])
    assert forged.value.status_code == 401
    graph_token = _FixedToken(emu.issue_token("graph"))
    with pytest.raises(ClientAuthenticationError) as audience:
        _subscriptions(emu, graph_token).subscriptions.get(SUBS[0])
    assert audience.value.error is not None
    assert audience.value.error.code == "InvalidAuthenticationTokenAudience"
    response = _get(_graph_client(emu, graph_token), f"{emu.graph_endpoint}/v1.0/users")
    assert response.status_code == 200


# -- ARM ----------------------------------------------------------------------------------------


def test_subscription_list_follows_next_links_across_pages(emu: Emulator) -> None:
    emu.reset_stats()
    ids = [s.subscription_id for s in _subscriptions(emu).subscriptions.list()]
    assert ids == SUBS
    pages = _routes(emu, "arm.subscriptions.list")
    assert len(pages) == 3  # 5 subscriptions, 2 per page
    assert "$skiptoken" not in pages[0].query
    assert all("$skiptoken=" in p.query for p in pages[1:])


def test_detail_list_with_many_pages_through_authorization_client(emu: Emulator) -> None:
    emu.reset_stats()
    client = AuthorizationManagementClient(_credential(emu), SUBS[0], **_arm_kwargs(emu))
    assignments = list(client.role_assignments.list_for_subscription())
    assert len(assignments) == 23
    assert len({a.name for a in assignments}) == 23
    route = "arm.detail:providers/microsoft.authorization/roleassignments"
    assert len(_routes(emu, route)) == 12


def test_gap_with_403_is_replayed_as_authorization_failed(emu: Emulator) -> None:
    client = AuthorizationManagementClient(_credential(emu), DENIED_ROLES, **_arm_kwargs(emu))
    with pytest.raises(HttpResponseError) as caught:
        list(client.role_assignments.list_for_subscription())
    assert caught.value.status_code == 403
    assert caught.value.error is not None
    assert caught.value.error.code == "AuthorizationFailed"
    assert "Microsoft.Authorization/roleAssignments/read" in str(caught.value.error.message)


def test_unreadable_subscription_is_replayed_on_its_own_document() -> None:
    gap = CollectionGap(f"/subscriptions/{SUBS[4]}", "*", "denied", 403, "AuthorizationFailed")
    with Emulator(replace(SNAPSHOT, gaps=(gap,))) as emulator:
        client = _subscriptions(emulator)
        with pytest.raises(HttpResponseError) as caught:
            client.subscriptions.get(SUBS[4])
        assert caught.value.status_code == 403
        assert client.subscriptions.get(SUBS[3]).subscription_id == SUBS[3]
        assert [s.subscription_id for s in client.subscriptions.list()] == SUBS
        site = _get(client, f"{emulator.base_url}/subscriptions/{SUBS[4]}/resources")
        assert site.status_code == 403


def test_paths_are_case_insensitive_and_unknown_resources_are_404(emu: Emulator) -> None:
    client = _subscriptions(emu)
    site = _rid(SUBS[0], "Microsoft.Web/sites", "app0", "rg-0")
    mangled = site.upper().replace("/PROVIDERS/", "//providers//")
    response = _get(client, f"{emu.base_url}{mangled}/CONFIG/WEB?api-version=2099-01-01")
    assert response.status_code == 200
    assert response.json()["properties"]["minTlsVersion"] == "1.2"
    assert response.headers["x-ms-request-id"]
    assert int(response.headers["x-ms-ratelimit-remaining-subscription-reads"]) >= 0
    missing = _get(client, f"{emu.base_url}{site}/config/authsettings?api-version=2023-12-01")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ResourceNotFound"
    with pytest.raises(ResourceNotFoundError) as caught:
        client.subscriptions.get("99999999-0000-4000-8000-000000000000")
    assert caught.value.error is not None
    assert caught.value.error.code == "SubscriptionNotFound"


def test_resource_get_and_generic_resource_list(emu: Emulator) -> None:
    client = _subscriptions(emu)
    site = _rid(SUBS[0], "Microsoft.Web/sites", "app0", "rg-0")
    resource = _get(client, f"{emu.base_url}{site}?api-version=2023-12-01").json()
    assert resource["id"] == site and "subscriptionId" not in resource
    url = (
        f"{emu.base_url}/subscriptions/{SUBS[0]}/resources?api-version=2021-04-01"
        "&$filter=resourceType eq 'Microsoft.Web/sites'"
    )
    names: list[str] = []
    while url:
        body = _get(client, url).json()
        names += [item["name"] for item in body["value"]]
        assert all("properties" not in item for item in body["value"])
        url = body.get("nextLink")
    assert sorted(names) == ["app0", "app3", "app6"]


def test_unpaged_azure_lists_are_returned_whole(emu: Emulator) -> None:
    security = SecurityCenter(_credential(emu), SUBS[0], **_arm_kwargs(emu))
    plans = security.pricings.list(scope_id=f"subscriptions/{SUBS[0]}")
    # PricingList has no nextLink in Azure; paging it would silently lose plans.
    assert [p.name for p in plans.value] == ["VirtualMachines", "SqlServers", "StorageAccounts"]


def test_management_group_descendants_list_every_subscription(emu: Emulator) -> None:
    url = (
        f"{emu.base_url}/providers/Microsoft.Management/managementGroups/{TENANT}/descendants"
        "?api-version=2020-05-01"
    )
    client = _subscriptions(emu)
    names: list[str] = []
    while url:
        body = _get(client, url).json()
        names += [i["name"] for i in body["value"]]
        assert all(
            i["type"] == "Microsoft.Management/managementGroups/subscriptions"
            for i in body["value"]
        )
        url = body.get("nextLink")
    assert names == SUBS
    unknown = _get(
        client,
        f"{emu.base_url}/providers/Microsoft.Management/managementGroups/nope?api-version=2020-05-01",
    )
    assert unknown.status_code == 403


def test_writes_are_refused_and_counted() -> None:
    with Emulator(SNAPSHOT) as emulator:
        client = AuthorizationManagementClient(
            _credential(emulator), SUBS[0], **_arm_kwargs(emulator)
        )
        with pytest.raises(HttpResponseError) as caught:
            client.role_assignments.create(
                f"/subscriptions/{SUBS[0]}",
                "aaaaaaaa-0000-4000-8000-000000000000",
                {"properties": {"roleDefinitionId": "x", "principalId": "y"}},
            )
        assert caught.value.status_code == 403
        assert caught.value.error is not None
        assert caught.value.error.code == "AuthorizationFailed"
        assert emulator.write_attempts == 1
        assert emulator.stats().by_route["arm.write"] == 1


# -- Resource Graph ----------------------------------------------------------------------------


def _query(emulator: Emulator, text: str, subs: list[str] | None = None, **options: Any) -> Any:
    client = ResourceGraphClient(_credential(emulator), **_arm_kwargs(emulator))
    request = QueryRequest(
        subscriptions=subs, query=text, options=QueryRequestOptions(**options) if options else None
    )
    return client.resources(request)


def test_resource_graph_pages_with_skip_token(emu: Emulator) -> None:
    client = ResourceGraphClient(_credential(emu), **_arm_kwargs(emu))
    readable = [s for s in SUBS if s != GAPPED_INVENTORY]
    rows: list[dict[str, Any]] = []
    token: str | None = None
    pages = 0
    while True:
        response = client.resources(
            QueryRequest(
                subscriptions=SUBS,
                query="Resources | order by id asc",
                options=QueryRequestOptions(top=4, skip_token=token),
            )
        )
        pages += 1
        assert isinstance(response.data, list)
        rows += response.data
        assert response.total_records == 28
        token = response.skip_token
        if not token:
            break
    assert pages == 7
    ids = [r["id"] for r in rows]
    assert ids == sorted(ids) and len(set(ids)) == 28
    assert {r["subscriptionId"] for r in rows} == set(readable)
    assert all(r["tenantId"] == TENANT and "resourceGroup" in r for r in rows)


def test_resource_graph_query_subset(emu: Emulator) -> None:
    sites = _query(
        emu,
        "Resources | where type in~ ('Microsoft.Web/sites') and properties.index > 2 "
        "| project id, name | order by name desc",
        [SUBS[0]],
    )
    assert [r["name"] for r in sites.data] == ["app6", "app3"]
    assert set(sites.data[0]) == {"id", "name"}
    containers = _query(
        emu, "ResourceContainers | where type =~ 'microsoft.resources/subscriptions'"
    )
    assert sorted(r["subscriptionId"] for r in containers.data) == sorted(
        s for s in SUBS if s != GAPPED_INVENTORY
    )
    limited = _query(emu, "Resources | take 3", [SUBS[0]], top=2)
    assert limited.count == 2 and limited.result_truncated == "true" and not limited.skip_token
    table = _query(emu, "Resources | summarize count() by type", [SUBS[0]], result_format="table")
    counts = {row[0]: row[1] for row in table.data["rows"]}
    assert counts == {"microsoft.web/sites": 3, "microsoft.storage/storageaccounts": 4}


def test_resource_graph_rejects_queries_outside_the_subset(emu: Emulator) -> None:
    with pytest.raises(HttpResponseError) as caught:
        _query(emu, "Resources | extend x = 1")
    error = caught.value.error
    assert caught.value.status_code == 400 and error is not None
    assert error.code == "BadRequest"
    assert [d.code for d in error.details] == ["InvalidQuery", "ParserFailure"]
    assert "extend" in str(error.details[1].message)
    response = _get(
        _subscriptions(emu), f"{emu.base_url}/providers/Microsoft.ResourceGraph/resources"
    )
    assert response.status_code == 405


def test_resource_graph_reports_a_gapped_subscription(emu: Emulator) -> None:
    with pytest.raises(HttpResponseError) as caught:
        _query(emu, "Resources", [GAPPED_INVENTORY])
    assert caught.value.status_code == 403
    client = _subscriptions(emu)
    listing = _get(
        client, f"{emu.base_url}/subscriptions/{GAPPED_INVENTORY}/resources?api-version=2021-04-01"
    )
    assert listing.status_code == 403
    # A document the snapshot holds for that subscription is still served.
    pricing = _get(
        client,
        f"{emu.base_url}/subscriptions/{GAPPED_INVENTORY}/providers/Microsoft.Security/pricings"
        "?api-version=2024-01-01",
    )
    assert pricing.status_code == 200


def test_resource_graph_sends_quota_headers(emu: Emulator) -> None:
    client = _subscriptions(emu)
    request = HttpRequest(
        "POST",
        f"{emu.base_url}/providers/Microsoft.ResourceGraph/resources?api-version=2021-03-01",
        json={"query": "Resources | count", "subscriptions": [SUBS[0]]},
    )
    response = client.send_request(request)
    assert response.status_code == 200
    assert response.json()["data"] == [{"Count": 7}]
    assert int(response.headers["x-ms-user-quota-remaining"]) < ARG_QUOTA
    assert response.headers["x-ms-user-quota-resets-after"].count(":") == 2


# -- Microsoft Graph ---------------------------------------------------------------------------


def test_graph_pages_by_odata_next_link(emu: Emulator) -> None:
    client = _graph_client(emu)
    url: str | None = f"{emu.graph_endpoint}/v1.0/users?$select=id,displayName"
    users: list[dict[str, Any]] = []
    pages = 0
    while url:
        response = _get(client, url)
        assert response.status_code == 200 and response.headers["request-id"]
        body = response.json()
        users += body["value"]
        url = body.get("@odata.nextLink")
        pages += 1
        if url:
            assert url.startswith(emu.graph_endpoint) and "$skiptoken=" in url and "$select" in url
    assert pages == 3 and len(users) == 25
    assert all(set(u) == {"id", "displayName"} for u in users)
    top = _get(client, f"{emu.graph_endpoint}/v1.0/users?$top=999").json()
    assert len(top["value"]) == 25 and "@odata.nextLink" not in top


def test_graph_expand_filter_and_errors(emu: Emulator) -> None:
    client = _graph_client(emu)
    plain = _get(client, f"{emu.graph_endpoint}/v1.0/directoryRoles").json()["value"]
    assert all("members" not in role for role in plain)
    expanded = _get(client, f"{emu.graph_endpoint}/v1.0/directoryRoles?$expand=members").json()
    assert expanded["value"][0]["members"] == [{"id": "u00"}]
    members = _get(client, f"{emu.graph_endpoint}/v1.0/users?$filter=userType eq 'member'&$top=50")
    assert [u["id"] for u in members.json()["value"]] == ["u00", "u05", "u10", "u15", "u20"]
    unsupported = _get(client, f"{emu.graph_endpoint}/v1.0/users?$filter=any(x: x eq 1)")
    assert unsupported.status_code == 400
    denied = _get(
        client, f"{emu.graph_endpoint}/v1.0/policies/identitySecurityDefaultsEnforcementPolicy"
    )
    assert denied.status_code == 403
    error = denied.json()["error"]
    assert error["code"] == "Authorization_RequestDenied" and error["innerError"]["request-id"]
    written = client.send_request(
        HttpRequest("PATCH", f"{emu.graph_endpoint}/v1.0/users/u01", json={"accountEnabled": False})
    )
    assert written.status_code == 403
    organization = _get(client, f"{emu.graph_endpoint}/v1.0/organization").json()
    assert organization["value"] == [{"id": TENANT, "displayName": "Contoso Health"}]


def _role_members(count: int) -> list[dict[str, Any]]:
    return [
        {
            "@odata.type": "#microsoft.graph.user",
            "id": f"m{i:03d}",
            "displayName": f"Member {i}",
            "userPrincipalName": f"m{i}@example.org",
            "mail": f"m{i}@example.org",
        }
        for i in range(count)
    ]


def test_graph_role_members_page_while_expand_is_capped_at_20() -> None:
    members = _role_members(150)
    roles = [
        {"id": "r1", "displayName": "Global Administrator", "members": members},
        {"id": "r9", "displayName": "Members not recorded"},
    ]
    snapshot = replace(SNAPSHOT, graph={"graph:directoryRoles": {"value": roles}})
    with Emulator(snapshot, graph_page_size=7) as emulator:
        client = _graph_client(emulator)
        base = f"{emulator.graph_endpoint}/v1.0/directoryRoles"
        url: str | None = f"{base}/r1/members?$select=id,displayName"
        listed: list[dict[str, Any]] = []
        pages = 0
        while url:
            body = _get(client, url).json()
            listed += body["value"]
            url = body.get("@odata.nextLink")
            pages += 1
            assert url is None or ("$skiptoken=" in url and "$select=" in url)
        assert pages == 22
        assert [m["id"] for m in listed] == [m["id"] for m in members]
        assert all(set(m) == {"@odata.type", "id", "displayName"} for m in listed)
        # $expand returns the first 20 members, with nothing telling that more exist.
        expanded = _get(client, f"{base}?$expand=members").json()
        assert expanded["value"][0]["members"] == members[:20]
        one = _get(client, f"{base}/r1?$expand=members").json()
        assert len(one["members"]) == 20 and "@odata.nextLink" not in one
        # Members the snapshot does not record are unknown, not an empty list.
        assert _get(client, f"{base}/r9/members").status_code == 404
        assert _get(client, f"{base}/nope/members").status_code == 404
        routes = {r.route for r in emulator.requests}
    assert "graph:directoryroles/{id}/members" in routes


def test_graph_gap_on_directory_roles_is_replayed_on_the_member_lists() -> None:
    gap = CollectionGap("/", "graph:directoryRoles", "denied", 403, "Authorization_RequestDenied")
    held = replace(SNAPSHOT, gaps=(gap,))
    absent = replace(SNAPSHOT, graph={"graph:users": SNAPSHOT.graph["graph:users"]}, gaps=(gap,))
    for snapshot in (held, absent):
        with Emulator(snapshot) as emulator:
            client = _graph_client(emulator)
            for path in (
                "directoryRoles",
                "directoryRoles?$expand=members",
                "directoryRoles/r1/members",
            ):
                response = _get(client, f"{emulator.graph_endpoint}/v1.0/{path}")
                assert response.status_code == 403, path
                assert response.json()["error"]["code"] == "Authorization_RequestDenied"


# -- faults -------------------------------------------------------------------------------------


def _plan(*rules: FaultRule, latency_ms: float = 0.0) -> FaultPlan:
    return FaultPlan(latency_ms=latency_ms, rules=rules)


def test_throttling_is_retried_to_success_by_azure_core() -> None:
    rule = FaultRule(FaultKind.THROTTLE, route="arm.subscriptions.get", times=2, retry_after_ms=40)
    with Emulator(SNAPSHOT, _plan(rule)) as emulator:
        client = _subscriptions(emulator)
        started = time.monotonic()
        assert client.subscriptions.get(SUBS[1]).subscription_id == SUBS[1]
        elapsed = time.monotonic() - started
        attempts = _routes(emulator, "arm.subscriptions.get")
        assert [a.status for a in attempts] == [429, 429, 200]
        assert [a.fault for a in attempts] == ["throttle", "throttle", None]
        assert [a.error_code for a in attempts[:2]] == ["SubscriptionRequestsThrottled"] * 2
        # The budget is spent: later requests are answered normally.
        assert client.subscriptions.get(SUBS[2]).subscription_id == SUBS[2]
    assert 0.08 <= elapsed < 3.0


def test_retry_after_seconds_is_honoured() -> None:
    rule = FaultRule(
        FaultKind.THROTTLE, family="arm", path="/subscriptions/*", times=1, retry_after_s=1
    )
    with Emulator(SNAPSHOT, _plan(rule)) as emulator:
        client = _subscriptions(emulator)
        started = time.monotonic()
        client.subscriptions.get(SUBS[0])
        elapsed = time.monotonic() - started
        assert [r.status for r in _routes(emulator, "arm.subscriptions.get")] == [429, 200]
    assert 1.0 <= elapsed < 4.0


def test_throttling_forever_surfaces_429_with_arm_error() -> None:
    rule = FaultRule(FaultKind.THROTTLE, subscription=SUBS[2], retry_after_ms=5)
    with Emulator(SNAPSHOT, _plan(rule)) as emulator:
        client = _subscriptions(emulator, retry_total=2)
        with pytest.raises(HttpResponseError) as caught:
            client.subscriptions.get(SUBS[2])
        assert caught.value.status_code == 429
        assert caught.value.error is not None
        assert caught.value.error.code == "SubscriptionRequestsThrottled"
        assert client.subscriptions.get(SUBS[0]).subscription_id == SUBS[0]
        assert len(_routes(emulator, "arm.subscriptions.get")) == 4


def test_server_errors_then_success_per_request() -> None:
    rule = FaultRule(
        FaultKind.SERVER_ERROR,
        status=503,
        path="*/pricings",
        times=1,
        per_request=True,
        retry_after_ms=10,
    )
    with Emulator(SNAPSHOT, _plan(rule)) as emulator:
        security = SecurityCenter(_credential(emulator), SUBS[0], **_arm_kwargs(emulator))
        for sub in SUBS[:2]:
            plans = security.pricings.list(scope_id=f"subscriptions/{sub}")
            assert len(plans.value) == 3
        statuses = [
            r.status for r in _routes(emulator, "arm.detail:providers/microsoft.security/pricings")
        ]
        assert statuses == [503, 200, 503, 200]


def test_forbidden_fault_is_parsed_by_the_sdk() -> None:
    rule = FaultRule(FaultKind.FORBIDDEN, path_regex=r"/subscriptions/[^/]+$")
    with Emulator(SNAPSHOT, _plan(rule)) as emulator, pytest.raises(HttpResponseError) as caught:
        _subscriptions(emulator).subscriptions.get(SUBS[0])
    assert caught.value.status_code == 403
    assert caught.value.error is not None and caught.value.error.code == "AuthorizationFailed"


def test_missing_registration_never_leads_to_a_write() -> None:
    rule = FaultRule(FaultKind.NOT_REGISTERED, path="*/providers/microsoft.security/pricings")
    with Emulator(SNAPSHOT, _plan(rule)) as emulator:
        security = SecurityCenter(_credential(emulator), SUBS[0], **_arm_kwargs(emulator))
        with pytest.raises(HttpResponseError) as caught:
            security.pricings.list(scope_id=f"subscriptions/{SUBS[0]}")
        assert caught.value.status_code == 409
        assert caught.value.error is not None
        assert caught.value.error.code == "MissingSubscriptionRegistration"
        # azure-mgmt-core tried to register the provider: refused, and counted.
        register = [r for r in emulator.requests if r.family == "arm" and r.method == "POST"]
        assert [(r.path.rsplit("/", 2)[-2:], r.status) for r in register] == [
            (["Microsoft.Security", "register"], 403)
        ]
        assert emulator.write_attempts == 1


def test_hung_request_times_out_on_the_client() -> None:
    rule = FaultRule(FaultKind.TIMEOUT, route="arm.subscriptions.get", hang_seconds=30)
    with Emulator(SNAPSHOT, _plan(rule)) as emulator:
        client = _subscriptions(emulator, retry_total=0)
        started = time.monotonic()
        with pytest.raises(ServiceResponseError):
            client.subscriptions.get(SUBS[0], read_timeout=0.5)
        assert time.monotonic() - started < 5
    # Leaving the with-block stopped the emulator although a request was still hanging.


def test_dropped_connection_is_retried_and_malformed_json_is_an_error() -> None:
    drop = FaultRule(FaultKind.DISCONNECT, route="arm.subscriptions.get", times=1)
    bad = FaultRule(FaultKind.MALFORMED, route="arm.subscriptions.list", times=1)
    with Emulator(SNAPSHOT, _plan(drop, bad)) as emulator:
        client = _subscriptions(emulator, retry_backoff_factor=0.01)
        assert client.subscriptions.get(SUBS[0]).subscription_id == SUBS[0]
        assert [r.status for r in _routes(emulator, "arm.subscriptions.get")] == [0, 200]
        with pytest.raises(DecodeError):
            list(client.subscriptions.list())


def test_latency_is_added_per_request_without_serialising() -> None:
    with Emulator(SNAPSHOT, _plan(latency_ms=600)) as emulator:
        credential = _credential(emulator)
        credential.get_token(ARM_SCOPE)
        errors: list[BaseException] = []

        def fetch(sub: str) -> None:
            try:
                _subscriptions(emulator, credential).subscriptions.get(sub)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=fetch, args=(SUBS[i % 5],)) for i in range(8)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    assert not errors
    # 8 x 600 ms sequentially would be 4.8 s; the bound leaves room for client set-up on a busy
    # machine while still failing if the emulator serialised the delays.
    assert 0.6 <= elapsed < 3.0


def test_fault_plan_from_json() -> None:
    plan = FaultPlan.from_json(
        {
            "latency_ms": 100,
            "rules": [
                {"kind": "throttle", "path": "*/roleAssignments", "times": 2, "retry_after_ms": 20},
                {"kind": "server_error", "status": 500, "family": "graph"},
            ],
        }
    )
    assert plan.latency_ms == 100.0
    assert plan.rules[0].kind is FaultKind.THROTTLE and plan.rules[0].times == 2
    bad = [
        ({"rules": [{"kind": "explode"}]}, "rules[0].kind: expected one of"),
        ({"rules": [{"kind": "throttle", "times": "2"}]}, "rules[0].times: expected int"),
        ({"rules": [{"kind": "throttle", "colour": 1}]}, "unknown field 'colour'"),
        ({"rules": [{"kind": "server_error", "status": 404}]}, "must be 500, 502, 503 or 504"),
        ({"rules": [{"kind": "latency", "family": "dns"}]}, "family must be one of"),
        ({"latency_ms": -1}, "latency_ms: expected a number >= 0"),
        ([], "expected a JSON object"),
    ]
    for document, message in bad:
        with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
            FaultPlan.from_json(document, origin="plan.json")


# -- quotas -------------------------------------------------------------------------------------


def test_arm_read_bucket_and_resource_graph_quota() -> None:
    now = [0.0]
    limits = Limits(LimitMode.ENFORCE, clock=lambda: now[0])
    admitted = [limits.arm_read("sub").allowed for _ in range(ARM_BUCKET + 1)]
    assert admitted.count(True) == ARM_BUCKET and admitted[-1] is False
    refused = limits.arm_read("sub")
    assert refused.retry_after_s == 1
    assert refused.headers["x-ms-ratelimit-remaining-subscription-reads"] == "0"
    assert limits.arm_read("other").allowed  # buckets are per subscription
    now[0] = 1.0
    assert [limits.arm_read("sub").allowed for _ in range(26)].count(True) == 25
    assert [limits.arg_query().allowed for _ in range(ARG_QUOTA + 1)][-1] is False
    now[0] = 6.0
    assert limits.arg_query().allowed
    reporting = Limits(LimitMode.REPORT, clock=lambda: 0.0)
    assert all(reporting.arm_read(None).allowed for _ in range(ARM_BUCKET + 10))
    assert reporting.arm_read(None).headers["x-ms-ratelimit-remaining-tenant-reads"] == "0"


def test_enforced_quota_answers_429_with_retry_after() -> None:
    # A small budget refilled slowly, so that even a slow machine drains it (Azure: 250, 25/s).
    bucket = 20
    with Emulator(
        SNAPSHOT, limits=LimitMode.ENFORCE, arm_bucket=bucket, arm_refill_per_s=2.0
    ) as emulator:
        client: PipelineClient[Any, Any] = PipelineClient(
            base_url=emulator.base_url, connection_verify=emulator.ca_path
        )
        headers = {"Authorization": f"Bearer {emulator.access_token}"}
        url = f"{emulator.base_url}/subscriptions/{SUBS[0]}?api-version=2022-12-01"
        # The bucket refills while we drain it: send until refused (bounded).
        statuses: list[int] = []
        throttled = None
        for _ in range(4 * bucket):
            response = client.send_request(HttpRequest("GET", url, headers=headers))
            statuses.append(response.status_code)
            if response.status_code == 429:
                throttled = response
                break
    assert throttled is not None and statuses.count(200) >= bucket
    assert int(throttled.headers["Retry-After"]) >= 1
    assert throttled.json()["error"]["code"] == "SubscriptionRequestsThrottled"


# -- KQL subset ------------------------------------------------------------------------------------


def test_kql_subset_semantics_and_errors() -> None:
    rows = [
        {"id": "/b", "type": "A", "name": "x", "tags": {"env": "prod"}, "properties": {"n": 1}},
        {"id": "/a", "type": "b", "name": "y", "tags": {}, "properties": {"n": 5}},
    ]
    columns = ["id", "type", "name", "tags", "properties"]

    def run(text: str) -> list[dict[str, Any]]:
        return kql.parse(text).run(rows, columns)

    assert [r["id"] for r in run("Resources | order by id")] == ["/b", "/a"]  # KQL: desc
    assert [r["id"] for r in run("resources | sort by id asc")] == ["/a", "/b"]
    assert run("Resources | where tags['env'] == 'prod' | project id") == [{"id": "/b"}]
    assert run("Resources | where type !in~ ('a') | project n = properties.n") == [{"n": 5}]
    assert run("Resources | where name startswith 'X' or properties.n >= 5 | count") == [
        {"Count": 2}
    ]
    assert run("Resources | where not(isempty(tags.env)) | project name") == [{"name": "x"}]
    for text, position in [
        ("Resources | where colour == 'red'", 18),
        ("Resources | join (Resources) on id", 12),
        ("SecurityResources", 0),
        ("Resources | where name = 'x'", 23),
        ("Resources | take many", 17),
    ]:
        with pytest.raises(kql.QueryError) as caught:
            run(text)
        assert caught.value.position == position, text


# -- the demo, end to end -------------------------------------------------------------------------


def test_live_collection_of_the_served_demo_reproduces_its_findings() -> None:
    from azure.identity.aio import ClientSecretCredential as AsyncClientSecretCredential

    from azaudit.collect.live import collect_live
    from azaudit.collect.options import LiveDeps, LiveOptions
    from azaudit.demo import build_demo_snapshot
    from azaudit.engine import evaluate
    from azaudit.evaluators.base import ScanConfig
    from azaudit.reference import default_baa_list, default_us_regions

    demo = build_demo_snapshot()
    catalogue = builtin_catalogue()
    config = ScanConfig(
        baa_list=default_baa_list(),
        allowed_regions=frozenset(default_us_regions()),
        now=datetime(2026, 11, 1, 6, tzinfo=UTC),
    )
    with Emulator(demo) as emulator:

        def credential(endpoints: Any, tenant: str | None) -> Any:
            return AsyncClientSecretCredential(
                emulator.tenant_id or "common",
                "client-id",
                "secret",
                authority=emulator.base_url,
                disable_instance_discovery=True,
                connection_verify=emulator.ca_path,
            )

        collected = collect_live(
            LiveOptions(all_subscriptions=True),
            catalogue,
            deps=LiveDeps(credential_factory=credential, environ=emulator.environment()),
        )
        assert emulator.write_attempts == 0

    def verdicts(snapshot: Snapshot) -> set[tuple[str, str, str]]:
        findings = evaluate(snapshot, catalogue.checks, config)
        return {(f.check_id, f.resource_id.lower(), f.status.value) for f in findings}

    assert len(collected.resources) == len(demo.resources)
    # The demo also records a web scan of its sites; a collection without --web has none.
    assert verdicts(collected) == verdicts(without_web_scan(demo))


# -- command line and synthetic tenants ------------------------------------------------------------


def test_command_line_prints_where_to_connect(tmp_path: Path) -> None:
    path = tmp_path / "tenant.json"
    write_snapshot(SNAPSHOT, path)
    process = subprocess.Popen(
        [sys.executable, "-m", "azaudit.emulator", "--snapshot", str(path), "--latency-ms", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        lines = []
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl+C"):
                break
        text = "\n".join(lines)
        assert f"tenant {TENANT}, 5 subscription(s), 35 resource(s)" in text
        assert "export AZAUDIT_ARM_ENDPOINT='https://127.0.0.1:" in text
        assert "export AZAUDIT_CA_BUNDLE='" in text
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
        assert process.returncode == 0
        assert "stopped after 0 request(s)" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_command_line_rejects_bad_input_in_one_line(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"rules": [{"kind": "nope"}]}), encoding="utf-8")
    for args, message in [
        (["--snapshot", str(tmp_path / "missing.json")], "no such snapshot file"),
        (["--demo", "--faults", str(plan)], "rules[0].kind: expected one of"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "azaudit.emulator", *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and message in result.stderr


def test_synthetic_generator_builds_a_valid_snapshot_of_the_requested_size() -> None:
    snapshot = generate(subscriptions=2, resources=40, seed=3)
    assert len(snapshot.subscriptions) == 2 and len(snapshot.resources) == 80
    for sub in snapshot.subscription_ids():
        assert len(list(snapshot.resources_in(sub))) == 40
    again = snapshot_from_json(json.loads(json.dumps(snapshot.to_json())))
    assert again.to_json() == generate(subscriptions=2, resources=40, seed=3).to_json()
    assert generate(subscriptions=2, resources=40, seed=4).to_json() != again.to_json()
    for row in snapshot.resources:
        found, body = snapshot.detail(
            str(row["id"]), "providers/Microsoft.Insights/diagnosticSettings"
        )
        if row["type"] not in {"microsoft.compute/disks"}:
            assert found and isinstance(body["value"], list)
        if row["type"] == "microsoft.storage/storageaccounts":
            assert snapshot.detail(str(row["id"]), "blobServices/default")[0]
        if row["type"] == "microsoft.web/sites":
            assert snapshot.detail(str(row["id"]), "config/web")[0]
    with pytest.raises(ValueError, match="positive"):
        generate(subscriptions=0, resources=1)
