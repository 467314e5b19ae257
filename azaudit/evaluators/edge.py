"""Edge TLS evaluators: the minimum TLS version Front Door and Application Gateway accept.

Front Door Standard/Premium sets it per custom domain (`customDomains`, `tlsSettings`);
Application Gateway per gateway (`sslPolicy`) and per SSL profile, either as a custom minimum or
through a predefined policy whose minimum Microsoft documents:
https://learn.microsoft.com/azure/application-gateway/application-gateway-ssl-policy-overview
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_list,
    optional_obj,
    optional_str,
    require_obj,
    require_str,
    strings,
)
from azaudit.evaluators.base import EvalContext, EvaluatorSpec, Outcome, Param, list_values
from azaudit.evaluators.common import RESOURCE_ONLY
from azaudit.models import Status

CUSTOM_DOMAINS = "customDomains"
FRONT_DOOR_PROFILE = "microsoft.cdn/profiles"
APPLICATION_GATEWAY = "microsoft.network/applicationgateways"
FRONT_DOOR_SKUS = frozenset({"standard_azurefrontdoor", "premium_azurefrontdoor"})

AFD_VERSIONS = {"tls10": 1.0, "tls12": 1.2, "tls13": 1.3}
"""`tlsSettings.minimumTlsVersion` of an AFD custom domain (AfdMinimumTlsVersion)."""

GATEWAY_VERSIONS = {"tlsv1_0": 1.0, "tlsv1_1": 1.1, "tlsv1_2": 1.2, "tlsv1_3": 1.3}
"""`minProtocolVersion` / `disabledSslProtocols` values of an Application Gateway SSL policy."""

PREDEFINED_MINIMUM = {
    "appgwsslpolicy20150501": 1.0,
    "appgwsslpolicy20170401": 1.1,
    "appgwsslpolicy20170401s": 1.2,
    "appgwsslpolicy20220101": 1.2,
    "appgwsslpolicy20220101s": 1.2,
}
"""Minimum protocol of each predefined policy (TLS policy overview, table of predefined
policies, verified 2026-12-04)."""


def _version(table: Mapping[str, float], value: str, at: str) -> float:
    found = table.get(value.lower())
    if found is None:
        raise ShapeError(at, f"one of {', '.join(sorted(table))}", repr(value))
    return found


def _front_door(ctx: EvalContext, minimum: float) -> Iterator[Outcome]:
    sku = require_str(ctx.resource, "sku.name", at="resource")
    if sku.lower() not in FRONT_DOOR_SKUS:
        yield Outcome(
            Status.NOT_APPLICABLE,
            "sku.name",
            sku,
            "an Azure Front Door Standard/Premium profile",
            f"{sku} is a CDN profile, not Azure Front Door Standard/Premium",
        )
        return
    domains = objects(list_values(ctx.own(CUSTOM_DOMAINS), CUSTOM_DOMAINS), at=CUSTOM_DOMAINS)
    expected = f"minimumTlsVersion TLS{str(minimum).replace('.', '')} or later on every domain"
    shown: dict[str, str] = {}
    weak: list[Outcome] = []
    for index, domain in enumerate(domains):
        at = f"customDomains[{domain.get('name') or index}].properties"
        props = require_obj(domain, "properties", at=at.rsplit(".", 1)[0])
        host = require_str(props, "hostName", at=at)
        # tlsSettings is required when a domain is created (AFDDomainHttpsParameters).
        tls = require_obj(props, "tlsSettings", at=at)
        value = require_str(tls, "minimumTlsVersion", at=f"{at}.tlsSettings")
        shown[host] = value
        if _version(AFD_VERSIONS, value, f"{at}.tlsSettings.minimumTlsVersion") < minimum:
            weak.append(
                Outcome(
                    Status.FAIL,
                    f"{at}.tlsSettings.minimumTlsVersion",
                    value,
                    expected,
                    f"custom domain {host} accepts {value}",
                    sub_item=host,
                )
            )
    yield from weak
    if weak:
        return
    if not domains:
        yield Outcome(
            Status.NOT_APPLICABLE,
            CUSTOM_DOMAINS,
            [],
            expected,
            "the profile has no custom domains",
        )
        return
    yield Outcome(
        Status.PASS,
        "customDomains[].properties.tlsSettings.minimumTlsVersion",
        shown,
        expected,
        f"{len(shown)} custom domain(s) require {', '.join(sorted(set(shown.values())))}",
    )


def _policy_minimum(policy: Mapping[str, Any], at: str) -> tuple[float, str]:
    """`(minimum TLS version, how it was determined)` of one SSL policy."""
    kind = optional_str(policy, "policyType", at=at)
    name = optional_str(policy, "policyName", at=at)
    custom = optional_str(policy, "minProtocolVersion", at=at)
    if (kind or "").lower() == "predefined" or (kind is None and name is not None):
        if name is None:
            raise ShapeError(f"{at}.policyName", "a predefined policy name", "absent")
        return _version(PREDEFINED_MINIMUM, name, f"{at}.policyName"), f"predefined {name}"
    if kind is not None and kind.lower() not in ("custom", "customv2"):
        raise ShapeError(f"{at}.policyType", "Predefined, Custom or CustomV2", repr(kind))
    if custom is not None:
        return _version(GATEWAY_VERSIONS, custom, f"{at}.minProtocolVersion"), f"custom {custom}"
    disabled = {
        d.lower()
        for d in strings(
            optional_list(policy, "disabledSslProtocols", at=at), at=f"{at}.disabledSslProtocols"
        )
    }
    if kind is None and disabled:
        enabled = [v for k, v in sorted(GATEWAY_VERSIONS.items()) if k not in disabled]
        if enabled:
            return min(enabled), f"disabledSslProtocols {', '.join(sorted(disabled))}"
    raise ShapeError(
        f"{at}.minProtocolVersion", "a predefined policy or a minimum protocol version", "absent"
    )


def _app_gateway(ctx: EvalContext, minimum: float) -> Iterator[Outcome]:
    props = require_obj(ctx.resource, "properties", at="resource")
    expected = f"SSL policy (and every SSL profile) with minimum TLS {minimum} or later"
    policy = optional_obj(props, "sslPolicy", at="properties")
    if policy is None:
        # Without a policy the gateway uses a default that depends on the API version it was
        # created with (AppGwSslPolicy20150501, TLS 1.0, before 2023-02-01): not knowable here.
        yield Outcome(
            Status.ERROR,
            "properties.sslPolicy",
            None,
            expected,
            "no SSL policy is set: the default depends on the API version the gateway was "
            "created with (TLS 1.0 before 2023-02-01); set a policy explicitly",
        )
        return
    policies: list[tuple[str, Mapping[str, Any], str]] = [
        ("sslPolicy", policy, "properties.sslPolicy")
    ]
    profiles = objects(optional_list(props, "sslProfiles", at="properties"), at="sslProfiles")
    for index, profile in enumerate(profiles):
        name = str(profile.get("name") or index)
        at = f"properties.sslProfiles[{name}].properties"
        own = optional_obj(profile, "properties.sslPolicy", at=at.rsplit(".", 1)[0])
        if own is not None:  # a profile without its own policy uses the gateway's
            policies.append((f"sslProfiles/{name}", own, f"{at}.sslPolicy"))
    observed: dict[str, str] = {}
    weak: list[Outcome] = []
    for item, each, at in policies:
        found, how = _policy_minimum(each, at)
        observed[item] = how
        if found < minimum:
            weak.append(
                Outcome(
                    Status.FAIL,
                    at,
                    how,
                    expected,
                    f"{item} ({how}) accepts TLS {found}",
                    sub_item=item,
                )
            )
    yield from weak
    if not weak:
        yield Outcome(
            Status.PASS,
            "properties.sslPolicy",
            observed,
            expected,
            "; ".join(f"{k}: {v}" for k, v in observed.items()),
        )


def _edge_min_tls(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    minimum = float(params.get("minimum", "1.2"))
    rtype = require_str(ctx.resource, "type", at="resource").lower()
    if rtype == FRONT_DOOR_PROFILE:
        yield from _front_door(ctx, minimum)
    elif rtype == APPLICATION_GATEWAY:
        yield from _app_gateway(ctx, minimum)
    else:
        raise ShapeError("resource.type", "a Front Door profile or an Application Gateway", rtype)


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "edge_min_tls",
        _edge_min_tls,
        {"minimum": Param((str,), required=False, doc='lowest acceptable TLS version ("1.2")')},
        RESOURCE_ONLY,
        "FAIL per Front Door custom domain or Application Gateway SSL policy/profile that "
        "accepts a TLS version below the minimum.",
    ),
)
