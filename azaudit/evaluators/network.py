"""network evaluators."""

from __future__ import annotations

from azaudit.evaluators.base import EvaluatorSpec

SPECS: tuple[EvaluatorSpec, ...] = ()
