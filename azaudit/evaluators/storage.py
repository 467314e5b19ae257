"""Storage account evaluators: recoverability, share soft delete, key age, service logs, log sinks.

Every field is read through the fail-closed access layer. Where Microsoft documents what an
absent property means, the default used is the one that fails (versioning and container soft
delete are off unless reported on); anything else missing is an ERROR, never a PASS.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_bool,
    optional_obj,
    optional_str,
    require_bool,
    require_int,
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
    shape_error_outcome,
)
from azaudit.evaluators.common import RESOURCE_ONLY
from azaudit.evaluators.monitoring import setting_gaps
from azaudit.models import JSON, Status
from azaudit.snapshot import subscription_scope
from azaudit.sources import DIAGNOSTIC_SETTINGS, STORAGE_SERVICES

BLOB_SERVICE = "blobServices/default"
FILE_SERVICE = "fileServices/default"


def _verdict(
    problems: list[str], unknown: list[ShapeError], path: str, observed: JSON, expected: str
) -> Outcome:
    """FAIL on any proven problem, else ERROR on any unreadable part, else PASS.

    A proven shortfall fails the check whatever the unreadable rest says (partial evidence);
    only when nothing is proven wrong does an unreadable part make the verdict ERROR.
    """
    if problems:
        extra = f" (also unreadable: {', '.join(u.path for u in unknown)})" if unknown else ""
        return Outcome(Status.FAIL, path, observed, expected, "; ".join(problems) + extra)
    if unknown:
        first = unknown[0]
        return Outcome(
            Status.ERROR,
            first.path,
            first.observed,
            first.expected,
            "cannot evaluate: unexpected data shape at "
            + "; ".join(f"{u.path}: expected {u.expected}, got {u.observed}" for u in unknown),
        )
    return Outcome(Status.PASS, path, observed, expected, "")


def _retention(
    props: Mapping[str, Any], name: str, minimum: int, *, absent_is_off: bool
) -> tuple[JSON, str | None]:
    """`(observed, problem)` of one `{enabled, days}` retention policy of a service.

    `absent_is_off` applies where the policy is omitted until configured and off by default
    (container soft delete: https://learn.microsoft.com/azure/storage/blobs/
    soft-delete-container-overview); otherwise an absent policy is a shape error.
    """
    at = f"properties.{name}"
    policy = (
        optional_obj(props, name, at="properties")
        if absent_is_off
        else require_obj(props, name, at="properties")
    )
    if policy is None:
        return None, f"{at} is not set (off by default)"
    if not require_bool(policy, "enabled", at=at):
        return {"enabled": False}, f"{at}.enabled is false"
    days = require_int(policy, "days", at=at)
    observed: JSON = {"enabled": True, "days": days}
    if days < minimum:
        return observed, f"{at}.days is {days} (expected >= {minimum})"
    return observed, None


def _storage_recoverability(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Blob and container soft delete, and versioning where the account can have it.

    Blob versioning is not supported on accounts with a hierarchical namespace (ADLS Gen2,
    `isHnsEnabled`: https://learn.microsoft.com/azure/storage/blobs/versioning-overview and
    storage-feature-support-in-storage-accounts), so such accounts are judged on soft delete for
    blobs and containers only. `isHnsEnabled` and `isVersioningEnabled` are omitted while false.
    """
    minimum = int(params.get("min_days", 7))
    hns = optional_bool(ctx.resource, "properties.isHnsEnabled", False, at="resource")
    doc = require_obj(ctx.own(BLOB_SERVICE), at=BLOB_SERVICE)
    props = require_obj(doc, "properties", at=BLOB_SERVICE)
    observed: dict[str, JSON] = {"isHnsEnabled": hns}
    problems: list[str] = []
    unknown: list[ShapeError] = []
    for name, absent_is_off in (
        ("deleteRetentionPolicy", False),
        ("containerDeleteRetentionPolicy", True),
    ):
        try:
            observed[name], problem = _retention(props, name, minimum, absent_is_off=absent_is_off)
        except ShapeError as error:
            unknown.append(error)
            continue
        if problem:
            problems.append(problem)
    expected = f"blob and container soft delete >= {minimum} days" + (
        "" if hns else " and blob versioning"
    )
    if not hns:
        try:
            versioning = optional_bool(props, "isVersioningEnabled", False, at="properties")
            observed["isVersioningEnabled"] = versioning
            if not versioning:
                problems.append("properties.isVersioningEnabled is not true")
        except ShapeError as error:
            unknown.append(error)
    outcome = _verdict(problems, unknown, BLOB_SERVICE, observed, expected)
    if outcome.status is Status.PASS:
        message = f"blob and container soft delete keep deleted data >= {minimum} days" + (
            "; versioning is not available on a hierarchical-namespace (ADLS Gen2) account"
            if hns
            else ", and versioning is on"
        )
        outcome = Outcome(Status.PASS, outcome.path, observed, expected, message)
    yield outcome


def _file_share_soft_delete(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Soft delete for file shares (`shareDeleteRetentionPolicy`) on for at least `min_days`."""
    minimum = int(params.get("min_days", 7))
    doc = require_obj(ctx.own(FILE_SERVICE), at=FILE_SERVICE)
    props = require_obj(doc, "properties", at=FILE_SERVICE)
    observed, problem = _retention(
        props, "shareDeleteRetentionPolicy", minimum, absent_is_off=False
    )
    expected = f"properties.shareDeleteRetentionPolicy enabled for >= {minimum} days"
    path = "properties.shareDeleteRetentionPolicy"
    if problem:
        yield Outcome(Status.FAIL, path, observed, expected, problem)
    else:
        yield Outcome(
            Status.PASS, path, observed, expected, f"deleted file shares are kept >= {minimum} days"
        )


def _parse_time(value: str, path: str, now: datetime) -> datetime:
    """An ISO 8601 timestamp that is not after the collection (`now`)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ShapeError(path, "an ISO 8601 timestamp", repr(value)) from None
    if moment.tzinfo is None:
        raise ShapeError(path, "a timestamp with a time zone", repr(value))
    if moment > now:
        raise ShapeError(path, "a time before the collection", value)
    return moment


def _storage_key_age(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Both access keys regenerated within `max_days`, where shared-key access is allowed.

    `allowSharedKeyAccess` null or absent means allowed ("The default value is null, which is
    equivalent to true": https://learn.microsoft.com/rest/api/storagerp/storage-accounts/
    get-properties), so only an explicit false makes the keys irrelevant.
    """
    max_days = int(params.get("max_days", 90))
    props = require_obj(ctx.resource, "properties", at="resource")
    allowed = optional_bool(props, "allowSharedKeyAccess", True, at="properties")
    expected = f"key1 and key2 regenerated within {max_days} days"
    if not allowed:
        yield Outcome(
            Status.NOT_APPLICABLE,
            "properties.allowSharedKeyAccess",
            False,
            expected,
            "shared-key access is disabled: the account keys cannot authorise requests",
        )
        return
    created = require_obj(props, "keyCreationTime", at="properties")
    ages: dict[str, JSON] = {}
    problems = []
    for key in ("key1", "key2"):
        path = f"properties.keyCreationTime.{key}"
        stamp = require_str(created, key, at="properties.keyCreationTime")
        age = (ctx.now - _parse_time(stamp, path, ctx.now)).days
        ages[key] = stamp
        if age > max_days:
            problems.append(f"{key} was created {age} days ago")
    path = "properties.keyCreationTime"
    if problems:
        message = (
            "; ".join(problems)
            + f" (expected within {max_days} days while shared-key access is allowed)"
        )
        yield Outcome(Status.FAIL, path, ages, expected, message)
    else:
        yield Outcome(Status.PASS, path, ages, expected, f"both keys are under {max_days} days old")


# -- storage service diagnostics -----------------------------------------------------------------

_SERVICES_BY_KIND = {
    "storagev2": STORAGE_SERVICES,
    "storage": STORAGE_SERVICES,
    "blobstorage": ("blob",),
    "blockblobstorage": ("blob",),
    "filestorage": ("file",),
}
"""The services each account kind has (https://learn.microsoft.com/azure/storage/common/
storage-account-overview#types-of-storage-accounts)."""


def _storage_service_diagnostics(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """One finding per service of the account: its diagnostic settings must log its requests.

    One setting may send every category, or several may share them (StorageRead to an archive
    account, StorageWrite and StorageDelete to a workspace): Azure allows several settings per
    resource, and each category counts only from a setting that has a destination.
    """
    required = [str(c) for c in params["categories"]]
    groups_ok = {str(g).lower() for g in params.get("category_groups_ok", [])}
    kind = require_str(ctx.resource, "kind", at="resource")
    services = _SERVICES_BY_KIND.get(kind.lower())
    if services is None:
        raise ShapeError("resource.kind", f"one of {', '.join(sorted(_SERVICES_BY_KIND))}", kind)
    accepted = f" (or category group {' / '.join(sorted(groups_ok))})" if groups_ok else ""
    expected = f"diagnostic settings with a destination enabling {', '.join(required)}{accepted}"
    for service in services:
        source = f"{service}Services/default/{DIAGNOSTIC_SETTINGS}"
        path = f"{service}Services/default/diagnosticSettings"
        try:
            settings = objects(list_values(ctx.own(source), source), at=source)
            observed: dict[str, JSON] = {}
            failures: list[str] = []
            sufficient = None
            covered: dict[str, str] = {}
            for setting in settings:
                name = str(setting.get("name") or setting.get("id"))
                enabled, problems = setting_gaps(setting, required, [], groups_ok)
                observed[name] = enabled
                if not problems and sufficient is None:
                    sufficient = name
                elif problems:
                    failures.append(f"{name!r} {', '.join(problems)}")
                for category in required:
                    if (
                        category not in covered
                        and not setting_gaps(setting, [category], [], groups_ok)[1]
                    ):
                        covered[category] = name
        except ShapeError as error:
            yield shape_error_outcome(error, sub_item=service)
            continue
        except MissingData as missing:
            yield Outcome(
                Status.ERROR,
                source,
                None,
                "data collected",
                f"cannot evaluate: {missing.source} at {missing.scope}: {missing.reason}",
                sub_item=service,
            )
            continue
        if sufficient is not None:
            yield Outcome(
                Status.PASS,
                path,
                observed,
                expected,
                f"{service} service: diagnostic setting {sufficient!r} sends "
                f"{', '.join(observed[sufficient])} to a destination",
                sub_item=service,
            )
        elif len(covered) == len(required):
            sharing = sorted(set(covered.values()))
            yield Outcome(
                Status.PASS,
                path,
                observed,
                expected,
                f"{service} service: diagnostic settings {', '.join(map(repr, sharing))} "
                f"together send {', '.join(required)} to destinations",
                sub_item=service,
            )
        else:
            detail = "no diagnostic setting exists" if not settings else "; ".join(failures)
            yield Outcome(
                Status.FAIL,
                path,
                observed,
                expected,
                f"{service} service requests are not logged: {detail}",
                sub_item=service,
            )


# -- storage accounts that keep the activity log -------------------------------------------------


def _activity_log_settings(
    ctx: EvalContext, account_id: str
) -> tuple[list[str], MissingData | None]:
    """The subscriptions whose activity log is exported to `account_id`, and any unreadable one.

    A subscription whose activity-log settings were not collected might export to this account,
    so it is reported back for the caller to turn into ERROR unless another already proves it.
    Every subscription's settings are read once per scan (`_ActivityLogSinks`), not once per
    storage account.
    """
    sinks = ctx.snapshot.derived(("activity-log-sinks",), lambda: _activity_log_sinks(ctx))
    return list(sinks.by_account.get(account_id.lower(), ())), sinks.missing


class _ActivityLogSinks(NamedTuple):
    by_account: dict[str, list[str]]
    """Storage account id (lower case) -> `<subscription> (<setting>)` of each export to it,
    in subscription and setting order."""
    missing: MissingData | None
    """The first subscription whose activity-log settings were not collected."""


def _activity_log_sinks(ctx: EvalContext) -> _ActivityLogSinks:
    """Where every subscription exports its activity log (a wrongly shaped setting raises
    `ShapeError`, and so does every account's evaluation that needs the index)."""
    by_account: dict[str, list[str]] = {}
    missing: MissingData | None = None
    for sub in ctx.snapshot.subscription_ids():
        scope = subscription_scope(sub)
        try:
            settings = objects(
                list_values(ctx.detail(scope, DIAGNOSTIC_SETTINGS), DIAGNOSTIC_SETTINGS),
                at=f"{scope}/{DIAGNOSTIC_SETTINGS}",
            )
        except MissingData as gap:
            missing = missing or gap
            continue
        for setting in settings:
            name = str(setting.get("name") or setting.get("id"))
            at = f"activityLogDiagnosticSettings[name={name}].properties"
            props = require_obj(setting, "properties", at=at.removesuffix(".properties"))
            target = optional_str(props, "storageAccountId", at=at)
            if target:
                by_account.setdefault(target.lower(), []).append(f"{sub} ({name})")
    return _ActivityLogSinks(by_account, missing)


def _log_store_protected(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """A storage account that receives activity logs allows no anonymous and no open network access.

    Accounts that receive no subscription's activity log are NOT_APPLICABLE; if some
    subscription's export settings are unreadable and no readable one names the account, the
    verdict is ERROR (the account might be a sink).
    """
    account_id = require_str(ctx.resource, "id", at="resource")
    sinks, missing = _activity_log_settings(ctx, account_id)
    expected = (
        "allowBlobPublicAccess false, and publicNetworkAccess Disabled or "
        "networkAcls.defaultAction Deny"
    )
    if not sinks:
        if missing is not None:
            raise missing
        yield Outcome(
            Status.NOT_APPLICABLE,
            "storageAccountId",
            None,
            expected,
            "no subscription exports its activity log to this account",
        )
        return
    props = require_obj(ctx.resource, "properties", at="resource")
    public_blob = require_bool(props, "allowBlobPublicAccess", at="properties")
    network = optional_str(props, "publicNetworkAccess", at="properties")
    acls = require_obj(props, "networkAcls", at="properties")
    default_action = require_str(acls, "defaultAction", at="properties.networkAcls")
    if default_action not in ("Allow", "Deny"):
        raise ShapeError("properties.networkAcls.defaultAction", "Allow or Deny", default_action)
    observed: dict[str, JSON] = {
        "allowBlobPublicAccess": public_blob,
        "publicNetworkAccess": network,
        "networkAcls.defaultAction": default_action,
    }
    problems = []
    if public_blob:
        problems.append("anonymous blob access is allowed (allowBlobPublicAccess true)")
    if network != "Disabled" and default_action != "Deny":
        problems.append(
            f"the account accepts traffic from any network (publicNetworkAccess "
            f"{network or 'not set'}, networkAcls.defaultAction {default_action})"
        )
    receives = f"receives the activity log of {', '.join(sinks)}"
    path = "properties.allowBlobPublicAccess, properties.networkAcls.defaultAction"
    if problems:
        yield Outcome(
            Status.FAIL, path, observed, expected, f"{receives}, but " + "; ".join(problems)
        )
    else:
        yield Outcome(
            Status.PASS,
            path,
            observed,
            expected,
            f"{receives}; no anonymous access and network access is restricted",
        )


_DAYS = Param((int,), required=False, doc="minimum retention in days (default 7)")

SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "storage_recoverability",
        _storage_recoverability,
        {"min_days": _DAYS},
        RESOURCE_ONLY,
        "PASS when blob and container soft delete keep data >= min_days and, on accounts "
        "without a hierarchical namespace, blob versioning is on.",
    ),
    EvaluatorSpec(
        "file_share_soft_delete",
        _file_share_soft_delete,
        {"min_days": _DAYS},
        RESOURCE_ONLY,
        "PASS when soft delete for file shares keeps deleted shares >= min_days.",
    ),
    EvaluatorSpec(
        "storage_key_age",
        _storage_key_age,
        {"max_days": Param((int,), required=False, doc="maximum key age in days (default 90)")},
        RESOURCE_ONLY,
        "PASS when both account keys are younger than max_days; N/A when shared key is off.",
    ),
    EvaluatorSpec(
        "storage_service_diagnostics",
        _storage_service_diagnostics,
        {
            "categories": Param((list,), doc="log categories every service must enable"),
            "category_groups_ok": Param(
                (list,), required=False, doc="category groups that cover all categories"
            ),
        },
        RESOURCE_ONLY,
        "One finding per blob/file/queue/table service: PASS when a diagnostic setting with a "
        "destination enables the categories.",
    ),
    EvaluatorSpec(
        "log_store_protected",
        _log_store_protected,
        {},
        RESOURCE_ONLY,
        "For accounts that receive activity logs: PASS when anonymous blob access is off and "
        "network access is restricted.",
    ),
)
