"""Fixtures shared by several test modules."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture
def collector_on() -> Iterator[None]:
    """The cyclic garbage collector on for the test, as a program normally runs (tests of the
    phases that pause or freeze it start from there), and as it was afterwards."""
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()
