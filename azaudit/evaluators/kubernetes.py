"""AKS evaluators: who may use a cluster's API server, and from where.

Both read the cluster's Resource Graph row (the `managedClusters` ARM body), so they need no
collection beyond the inventory. Defaults of absent properties are Microsoft's documented ones:
https://learn.microsoft.com/rest/api/aks/managed-clusters/get#managedcluster
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    optional_bool,
    optional_list,
    optional_obj,
    require_bool,
    require_obj,
    strings,
)
from azaudit.evaluators.base import EvalContext, EvaluatorSpec, Outcome
from azaudit.evaluators.common import RESOURCE_ONLY
from azaudit.models import JSON, Status

BROADEST_PREFIX = 8
"""An authorized range wider than a /8 (IPv4) admits a large share of the internet."""


def _aks_entra_rbac(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when Kubernetes RBAC is on, Entra ID integration is configured and local accounts
    are disabled: only then is every API server request made by a named Entra identity.

    `enableRBAC` is always reported; `aadProfile` is absent on a cluster without Entra ID
    integration; `disableLocalAccounts` absent means false (local accounts on), per the REST
    reference above. Local accounts include the cluster-admin certificate that `az aks get-
    credentials --admin` hands out, which bypasses Entra ID and its MFA entirely.
    """
    props = require_obj(ctx.resource, "properties", at="resource")
    at = "properties"
    rbac = require_bool(props, "enableRBAC", at=at)
    aad = optional_obj(props, "aadProfile", at=at)
    local_off = optional_bool(props, "disableLocalAccounts", False, at=at)
    observed: dict[str, JSON] = {
        "enableRBAC": rbac,
        "aadProfile": None if aad is None else {"managed": aad.get("managed")},
        "disableLocalAccounts": local_off,
    }
    problems = []
    if not rbac:
        problems.append("Kubernetes RBAC is off (enableRBAC false)")
    if aad is None:
        problems.append("no Entra ID integration (aadProfile absent)")
    if local_off is not True:
        problems.append("local accounts are enabled (disableLocalAccounts not true)")
    expected = "enableRBAC true, aadProfile set, disableLocalAccounts true"
    if problems:
        yield Outcome(Status.FAIL, "properties", observed, expected, "; ".join(problems))
        return
    yield Outcome(
        Status.PASS,
        "properties",
        observed,
        expected,
        "Kubernetes RBAC with Entra ID integration; local accounts disabled",
    )


def _broad(prefix: str, at: str) -> bool:
    try:
        network = ipaddress.ip_network(prefix.strip(), strict=False)
    except ValueError as exc:
        raise ShapeError(at, "an IP address or CIDR range", repr(prefix)) from exc
    limit = BROADEST_PREFIX if network.version == 4 else BROADEST_PREFIX * 4
    return network.prefixlen < limit


def _aks_api_server_restricted(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS for a private cluster, or a public API server limited to authorized IP ranges.

    `apiServerAccessProfile` is absent on a public cluster without restrictions and
    `enablePrivateCluster` absent means false (REST reference above). An authorized range wider
    than a /8 (`0.0.0.0/0` included) restricts nothing that matters.
    """
    props = require_obj(ctx.resource, "properties", at="resource")
    at = "properties.apiServerAccessProfile"
    profile = optional_obj(props, "apiServerAccessProfile", at="properties")
    private = optional_bool(profile, "enablePrivateCluster", False, at=at) if profile else False
    ranges = (
        strings(optional_list(profile, "authorizedIPRanges", at=at), at=f"{at}.authorizedIPRanges")
        if profile
        else []
    )
    expected = "a private cluster, or authorizedIPRanges limited to known networks"
    if private is True:
        yield Outcome(
            Status.PASS,
            f"{at}.enablePrivateCluster",
            True,
            expected,
            "private cluster: the API server has no public endpoint",
        )
        return
    broad = [r for i, r in enumerate(ranges) if _broad(r, f"{at}.authorizedIPRanges[{i}]")]
    if not ranges:
        yield Outcome(
            Status.FAIL,
            f"{at}.authorizedIPRanges",
            [],
            expected,
            "the API server is public and accepts connections from any address",
        )
    elif broad:
        yield Outcome(
            Status.FAIL,
            f"{at}.authorizedIPRanges",
            ranges,
            expected,
            f"the API server is public and its authorized ranges include {', '.join(broad)}",
        )
    else:
        yield Outcome(
            Status.PASS,
            f"{at}.authorizedIPRanges",
            ranges,
            expected,
            f"the public API server accepts only {', '.join(ranges)}",
        )


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "aks_entra_rbac",
        _aks_entra_rbac,
        {},
        RESOURCE_ONLY,
        "PASS when an AKS cluster has Kubernetes RBAC, Entra ID integration and no local accounts.",
    ),
    EvaluatorSpec(
        "aks_api_server_restricted",
        _aks_api_server_restricted,
        {},
        RESOURCE_ONLY,
        "PASS for a private AKS cluster or a public API server limited to authorized IP ranges "
        "no wider than a /8.",
    ),
)
