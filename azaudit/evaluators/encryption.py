"""Encryption evaluators: unattached disks, TLS settings (VM and scale set disks: compute.py).

The property-set evaluators (`properties_meet`, `server_parameters_meet`) let one check demand
several settings at once (a cache's non-TLS port closed *and* its TLS floor at 1.2; a database
server's `require_secure_transport` on *and* its minimum protocol at TLS 1.2) and report every
setting that falls short in one finding, with each observed value as evidence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from azaudit.evaluators.base import EvalContext, EvaluatorSpec, Outcome, Param, list_values
from azaudit.evaluators.common import (
    ALL_TARGETS,
    RESOURCE_ONLY,
    SOURCE_PARAM,
    as_object,
    document,
    resource_properties,
    search,
    show_value,
    tls_number,
    tls_shortfall,
)
from azaudit.models import JSON, Status

CUSTOMER_KEY_TYPES = (
    "EncryptionAtRestWithCustomerKey",
    "EncryptionAtRestWithPlatformAndCustomerKeys",
)
ATTACHED_DISK_STATES = frozenset({"attached", "reserved"})


_BARE_TLS1 = re.compile(r"tls\s*v?1", re.IGNORECASE)


def _tls(value: JSON) -> float | None:
    """A TLS version as a number; PostgreSQL's bare `TLSv1` means TLS 1.0."""
    if isinstance(value, str) and _BARE_TLS1.fullmatch(value.strip()):
        return 1.0
    return tls_number(value)


def _text(value: JSON) -> str:
    """Comparable form of a setting: `False`, `"false"` and `"FALSE"` are the same."""
    return str(value).lower()


# -- virtual machines ---------------------------------------------------------------------------


def _unattached_disk(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """An unattached disk must be encrypted with a key the organisation controls, or be removed.

    Attached disks (state Attached, or Reserved for a deallocated VM) are not this check's concern
    and give NOT_APPLICABLE. A forgotten disk holding PHI is media awaiting disposal: with a
    customer-managed key (or Azure Disk Encryption) the organisation can render it unreadable by
    revoking the key; with a platform key only deletion does that.
    """
    props = resource_properties(ctx)
    state = props.get("diskState")
    if not isinstance(state, str) or not state:
        raise ValueError("properties.diskState: expected the disk state (e.g. 'Unattached')")
    allowed = [str(t) for t in params.get("encryption_types", CUSTOMER_KEY_TYPES)]
    enc = props.get("encryption") or {}
    enc_type = as_object(enc, "properties.encryption").get("type")
    expected = "attached, or encrypted with a customer-managed key (" + ", ".join(allowed) + ")"
    if state.lower() in ATTACHED_DISK_STATES:
        yield Outcome(
            Status.NOT_APPLICABLE, "properties.diskState", state, expected, f"disk is {state}"
        )
        return
    ade = props.get("encryptionSettingsCollection")
    ade_on = isinstance(ade, Mapping) and ade.get("enabled") is True
    observed = {"diskState": state, "encryption.type": enc_type, "ade": ade_on}
    if enc_type is not None and str(enc_type).lower() in {a.lower() for a in allowed}:
        message = f"disk is {state} and encrypted with a customer-managed key ({enc_type})"
        yield Outcome(Status.PASS, "properties.encryption.type", observed, expected, message)
    elif ade_on:
        message = f"disk is {state} and encrypted by Azure Disk Encryption with a Key Vault key"
        yield Outcome(
            Status.PASS, "properties.encryptionSettingsCollection", observed, expected, message
        )
    else:
        yield Outcome(
            Status.FAIL,
            "properties.encryption.type",
            observed,
            expected,
            f"disk is {state} and has no customer-managed key (encryption.type is "
            f"{show_value(enc_type)}): delete it once its retention is settled, or encrypt it "
            "with a customer-managed key",
        )


# -- property sets and server parameters ------------------------------------------------------


def _judge(
    observed: Mapping[str, JSON],
    equals: Mapping[str, Any],
    tls_floor: Mapping[str, Any],
    absent: Mapping[str, str],
) -> list[str]:
    """Every way the observed settings fall short, as short sentences.

    `absent` maps a setting that was not found to the sentence explaining it.
    """
    problems: list[str] = []
    for name, allowed in equals.items():
        if not isinstance(allowed, list) or not allowed:
            raise ValueError(f"equals[{name!r}]: expected a non-empty list of allowed values")
        value = observed.get(name)
        wanted = " or ".join(show_value(a) for a in allowed)
        if name in absent:
            problems.append(f"{absent[name]}; expected {wanted}")
        elif value is None:
            problems.append(f"{name} is not set; expected {wanted}")
        elif _text(value) not in {_text(a) for a in allowed}:
            problems.append(f"{name} is {show_value(value)}; expected {wanted}")
    for name, minimum in tls_floor.items():
        floor = _tls(minimum)
        if floor is None:
            raise ValueError(f"tls_floor[{name!r}]: {minimum!r} is not a TLS version")
        value = observed.get(name)
        wanted = f"TLS {floor:.1f} or later"
        if name in absent:
            problems.append(f"{absent[name]}; expected {wanted}")
        elif (shortfall := tls_shortfall(name, value, _tls(value), floor)) is not None:
            problems.append(f"{shortfall}; expected {wanted}")
    return problems


def _expected_text(equals: Mapping[str, Any], tls_floor: Mapping[str, Any]) -> str:
    parts = [f"{k} = {' or '.join(show_value(a) for a in v)}" for k, v in equals.items()]
    parts += [f"{k} >= TLS {_tls(v)}" for k, v in tls_floor.items()]
    return "; ".join(parts)


def _settings_outcome(
    path: str,
    observed: Mapping[str, JSON],
    equals: Mapping[str, Any],
    tls_floor: Mapping[str, Any],
    absent: Mapping[str, str],
) -> Outcome:
    problems = _judge(observed, equals, tls_floor, absent)
    expected = _expected_text(equals, tls_floor)
    if problems:
        return Outcome(Status.FAIL, path, dict(observed), expected, "; ".join(problems))
    shown = ", ".join(f"{k} is {show_value(v)}" for k, v in observed.items())
    return Outcome(Status.PASS, path, dict(observed), expected, shown)


def _setting_names(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    equals = dict(params.get("equals") or {})
    tls_floor = dict(params.get("tls_floor") or {})
    if not equals and not tls_floor:
        raise ValueError("expected at least one setting in 'equals' or 'tls_floor'")
    return equals, tls_floor


def _properties_meet(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when every property (a JMESPath) has an allowed value and every TLS floor is met."""
    equals, tls_floor = _setting_names(params)
    doc = document(ctx, params.get("source"))
    names = [*equals, *(n for n in tls_floor if n not in equals)]
    observed = {name: search(name, doc) for name in names}
    yield _settings_outcome(", ".join(names), observed, equals, tls_floor, {})


def _server_parameters_meet(ctx: EvalContext, params: Mapping[str, Any]) -> Iterator[Outcome]:
    """PASS when named server parameters (a `configurations` list) have the required values.

    Each list item is `{name, properties: {value, ...}}`; names compare case-insensitively. A
    parameter missing from the list FAILs with that said: a server that does not report a setting
    gives no evidence that it is enforced.
    """
    equals, tls_floor = _setting_names(params)
    source = str(params["source"])
    values: dict[str, JSON] = {}
    for item in list_values(ctx.own(source), source):
        entry = as_object(item, f"{source} item")
        name = entry.get("name")
        if not isinstance(name, str):
            raise ValueError(f"{source} item: expected a 'name'")
        values[name.lower()] = as_object(entry.get("properties"), f"{source}[{name}]").get("value")
    names = [*equals, *(n for n in tls_floor if n not in equals)]
    observed = {name: values.get(name.lower()) for name in names}
    absent = {
        name: f"{name} is missing from the server's parameter list"
        for name in names
        if name.lower() not in values
    }
    path = ", ".join(f"{source}[name={n}].properties.value" for n in names)
    yield _settings_outcome(path, observed, equals, tls_floor, absent)


SPECS: tuple[EvaluatorSpec, ...] = (
    EvaluatorSpec(
        "unattached_disk",
        _unattached_disk,
        {
            "encryption_types": Param(
                (list,),
                required=False,
                doc="encryption.type values that make an unattached disk acceptable "
                "(default: the two customer-managed-key types)",
            )
        },
        RESOURCE_ONLY,
        "NOT_APPLICABLE for attached disks; an unattached disk PASSes only with a customer-managed "
        "key or Azure Disk Encryption.",
    ),
    EvaluatorSpec(
        "properties_meet",
        _properties_meet,
        {
            "equals": Param(
                (dict,), required=False, doc="JMESPath -> list of allowed values (any case)"
            ),
            "tls_floor": Param((dict,), required=False, doc="JMESPath -> minimum TLS version"),
            "source": SOURCE_PARAM,
        },
        ALL_TARGETS,
        "PASS when every listed property has an allowed value and meets its TLS floor; unset "
        "fails. One finding lists every shortfall.",
    ),
    EvaluatorSpec(
        "server_parameters_meet",
        _server_parameters_meet,
        {
            "source": Param((str,), doc="the parameter list, e.g. configurations"),
            "equals": Param(
                (dict,), required=False, doc="parameter name -> list of allowed values (any case)"
            ),
            "tls_floor": Param(
                (dict,), required=False, doc="parameter name -> minimum TLS version"
            ),
        },
        RESOURCE_ONLY,
        "PASS when named server parameters have allowed values / meet TLS floors; a parameter "
        "missing from the list fails.",
    ),
)
