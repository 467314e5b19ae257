"""Key Vault key and secret evaluators, on metadata read through Azure Resource Manager.

The documents are the ARM lists `Microsoft.KeyVault/vaults/keys` and `/secrets`: names,
attributes and rotation policy only. Key material and secret values are never read (the ARM
secret list never returns `value`). Each key or secret is its own finding, so one unreadable item
is ERROR for itself only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from azaudit.evaluators.access import (
    ShapeError,
    objects,
    optional_list,
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
    Outcome,
    Param,
    list_values,
    shape_error_outcome,
)
from azaudit.evaluators.common import RESOURCE_ONLY
from azaudit.models import JSON, Status

_OBJECT_TYPES = {
    "keys": "Microsoft.KeyVault/vaults/keys",
    "secrets": "Microsoft.KeyVault/vaults/secrets",
}

Judge = Callable[[Mapping[str, Any], str], tuple[bool | None, str, JSON, str]]
"""`(ok, path, observed, message)` for one enabled item's `properties`; `ok` is None when the
item cannot be judged from what was collected (ERROR for that item)."""


def _each_enabled(ctx: EvalContext, source: str, expected: str, judge: Judge) -> Iterator[Outcome]:
    """One outcome per enabled key or secret of the vault; NOT_APPLICABLE when there is none."""
    if source not in _OBJECT_TYPES:
        raise ValueError(f"source must be one of {', '.join(_OBJECT_TYPES)}")
    items = objects(list_values(ctx.own(source), source), at=source)
    judged = 0
    for index, item in enumerate(items):
        at = f"{source}[{index}]"
        target: dict[str, str | None] = {"resource_type": _OBJECT_TYPES[source]}
        try:
            item_id = require_str(item, "id", at=at)
            name = require_str(item, "name", at=at)
            target.update(resource_id=item_id, resource_name=name)
            at = f"{source}[name={name}]"
            props = require_obj(item, "properties", at=at)
            # `enabled` is sent for every item (Microsoft's listKeys/listSecrets examples).
            if not require_bool(props, "attributes.enabled", at=f"{at}.properties"):
                continue
            judged += 1
            ok, path, observed, message = judge(props, f"{at}.properties")
        except ShapeError as error:
            judged += 1
            yield shape_error_outcome(error, **target)
            continue
        yield Outcome(
            Status.ERROR if ok is None else Status.PASS if ok else Status.FAIL,
            path,
            observed,
            expected,
            message,
            resource_id=target["resource_id"],
            resource_type=target["resource_type"],
            resource_name=target["resource_name"],
        )
    if not judged:
        yield Outcome(
            Status.NOT_APPLICABLE, source, None, expected, f"the vault holds no enabled {source}"
        )


def _expiry(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Every enabled key (or secret) has an expiry date (`attributes.exp`).

    `exp` is optional in the REST specification: an item without it never expires, so absence
    is the failing state, not a gap.
    """
    source = str(params["source"])
    noun = source.removesuffix("s")

    def judge(props: Mapping[str, Any], at: str) -> tuple[bool | None, str, JSON, str]:
        attributes = require_obj(props, "attributes", at=at)
        exp = attributes.get("exp")
        if exp is None:
            return False, "properties.attributes.exp", None, f"the {noun} never expires"
        expires = require_int(attributes, "exp", at=f"{at}.attributes")
        return True, "properties.attributes.exp", expires, f"the {noun} has an expiry date"

    yield from _each_enabled(ctx, source, "attributes.exp set", judge)


def _key_rotation_policy(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """Every enabled key has a rotation policy whose lifetime actions include `rotate`.

    `rotationPolicy` is "omitted if empty" (Key Vault RP specification, `KeyProperties`), but
    only a complete key document says so by its absence. Microsoft's `listKeys` example
    (2023-07-01) returns list items with `attributes` and `keyUri` only, without the `kty` every
    key has and its `getKey` example shows, just as the data-plane key list returns "only the base
    key identifier, attributes, and tags". An item without `kty` is such a summary: a missing
    policy there proves nothing, so it is ERROR naming the missing evidence, never FAIL or PASS.
    `action.type` is `rotate` or `notify`; anything else is an unknown shape.
    """

    def judge(props: Mapping[str, Any], at: str) -> tuple[bool | None, str, JSON, str]:
        path = "properties.rotationPolicy.lifetimeActions"
        policy = optional_obj(props, "rotationPolicy", at=at)
        if policy is None and optional_str(props, "kty", at=at) is None:
            return (
                None,
                "properties.rotationPolicy",
                None,
                "cannot evaluate: the key list returned a summary of the key (no kty, no "
                "rotationPolicy), which does not show whether a rotation policy exists; confirm "
                "with `az keyvault key rotation-policy show`",
            )
        if policy is None:
            return False, path, None, "the key has no rotation policy"
        actions = objects(
            optional_list(policy, "lifetimeActions", at=f"{at}.rotationPolicy"),
            at=f"{at}.rotationPolicy.lifetimeActions",
        )
        kinds = []
        for index, action in enumerate(actions):
            action_at = f"{at}.rotationPolicy.lifetimeActions[{index}]"
            kind = require_str(action, "action.type", at=action_at)
            if kind.lower() not in ("rotate", "notify"):
                raise ShapeError(f"{action_at}.action.type", "rotate or notify", kind)
            kinds.append(kind)
        if any(k.lower() == "rotate" for k in kinds):
            return True, path, kinds, "the rotation policy rotates the key automatically"
        shown = ", ".join(kinds) or "none"
        return False, path, kinds, f"the rotation policy has no rotate action ({shown})"

    yield from _each_enabled(ctx, "keys", "a rotation policy with a rotate lifetime action", judge)


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "kv_object_expiry",
        _expiry,
        {"source": Param((str,), doc="keys or secrets")},
        RESOURCE_ONLY,
        "One finding per enabled key or secret: PASS when attributes.exp is set.",
    ),
    EvaluatorSpec(
        "kv_key_rotation_policy",
        _key_rotation_policy,
        {},
        RESOURCE_ONLY,
        "One finding per enabled key: PASS when its rotation policy has a rotate action.",
    ),
)
