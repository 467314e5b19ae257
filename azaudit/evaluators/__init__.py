"""The one explicit registry of evaluators that checks may name in their `rule:`.

Each module lists its evaluators in a `SPECS` tuple; adding an evaluator means adding it there.
"""

from __future__ import annotations

from azaudit.evaluators import backup, common, encryption, identity, monitoring, network
from azaudit.evaluators.base import EvaluatorSpec

_MODULES = (common, encryption, network, identity, monitoring, backup)

EVALUATORS: dict[str, EvaluatorSpec] = {spec.name: spec for m in _MODULES for spec in m.SPECS}


def get_evaluator(name: str) -> EvaluatorSpec | None:
    """The evaluator registered as `name`, or None."""
    return EVALUATORS.get(name)
