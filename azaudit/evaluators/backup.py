"""Backup and recoverability evaluators, and the generic multi-property condition evaluator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.base import (
    EvalContext,
    EvaluatorSpec,
    MissingData,
    Outcome,
    Param,
    list_values,
    passed,
)
from azaudit.evaluators.common import (
    ALL_TARGETS,
    RESOURCE_ONLY,
    SOURCE_PARAM,
    document,
    search,
    show_value,
)
from azaudit.models import JSON, Status

PROTECTED_ITEMS = "backupProtectedItems"
VAULTS = "Microsoft.RecoveryServices/vaults"


# -- property_conditions -------------------------------------------------------------------------


def _same(a: JSON, b: JSON) -> bool:
    """Case-insensitive equality that also treats `true` and "True" alike (ARM mixes both)."""
    return show_value(a).strip("'").lower() == show_value(b).strip("'").lower()


def _condition_applies(condition: Mapping[str, Any], resource_type: str) -> bool:
    types = condition.get("types")
    if types is None:
        return True
    if not isinstance(types, list):
        raise ValueError("condition 'types' must be a list")
    return resource_type.lower() in {str(t).lower() for t in types}


def _check_condition(condition: Mapping[str, Any], value: JSON) -> tuple[bool, str]:
    """`(ok, expected text)` for one condition."""
    if "allowed" in condition:
        allowed = condition["allowed"]
        if not isinstance(allowed, list) or not allowed:
            raise ValueError("condition 'allowed' must be a non-empty list")
        expected = " or ".join(show_value(v) for v in allowed)
        return value is not None and any(_same(value, v) for v in allowed), expected
    if "minimum" in condition:
        minimum = condition["minimum"]
        if isinstance(minimum, bool) or not isinstance(minimum, int | float):
            raise ValueError("condition 'minimum' must be a number")
        also = list(condition.get("also_allowed") or [])
        expected = f">= {minimum}" + "".join(f" or {show_value(v)}" for v in also)
        number_ok = (
            isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum
        )
        return number_ok or any(_same(value, v) for v in also if value is not None), expected
    raise ValueError("a condition needs 'allowed' or 'minimum'")


def _property_conditions(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    conditions = params["conditions"]
    doc = document(ctx, params.get("source"))
    resource_type = str(ctx.resource.get("type", ""))
    applicable = []
    for condition in conditions:
        if not isinstance(condition, Mapping) or not isinstance(condition.get("path"), str):
            raise ValueError("each condition must be a mapping with a 'path'")
        if _condition_applies(condition, resource_type):
            applicable.append(condition)
    if not applicable:
        yield Outcome(
            Status.NOT_APPLICABLE, "", None, "", f"no condition applies to {resource_type}"
        )
        return
    observed: dict[str, JSON] = {}
    expectations = []
    problems = []
    for condition in applicable:
        path = condition["path"]
        value = search(path, doc)
        ok, expected = _check_condition(condition, value)
        observed[path] = value
        expectations.append(f"{path} {expected}")
        if not ok:
            problems.append(f"{path} is {show_value(value)} (expected {expected})")
    paths = ", ".join(observed)
    shown: JSON = next(iter(observed.values())) if len(observed) == 1 else observed
    if problems:
        message = "; ".join(problems)
    else:
        message = ", ".join(f"{p} is {show_value(v)}" for p, v in observed.items())
    yield Outcome(passed(not problems), paths, shown, "; ".join(expectations), message)


# -- VM backup protection ------------------------------------------------------------------------


def _vm_backup_protected(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    vm_id = str(ctx.resource["id"]).lower()
    accepted = {str(s).lower() for s in params.get("accepted_states", ["Protected", "IRPending"])}
    expected = (
        f"a protected item of a Recovery Services vault in state {' or '.join(sorted(accepted))}"
    )
    vaults = ctx.resources_of_type(VAULTS, subscription_id=ctx.subscription_id)
    unknown: list[MissingData] = []
    for vault in vaults:
        vault_id = str(vault["id"])
        try:
            items = list_values(ctx.detail(vault_id, PROTECTED_ITEMS), PROTECTED_ITEMS)
        except MissingData as missing:
            unknown.append(missing)
            continue
        for item in items:
            props = item.get("properties")
            if not isinstance(props, Mapping):
                raise ValueError(f"protected item {item.get('id')!r} has no properties")
            source = str(props.get("sourceResourceId") or props.get("virtualMachineId") or "")
            if source.lower() != vm_id:
                continue
            state = props.get("protectionState")
            vault_name = str(vault.get("name"))
            observed = {"vault": vault_name, "protectionState": state}
            if state is None:
                yield Outcome(
                    Status.ERROR,
                    "protectionState",
                    observed,
                    expected,
                    f"backed up by vault {vault_name!r} but its protection state is not reported",
                )
                return
            ok = str(state).lower() in accepted
            message = (
                f"backed up by vault {vault_name!r} (protection state {state})"
                if ok
                else f"vault {vault_name!r} holds the VM but its protection state is {state}: "
                "no new backups are taken"
            )
            yield Outcome(passed(ok), "protectionState", observed, expected, message)
            return
    if unknown:
        raise unknown[0]
    searched = [str(v.get("name")) for v in vaults]
    message = (
        "no Recovery Services vault exists in the subscription"
        if not vaults
        else f"not a protected item of any vault ({', '.join(searched)})"
    )
    yield Outcome(Status.FAIL, "protectedItems[sourceResourceId]", None, expected, message)


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "property_conditions",
        _property_conditions,
        {
            "conditions": Param(
                (list,),
                doc="[{path, allowed: [..]} or {path, minimum, also_allowed}; optional types]",
            ),
            "source": SOURCE_PARAM,
        },
        ALL_TARGETS,
        "PASS when every applicable condition holds (values compare case-insensitively).",
    ),
    EvaluatorSpec(
        "vm_backup_protected",
        _vm_backup_protected,
        {"accepted_states": Param((list,), required=False, doc="protection states that count")},
        RESOURCE_ONLY,
        "PASS when a Recovery Services vault of the subscription protects the VM.",
    ),
)
