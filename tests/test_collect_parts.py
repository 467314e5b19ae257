"""The collector's parts on their own: clouds, pacing, the read-only guard, the plan, errors."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path

import pytest
from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.rest import HttpRequest

from azaudit.collect.auth import token_claims
from azaudit.collect.clouds import CLOUDS, resolve_endpoints
from azaudit.collect.doctor import IdentityKind, _identity
from azaudit.collect.fetch import arm_next_link, clean, describe_status
from azaudit.collect.pipeline import (
    PACING_KEY,
    BlockedRequestError,
    PrepareRequestPolicy,
    pacing_key,
)
from azaudit.collect.plan import build_plan, graph_item_url, graph_url
from azaudit.collect.throttle import Pacer, ThrottleSettings, parse_hms, spacing_for_remaining
from azaudit.errors import InputError
from azaudit.models import TargetKind
from azaudit.sources import DIAGNOSTIC_SETTINGS, find_source
from tests.catalogue_support import builtin_catalogue

# -- clouds -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cloud", "arm", "graph", "authority"),
    [
        (
            "AzureCloud",
            "https://management.azure.com",
            "https://graph.microsoft.com",
            "https://login.microsoftonline.com",
        ),
        (
            "AzureUSGovernment",
            "https://management.usgovcloudapi.net",
            "https://graph.microsoft.us",
            "https://login.microsoftonline.us",
        ),
        (
            "AzureChinaCloud",
            "https://management.chinacloudapi.cn",
            "https://microsoftgraph.chinacloudapi.cn",
            "https://login.chinacloudapi.cn",
        ),
    ],
)
def test_each_cloud_has_its_endpoints_and_scopes(
    cloud: str, arm: str, graph: str, authority: str
) -> None:
    endpoints = resolve_endpoints(cloud, environ={})
    assert (endpoints.arm, endpoints.graph, endpoints.authority) == (arm, graph, authority)
    assert endpoints.arm_scope == f"{arm}/.default"
    assert endpoints.graph_scope == f"{graph}/.default"
    assert not endpoints.custom
    assert resolve_endpoints(cloud.lower(), environ={}) == endpoints


def test_environment_overrides_endpoints_but_not_token_audiences(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    endpoints = resolve_endpoints(
        "AzureUSGovernment",
        environ={
            "AZAUDIT_ARM_ENDPOINT": "https://127.0.0.1:8443/",
            "AZAUDIT_GRAPH_ENDPOINT": "https://127.0.0.1:8443/graph",
            "AZAUDIT_AUTHORITY_HOST": "https://127.0.0.1:8443",
            "AZAUDIT_CA_BUNDLE": str(bundle),
            "REQUESTS_CA_BUNDLE": "/nonexistent/ignored.pem",
        },
    )
    assert endpoints.arm == "https://127.0.0.1:8443"
    assert endpoints.graph == "https://127.0.0.1:8443/graph"
    assert endpoints.arm_scope == CLOUDS["AzureUSGovernment"].arm_scope
    assert endpoints.custom
    assert endpoints.ca_bundle == str(bundle)


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"AZAUDIT_ARM_ENDPOINT": "http://127.0.0.1:8080"}, "expected an absolute https:// URL"),
        ({"AZAUDIT_GRAPH_ENDPOINT": "graph.local"}, "expected an absolute https:// URL"),
        ({"AZAUDIT_ARM_ENDPOINT": "https://h/?x=1"}, "without query"),
        ({"SSL_CERT_FILE": "/nonexistent/ca.pem"}, "no such CA bundle file"),
    ],
)
def test_bad_overrides_are_input_errors(environ: dict[str, str], message: str) -> None:
    with pytest.raises(InputError, match=message):
        resolve_endpoints("AzureCloud", environ=environ)


def test_unknown_cloud_names_the_choices() -> None:
    with pytest.raises(InputError, match="AzureCloud, AzureUSGovernment, AzureChinaCloud"):
        resolve_endpoints("AzureGermanCloud", environ={})


# -- pacing -------------------------------------------------------------------------------------


def test_spacing_grows_as_the_read_budget_shrinks() -> None:
    settings = ThrottleSettings(low_watermark=25, refill_per_second=25.0, max_spacing=2.0)
    assert spacing_for_remaining(250, settings) == 0.0
    assert spacing_for_remaining(25, settings) == 0.0
    assert spacing_for_remaining(24, settings) == pytest.approx(0.04 * 25 / 24)
    assert spacing_for_remaining(5, settings) == pytest.approx(0.2)
    assert spacing_for_remaining(0, settings) == 1.0
    assert spacing_for_remaining(-3, ThrottleSettings(max_spacing=0.5)) == 0.5


def test_parse_hms() -> None:
    assert parse_hms("00:00:03") == 3.0
    assert parse_hms("01:02:03") == 3723.0
    assert parse_hms("bogus") is None
    assert parse_hms(None) is None


class _FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_pacer_spaces_requests_of_a_low_subscription_only() -> None:
    fake = _FakeTime()
    pacer = Pacer(ThrottleSettings(low_watermark=25), clock=fake.clock, sleep=fake.sleep)

    async def scenario() -> None:
        pacer.observe("sub-a", {"x-ms-ratelimit-remaining-subscription-reads": "5"})
        pacer.observe("sub-b", {"x-ms-ratelimit-remaining-subscription-reads": "11999"})
        for _ in range(3):
            await pacer.wait_turn("sub-a")
        await pacer.wait_turn("sub-b")

    asyncio.run(scenario())
    # First request at once, then 0.2 s apart; the healthy subscription never waits.
    assert fake.sleeps == [0.2, 0.2]
    assert pacer.spacing("sub-b") == 0.0


def test_pacer_releases_closely_spaced_requests_together_at_the_same_rate() -> None:
    now = 100.0
    wakes: list[float] = []

    async def sleep(seconds: float) -> None:  # the clock stands still while all reserve
        wakes.append(round(now + seconds, 6))

    pacer = Pacer(ThrottleSettings(low_watermark=50), clock=lambda: now, sleep=sleep)

    async def scenario() -> None:
        # 25 remaining of a 50 watermark: 80 ms apart (12.5 requests/s).
        pacer.observe("sub-a", {"x-ms-ratelimit-remaining-subscription-reads": "25"})
        await asyncio.gather(*(pacer.wait_turn("sub-a") for _ in range(10)))

    asyncio.run(scenario())
    assert pacer.spacing("sub-a") == pytest.approx(0.08)
    # The first goes at once; the other slots are 100.08, 100.16, ..., 100.72, each released at
    # the end of its 0.2 s window with the others of that window: never before its slot, at
    # most 0.2 s after it, and as many per window as the spacing allows.
    assert wakes == [100.2, 100.2, 100.4, 100.4, 100.4, 100.6, 100.6, 100.8, 100.8]
    # Without a window every request wakes on its own.
    now, wakes[:] = 100.0, []
    pacer = Pacer(
        ThrottleSettings(low_watermark=50, batch_window=0.0), clock=lambda: now, sleep=sleep
    )
    asyncio.run(scenario())
    assert len(set(wakes)) == 9


def test_pacer_waits_for_the_resource_graph_quota_window() -> None:
    fake = _FakeTime()
    pacer = Pacer(clock=fake.clock, sleep=fake.sleep)

    async def scenario() -> None:
        pacer.observe(
            "arg", {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:03"}
        )
        await pacer.wait_turn("arg")
        pacer.observe(
            "arg", {"x-ms-user-quota-remaining": "14", "x-ms-user-quota-resets-after": "00:00:05"}
        )
        await pacer.wait_turn("arg")

    asyncio.run(scenario())
    assert fake.sleeps == [3.0]


def test_pacing_keys() -> None:
    base = "https://management.azure.com"
    assert pacing_key("arm", f"{base}/subscriptions/ABC/providers/x?api-version=1") == "abc"
    assert pacing_key("arm", f"{base}/subscriptions?api-version=1") == "tenant"
    assert pacing_key("arg", f"{base}/providers/Microsoft.ResourceGraph/resources") == "arg"
    assert pacing_key("graph", "https://graph.microsoft.com/v1.0/users") == "graph"


# -- the read-only guard ------------------------------------------------------------------------


def _request(method: str, url: str) -> PipelineRequest[HttpRequest]:
    return PipelineRequest(HttpRequest(method, url), PipelineContext(None))


ARM = "https://management.azure.com"
SITE = f"{ARM}/subscriptions/s/resourceGroups/r/providers/Microsoft.Web/sites/a"
VAULT = f"{ARM}/subscriptions/s/resourceGroups/r/providers/Microsoft.KeyVault/vaults/v"


@pytest.mark.parametrize(
    ("method", "url", "refused"),
    [
        ("GET", f"{ARM}/subscriptions/s?api-version=1", None),
        ("POST", f"{ARM}/subscriptions/s/providers/Microsoft.Security/register", "only reads"),
        ("PUT", f"{ARM}/subscriptions/s/resourceGroups/r", "only reads"),
        ("DELETE", f"{ARM}/subscriptions/s/resourceGroups/r", "only reads"),
        ("POST", f"{ARM}/providers/Microsoft.ResourceGraph/resources", "only reads"),
        ("POST", f"{SITE}/config/appsettings/list", "only reads"),
        ("GET", "https://evil.example/subscriptions/s?api-version=1", "configured endpoint"),
        ("GET", "http://management.azure.com/subscriptions/s", "configured endpoint"),
        ("GET", f"{SITE}/config/appsettings", "secret"),
        ("GET", f"{SITE}/config/connectionstrings", "secret"),
        ("GET", f"{VAULT}/secrets?api-version=2023-07-01", None),
        ("GET", f"{VAULT}/keys?api-version=2023-07-01", None),
        ("GET", f"{VAULT}/secrets/db-password", "secret"),
        ("GET", f"{VAULT}/secrets/db-password/versions", "secret"),
        ("GET", f"{VAULT}/keys/cmk/versions", "secret"),
        ("GET", f"{SITE}/config/authsettingsV2", "secret"),
        ("GET", f"{SITE}/config/web?api-version=1", None),
        ("GET", f"{ARM}/subscriptions/s/resourceGroups/secrets/providers/X/y/keys", None),
        # Spellings the fast path leaves to full URL parsing, decided as before.
        ("GET", "https://Management.Azure.com/subscriptions/s?api-version=1", None),
        ("GET", "https://management.azure.com.evil.example/subscriptions/s", "configured"),
        ("GET", "https://management.azure.com@evil.example/subscriptions/s", "configured"),
        ("GET", "https://management.azure.com:8443/subscriptions/s", "configured endpoint"),
        ("GET", f"{SITE}/config/app\tsettings", "secret"),
        ("GET", f"{SITE}/config/appsettings#fragment", "secret"),
        ("GET", f"{SITE}/config/appsettings?api-version=1#x", "secret"),
    ],
)
def test_guard_refuses_writes_other_hosts_and_secrets(
    method: str, url: str, refused: str | None
) -> None:
    guard = PrepareRequestPolicy("arm", "management.azure.com")
    if refused is None:
        guard.on_request(_request(method, url))
        return
    with pytest.raises(BlockedRequestError, match=refused):
        guard.on_request(_request(method, url))


@pytest.mark.parametrize(
    "url",
    [
        f"{ARM}/subscriptions/ABC/resourceGroups/r?api-version=1",
        "https://MANAGEMENT.azure.com/subscriptions/ABC/resourceGroups/r?api-version=1",
        f"{ARM}/subscriptions/ABC#x",
    ],
)
def test_guard_names_the_read_budget_however_the_url_is_spelled(url: str) -> None:
    request = _request("GET", url)
    PrepareRequestPolicy("arm", "management.azure.com").on_request(request)
    assert request.context[PACING_KEY] == "abc"


GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def test_every_request_gets_its_own_guid_shaped_request_id_and_each_run_other_ones() -> None:
    ids: list[str] = []
    for policy in (PrepareRequestPolicy("arm", "management.azure.com") for _ in range(2)):
        for _ in range(500):
            request = _request("GET", f"{ARM}/subscriptions/s?api-version=1")
            policy.on_request(request)
            ids.append(request.http_request.headers["x-ms-client-request-id"])
    assert all(GUID.match(value) for value in ids), ids[:3]
    assert len(set(ids)) == len(ids)
    assert ids[0][:24] != ids[500][:24]  # a run's random part differs from another run's


def test_guard_allows_the_resource_graph_query_post_only_when_told() -> None:
    url = "https://management.azure.com/providers/Microsoft.ResourceGraph/resources?api-version=1"
    PrepareRequestPolicy("arm", "management.azure.com", allow_query_post=True).on_request(
        _request("POST", url)
    )
    with pytest.raises(BlockedRequestError):
        PrepareRequestPolicy("arm", "management.azure.com", allow_query_post=True).on_request(
            _request("POST", "https://management.azure.com/subscriptions/s/providers/x/register")
        )


# -- the plan -----------------------------------------------------------------------------------


def test_plan_reads_diagnostic_settings_only_for_types_checks_target() -> None:
    catalogue = builtin_catalogue()
    plan = build_plan(catalogue.checks)
    diag = {s.name: types for s, types in plan.resource_sources}[DIAGNOSTIC_SETTINGS]
    wanted: set[str] = set()
    for check in catalogue.checks:
        if check.meta.target.value == "resource" and DIAGNOSTIC_SETTINGS in check.requires:
            wanted.update(t.lower() for t in check.meta.resource_types)
    assert wanted
    assert diag == wanted
    assert "microsoft.storage/storageaccounts/blobservices" not in diag
    sources_of_site = {s.name for s in plan.sources_for({"type": "Microsoft.Web/sites"})}
    assert "config/web" in sources_of_site
    assert not plan.sources_for({"type": "Microsoft.Unknown/things"})
    assert {s.name for s in plan.graph_sources} >= {"graph:users", "graph:directoryRoles"}
    assert DIAGNOSTIC_SETTINGS in {s.name for s in plan.subscription_sources}


def test_plan_without_diagnostic_checks_skips_diagnostic_settings() -> None:
    plan = build_plan(())
    assert DIAGNOSTIC_SETTINGS not in {s.name for s, _ in plan.resource_sources}
    assert {s.name for s, _ in plan.resource_sources} >= {"config/web", "firewallRules"}


def test_directory_roles_are_listed_plainly_and_members_read_per_role() -> None:
    roles = find_source(TargetKind.TENANT, "graph:directoryRoles")
    assert roles is not None and roles.per_item is not None
    # Never $expand: Graph returns at most 20 members that way, without a next link.
    assert graph_url("https://g", roles) == "https://g/v1.0/directoryRoles"
    assert graph_item_url("https://g", roles, "a1/b?c") == (
        "https://g/v1.0/directoryRoles/a1%2Fb%3Fc/members"
        "?$select=id,displayName,userPrincipalName,userType,accountEnabled"
    )
    users = find_source(TargetKind.TENANT, "graph:users")
    assert users is not None and users.per_item is None
    with pytest.raises(ValueError, match="no per-item relationship"):
        graph_item_url("https://g", users, "x")


# -- fetch helpers ------------------------------------------------------------------------------


def test_arm_next_link_keeps_its_query_and_sets_our_api_version() -> None:
    follow = arm_next_link("2022-04-01")
    link = (
        "https://h/subscriptions/s/providers/x"
        "?api-version=2019-01-01&$skiptoken=abc%3D&$filter=a eq 'b'"
    )
    url = follow(link)
    assert url.startswith("https://h/subscriptions/s/providers/x?")
    assert "api-version=2022-04-01" in url
    assert "2019-01-01" not in url
    assert "$skiptoken=abc%3D" in url
    assert "$filter=a eq 'b'" in url


def test_clean_removes_bearer_tokens_and_bounds_length() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ0In0.c2lnbmF0dXJl"
    text = clean(f"failed with Authorization: Bearer {jwt}\n and token {jwt}  " + "x" * 500)
    assert jwt not in text
    assert "\n" not in text
    assert len(text) <= 300
    assert text.endswith("...")


def test_status_descriptions() -> None:
    assert describe_status(403, "AuthorizationFailed", "no").startswith("access denied (HTTP 403")
    assert describe_status(409, "MissingSubscriptionRegistration", None).startswith(
        "resource provider not registered"
    )
    assert describe_status(503, None, None) == "service error; retries exhausted (HTTP 503)"


# -- identities (doctor advice) -----------------------------------------------------------------


def _jwt(claims: dict[str, str]) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"eyJhbGciOiJub25lIn0.{payload}.sig"


def test_identity_kind_from_token_claims() -> None:
    app = _identity(
        token_claims(_jwt({"appid": "app-1", "oid": "sp-1", "tid": "t", "idtyp": "app"}))
    )
    assert (app.kind, app.app_id, app.object_id) == (IdentityKind.APPLICATION, "app-1", "sp-1")
    user = _identity(
        token_claims(_jwt({"upn": "a@b.org", "scp": "user_impersonation", "oid": "u"}))
    )
    assert user.kind is IdentityKind.USER
    mi = _identity(
        token_claims(_jwt({"appid": "x", "xms_mirid": "/subscriptions/s/...", "oid": "m"}))
    )
    assert mi.kind is IdentityKind.MANAGED_IDENTITY
    assert _identity(token_claims("emu.opaque-token")).kind is IdentityKind.UNKNOWN
