"""Tenant-level logging evaluators: export of the Microsoft Entra ID activity logs.

Entra ID keeps sign-in and audit logs for 30 days at most (7 without a P1/P2 licence); only a
diagnostic setting of the tenant (`microsoft.aadiam/diagnosticSettings`, read at scope `/`)
sends them to a Log Analytics workspace, a storage account or an event hub. Each log category is
listed on its own with `enabled` (REST API 2017-04-01: `logs[].category`, `logs[].enabled`), and
one tenant may split them over several settings (sign-ins to a workspace, audit to storage).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    objects,
    optional_list,
    optional_str,
    require_bool,
    require_obj,
    require_str,
)
from azaudit.evaluators.base import EvalContext, EvaluatorSpec, Outcome, Param, list_values
from azaudit.evaluators.common import TENANT_ONLY
from azaudit.models import JSON, Status

ENTRA_DIAGNOSTIC_SETTINGS = "providers/microsoft.aadiam/diagnosticSettings"
ENTRA_DESTINATIONS = (
    "workspaceId",
    "storageAccountId",
    "eventHubAuthorizationRuleId",
    "serviceBusRuleId",
)
"""The destination properties of an Entra diagnostic setting; an empty string is no destination
(Microsoft's own example answers `"workspaceId": ""`)."""


def _entra_logs_exported(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when every required category is enabled in a diagnostic setting with a destination.

    The categories may be exported by different settings. A category enabled only in a setting
    without a destination, or present but disabled, is not exported.
    """
    source = str(params.get("source", ENTRA_DIAGNOSTIC_SETTINGS))
    required = [str(c) for c in params["categories"]]
    settings = objects(list_values(ctx.graph(source), source), at=source)
    exported: dict[str, list[str]] = {c.lower(): [] for c in required}
    disabled: dict[str, list[str]] = {c.lower(): [] for c in required}
    observed: dict[str, JSON] = {}
    no_destination: list[str] = []
    for index, setting in enumerate(settings):
        name = optional_str(setting, "name", at=f"{source}[{index}]") or f"#{index + 1}"
        at = f"diagnosticSettings[name={name}].properties"
        props = require_obj(setting, "properties", at=f"diagnosticSettings[name={name}]")
        enabled: list[str] = []
        for i, log in enumerate(objects(optional_list(props, "logs", at=at), at=f"{at}.logs")):
            category = require_str(log, "category", at=f"{at}.logs[{i}]")
            if require_bool(log, "enabled", at=f"{at}.logs[{i}]"):
                enabled.append(category)
            elif category.lower() in disabled:
                disabled[category.lower()].append(name)
        destinations = [d for d in ENTRA_DESTINATIONS if optional_str(props, d, at=at)]
        observed[name] = {"enabled": list(enabled), "destinations": list(destinations)}
        if not destinations:
            if enabled:
                no_destination.append(name)
            continue
        for category in enabled:
            if category.lower() in exported:
                exported[category.lower()].append(name)
    expected = (
        f"{', '.join(required)} each enabled in a Microsoft Entra diagnostic setting with a "
        "destination (Log Analytics workspace, storage account or event hub)"
    )
    missing = [c for c in required if not exported[c.lower()]]
    if not missing:
        routes = "; ".join(
            f"{c} by {', '.join(repr(n) for n in exported[c.lower()])}" for c in required
        )
        yield Outcome(Status.PASS, "diagnosticSettings", observed, expected, f"exported: {routes}")
        return
    if not settings:
        message = "no Microsoft Entra diagnostic setting exists: sign-in and audit logs expire"
    else:
        reasons = []
        for category in missing:
            off = disabled[category.lower()]
            reasons.append(
                f"{category} (disabled in {', '.join(repr(n) for n in off)})" if off else category
            )
        message = f"not exported: {', '.join(reasons)}"
        if no_destination:
            message += (
                f"; {', '.join(repr(n) for n in no_destination)} "
                f"{'has' if len(no_destination) == 1 else 'have'} no destination"
            )
    yield Outcome(Status.FAIL, "diagnosticSettings", observed, expected, message)


SPECS = (
    EvaluatorSpec(
        "entra_logs_exported",
        _entra_logs_exported,
        {
            "categories": Param((list,), doc="Entra log categories that must each be exported"),
            "source": Param((str,), required=False, doc="the tenant diagnostic settings source"),
        },
        TENANT_ONLY,
        "PASS when every listed Entra log category is enabled in a tenant diagnostic setting "
        "that has a destination (one setting or several).",
    ),
)
