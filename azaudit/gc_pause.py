"""Pause the cyclic garbage collector around phases that build large acyclic structures.

Loading a snapshot, evaluating it, building the result and rendering it each allocate hundreds
of thousands of containers (decoded JSON, findings, output lines) that hold no reference cycles.
With the collector on, every full collection re-traverses all of them, so the collector's share
grows with the tenant. Reference counting still frees everything these phases drop.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for the block (and back on after, if it was on)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
