"""Backup and recoverability evaluators, and the generic multi-property condition evaluator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_obj,
    require_int,
    require_list,
    require_obj,
    require_str,
)
from azaudit.evaluators.base import (
    EvalContext,
    EvaluatorSpec,
    MissingData,
    Outcome,
    Param,
    list_values,
    passed,
    shape_error_outcome,
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
VAULT_CONFIG = "backupconfig/vaultconfig"
STORAGE_CONFIG = "backupstorageconfig/vaultstorageconfig"
BACKUP_POLICIES = "backupPolicies"


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


@dataclass(frozen=True, slots=True)
class _ProtectedItems:
    """One vault's protected items by the machine they protect (its id in lower case).

    Attributes:
        by_source: the first item per machine, with its position in the vault's list.
        unreadable: the position of the first item that cannot be read, and why. An item at or
            after it was never reached by a search from the top, so it is not indexed either.
    """

    by_source: Mapping[str, tuple[int, Mapping[str, Any]]]
    unreadable: tuple[int, Exception] | None

    def find(self, vm_id: str) -> Mapping[str, Any] | None:
        """The item protecting `vm_id`, as a search of the list from the top finds it.

        Raises:
            Exception: why an unreadable item before it (or before the end) cannot be read.
        """
        found = self.by_source.get(vm_id)
        if self.unreadable is not None and (found is None or self.unreadable[0] < found[0]):
            raise self.unreadable[1].with_traceback(None)
        return found[1] if found is not None else None


def _index_protected_items(items: list[Any]) -> _ProtectedItems:
    by_source: dict[str, tuple[int, Mapping[str, Any]]] = {}
    for position, item in enumerate(items):
        try:
            props = item.get("properties")
            if not isinstance(props, Mapping):
                raise ValueError(f"protected item {item.get('id')!r} has no properties")
            source = str(props.get("sourceResourceId") or props.get("virtualMachineId") or "")
        # Kept as raised (an item that is not an object gives AttributeError), so that the
        # finding reads as it would had the list been searched for this machine.
        except Exception as exc:
            return _ProtectedItems(by_source, (position, exc))
        by_source.setdefault(source.lower(), (position, item))
    return _ProtectedItems(by_source, None)


def _protected_items(ctx: EvalContext, vault_id: str) -> _ProtectedItems:
    """The vault's protected items, indexed once per scan rather than searched for every VM.

    Raises:
        MissingData: the vault's protected items were not collected.
        ValueError: the document is not a list response.
    """
    body = ctx.detail(vault_id, PROTECTED_ITEMS)
    key = (PROTECTED_ITEMS, vault_id.strip("/").lower())
    return ctx.snapshot.derived(
        key, lambda: _index_protected_items(list_values(body, PROTECTED_ITEMS))
    )


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
            protected = _protected_items(ctx, vault_id)
        except MissingData as missing:
            unknown.append(missing)
            continue
        item = protected.find(vm_id)
        if item is None:
            continue
        state = item["properties"].get("protectionState")
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


# -- Recovery Services vault security settings ---------------------------------------------------

_SOFT_DELETE_STATES = {"enabled": True, "alwayson": True, "disabled": False}
"""`softDeleteState` / `softDeleteFeatureState` values; `Invalid` means the service cannot say."""


def _soft_delete_state(ctx: EvalContext) -> tuple[str, str]:
    """`(path, state)` of the vault's soft delete, from the vault or its backup configuration.

    The vault resource reports `securitySettings.softDeleteSettings` only in newer API versions
    and Resource Graph rows of older vaults may lack it. Soft delete is on by default only for
    newly created vaults, and Microsoft does not document what an absent `securitySettings`
    means, so absence is no evidence either way: the state is then read from the vault's backup
    configuration (`softDeleteFeatureState`, https://learn.microsoft.com/azure/backup/
    use-restapi-update-vault-properties), and ERROR if that was not collected.
    """
    props = require_obj(ctx.resource, "properties", at="resource")
    settings = optional_obj(props, "securitySettings.softDeleteSettings", at="properties")
    if settings is not None:
        path = "properties.securitySettings.softDeleteSettings.softDeleteState"
        return path, require_str(settings, "softDeleteState", at=path.rsplit(".", 1)[0])
    config = require_obj(ctx.own(VAULT_CONFIG), at=VAULT_CONFIG)
    path = f"{VAULT_CONFIG}: properties.softDeleteFeatureState"
    return path, require_str(config, "properties.softDeleteFeatureState", at=VAULT_CONFIG)


def _vault_soft_delete(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    path, state = _soft_delete_state(ctx)
    expected = "Enabled or AlwaysON"
    enabled = _SOFT_DELETE_STATES.get(state.lower())
    if enabled is None:
        # `Invalid` (or an unknown value) is the service saying it does not know: not evidence.
        raise ShapeError(path, "Enabled, AlwaysON or Disabled", repr(state))
    if enabled:
        note = (
            ""
            if state.lower() == "alwayson"
            else " (it can still be switched off: AlwaysON is stronger)"
        )
        yield Outcome(Status.PASS, path, state, expected, f"soft delete is {state}{note}")
    else:
        yield Outcome(
            Status.FAIL,
            path,
            state,
            expected,
            "soft delete is Disabled: deleted backup data is purged immediately",
        )


_IMMUTABILITY_STATES = ("disabled", "unlocked", "locked")


def _vault_immutability(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Immutability `Unlocked` or `Locked` (`Disabled` fails; absence is no evidence: ERROR)."""
    path = "properties.securitySettings.immutabilitySettings.state"
    state = require_str(ctx.resource, path, at="resource")
    if state.lower() not in _IMMUTABILITY_STATES:
        raise ShapeError(path, "Disabled, Unlocked or Locked", repr(state))
    expected = "Unlocked or Locked"
    if state.lower() == "disabled":
        message = "immutability is Disabled: recovery points can be deleted before they expire"
        yield Outcome(Status.FAIL, path, state, expected, message)
        return
    note = "" if state.lower() == "locked" else " (Unlocked can still be disabled: lock it)"
    yield Outcome(Status.PASS, path, state, expected, f"immutability is {state}{note}")


# -- Recovery Services vault redundancy and retention --------------------------------------------

_DAYS_PER_UNIT = {"days": 1, "weeks": 7, "months": 30, "years": 365}
_LONG_TERM_TIERS = ("dailySchedule", "weeklySchedule", "monthlySchedule", "yearlySchedule")


def _retention_days(retention: Mapping[str, Any], at: str) -> int:
    """How long the most frequent recovery point of a retention policy is kept, in days.

    Long-term policies keep daily points for the daily tier (weekly-only schedules for the weekly
    tier, and so on); simple policies have one duration.
    """
    kind = require_str(retention, "retentionPolicyType", at=at)
    if kind == "LongTermRetentionPolicy":
        tier = next((t for t in _LONG_TERM_TIERS if retention.get(t) is not None), None)
        if tier is None:
            raise ShapeError(f"{at}.dailySchedule", "a retention schedule", "absent")
        duration_at = f"{at}.{tier}"
        duration = require_obj(retention, f"{tier}.retentionDuration", at=at)
    elif kind == "SimpleRetentionPolicy":
        duration_at = at
        duration = require_obj(retention, "retentionDuration", at=at)
    else:
        raise ShapeError(f"{at}.retentionPolicyType", "LongTerm- or SimpleRetentionPolicy", kind)
    count = require_int(duration, "count", at=f"{duration_at}.retentionDuration")
    unit = require_str(duration, "durationType", at=f"{duration_at}.retentionDuration")
    if unit.lower() not in _DAYS_PER_UNIT:
        raise ShapeError(
            f"{duration_at}.retentionDuration.durationType", "Days/Weeks/Months/Years", unit
        )
    return count * _DAYS_PER_UNIT[unit.lower()]


def _policy_retention(policy: Mapping[str, Any], at: str) -> int:
    """Retention of a policy's full backups (workload policies keep them in a `Full` sub-policy)."""
    props = require_obj(policy, "properties", at=at)
    retention = optional_obj(props, "retentionPolicy", at=f"{at}.properties")
    if retention is not None:
        return _retention_days(retention, f"{at}.properties.retentionPolicy")
    subs = objects(
        require_list(props, "subProtectionPolicy", at=f"{at}.properties"),
        at=f"{at}.properties.subProtectionPolicy",
    )
    for index, sub in enumerate(subs):
        sub_at = f"{at}.properties.subProtectionPolicy[{index}]"
        if require_str(sub, "policyType", at=sub_at) == "Full":
            return _retention_days(
                require_obj(sub, "retentionPolicy", at=sub_at), f"{sub_at}.retentionPolicy"
            )
    raise ShapeError(
        f"{at}.properties", "a retentionPolicy or a Full subProtectionPolicy", "neither"
    )


def _vault_redundancy_retention(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Backup storage redundancy, and the retention of every backup policy in use.

    One finding for the vault's storage type and one per policy that protects items
    (`protectedItemsCount` > 0), so a short policy or an unreadable one is reported on its own.
    """
    accepted = [str(a) for a in params.get("redundancy", ["GeoRedundant", "ZoneRedundant"])]
    minimum = int(params.get("min_days", 30))
    try:
        config = require_obj(ctx.own(STORAGE_CONFIG), at=STORAGE_CONFIG)
        storage_type = require_str(config, "properties.storageType", at=STORAGE_CONFIG)
    except ShapeError as error:
        yield shape_error_outcome(error, sub_item="redundancy")
    except MissingData as missing:
        yield _missing_outcome(missing, "redundancy")
    else:
        ok = storage_type.lower() in {a.lower() for a in accepted}
        message = (
            f"backup storage is {storage_type}"
            if ok
            else f"backup storage is {storage_type}: a regional outage loses every backup copy"
        )
        yield Outcome(
            passed(ok),
            f"{STORAGE_CONFIG}: properties.storageType",
            storage_type,
            " or ".join(accepted),
            message,
            sub_item="redundancy",
        )
    try:
        policies = objects(
            list_values(ctx.own(BACKUP_POLICIES), BACKUP_POLICIES), at=BACKUP_POLICIES
        )
    except MissingData as missing:
        yield _missing_outcome(missing, "policies")
        return
    expected = f"recovery points kept >= {minimum} days"
    for index, policy in enumerate(policies):
        name = str(policy.get("name") or index)
        at = f"{BACKUP_POLICIES}[name={name}]"
        sub_item = f"policy:{name}"
        try:
            count = require_int(policy, "properties.protectedItemsCount", at=at)
            if count == 0:
                continue
            days = _policy_retention(policy, at)
        except ShapeError as error:
            yield shape_error_outcome(error, sub_item=sub_item)
            continue
        ok = days >= minimum
        message = f"policy {name!r} ({count} protected items) keeps recovery points {days} days" + (
            "" if ok else f", under the required {minimum}"
        )
        yield Outcome(
            passed(ok),
            f"{at}.properties.retentionPolicy",
            days,
            expected,
            message,
            sub_item=sub_item,
        )


def _missing_outcome(missing: MissingData, sub_item: str) -> Outcome:
    return Outcome(
        Status.ERROR,
        missing.source,
        None,
        "data collected",
        f"cannot evaluate: {missing.source} at {missing.scope}: {missing.reason}",
        sub_item=sub_item,
    )


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
    EvaluatorSpec(
        "vault_soft_delete",
        _vault_soft_delete,
        {},
        RESOURCE_ONLY,
        "PASS when the vault's soft delete is Enabled or AlwaysON (read from the vault, or from "
        "its backup configuration when the vault reports no securitySettings).",
    ),
    EvaluatorSpec(
        "vault_immutability",
        _vault_immutability,
        {},
        RESOURCE_ONLY,
        "PASS when the vault's immutability is Unlocked or Locked.",
    ),
    EvaluatorSpec(
        "vault_redundancy_retention",
        _vault_redundancy_retention,
        {
            "redundancy": Param((list,), required=False, doc="accepted backup storage types"),
            "min_days": Param((int,), required=False, doc="minimum retention (default 30)"),
        },
        RESOURCE_ONLY,
        "One finding for backup storage redundancy and one per backup policy in use.",
    ),
)
