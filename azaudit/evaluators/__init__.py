"""The one explicit registry of evaluators that checks may name in their `rule:`.

Each module lists its evaluators in a `SPECS` tuple; adding an evaluator means adding it there.
"""

from __future__ import annotations

from azaudit.evaluators import (
    backup,
    common,
    compute,
    databases,
    defender,
    edge,
    encryption,
    identity,
    keyvault,
    kubernetes,
    monitoring,
    network,
    privilege,
    site_recovery,
    sql,
    storage,
    tenant_logs,
    web,
)
from azaudit.evaluators.base import EvaluatorSpec

_MODULES = (
    backup,
    common,
    web,
    compute,
    databases,
    defender,
    edge,
    encryption,
    identity,
    keyvault,
    kubernetes,
    monitoring,
    network,
    privilege,
    site_recovery,
    sql,
    storage,
    tenant_logs,
)


def _registry() -> dict[str, EvaluatorSpec]:
    registry: dict[str, EvaluatorSpec] = {}
    for module in _MODULES:
        for spec in module.SPECS:
            if spec.name in registry:
                # A silent override would change what existing checks mean.
                raise RuntimeError(f"evaluator {spec.name!r} is registered twice")
            registry[spec.name] = spec
    return registry


EVALUATORS: dict[str, EvaluatorSpec] = _registry()


def get_evaluator(name: str) -> EvaluatorSpec | None:
    """The evaluator registered as `name`, or None."""
    return EVALUATORS.get(name)
