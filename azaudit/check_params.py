"""Per-scan check parameters: organisation facts that several checks share, set once per scan.

Some evaluator parameters describe the organisation rather than the control: the emergency-access
(break-glass) accounts that a Conditional Access policy may exclude or that may hold a standing
privileged role are the same for every check. A scan setting (`scan.break_glass_accounts`) sets
them once; when the catalogue is loaded, the value is added to every check whose evaluator
declares a parameter of that name, whichever catalogue directory the check came from. A check's
own list is kept (the scan's values are added to it), so nothing a check file says is lost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from azaudit.catalogue import Catalogue, Check
from azaudit.evaluators import get_evaluator

BREAK_GLASS = "break_glass_accounts"
"""The evaluator parameter that lists break-glass accounts (object ids or user principal names)."""

_GUID = re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")
_UPN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def invalid_account(value: str) -> bool:
    """Whether `value` is neither an object id (GUID) nor a user principal name."""
    return not (_GUID.match(value) or _UPN.match(value))


def with_scan_params(catalogue: Catalogue, values: Mapping[str, tuple[str, ...]]) -> Catalogue:
    """The catalogue with the scan's list parameters added to every check that accepts them.

    Args:
        catalogue: the loaded catalogue.
        values: `{parameter name: values}`; empty tuples change nothing.
    """
    wanted = {name: tuple(v) for name, v in values.items() if v}
    if not wanted:
        return catalogue
    return Catalogue(
        tuple(_with(check, wanted) for check in catalogue.checks),
        catalogue.citations,
        catalogue.safeguards,
    )


def _with(check: Check, values: Mapping[str, tuple[str, ...]]) -> Check:
    spec = get_evaluator(check.rule.evaluator)
    if spec is None:
        return check
    params = dict(check.rule.params)
    changed = False
    for name, extra in values.items():
        if name not in spec.params:
            continue
        own = [str(v) for v in params.get(name) or []]
        params[name] = own + [v for v in extra if v.lower() not in {o.lower() for o in own}]
        changed = True
    if not changed:
        return check
    return replace(check, rule=replace(check.rule, params=params))
