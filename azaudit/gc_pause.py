"""Keep the cyclic garbage collector off the large acyclic structures a scan builds.

Loading a snapshot, evaluating it, building the result and rendering it each allocate hundreds
of thousands of containers (decoded JSON, findings, output lines) that hold no reference cycles.
With the collector on, every collection re-traverses all of them, so the collector's share
grows with the tenant. Reference counting still frees everything these phases drop.

Two tools, used together by a scan:

- `paused_gc()` turns the collector off for one phase.
- `frozen_phases()` spans a whole scan: what each paused phase leaves alive (the snapshot, the
  findings) is moved to the collector's permanent generation (`gc.freeze()`) as the phase ends,
  so that no later collection, in or between phases, traverses it again. Leaving the scan
  unfreezes everything, so that a process running many scans (a test suite, a service) keeps
  collecting what they dropped: nothing stays exempt beyond the scan. Code between the paused
  phases (the live collection's event loop, the web scan, history and mail) runs with the
  collector on as usual; reference cycles it makes are collected as usual, or at the latest
  after the scan.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_freezing = 0
"""Open `frozen_phases()` blocks that own the permanent generation (0 or 1)."""


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """The cyclic garbage collector off for the block (and back on after, if it was on).

    Inside `frozen_phases()`, what is alive as the block ends is frozen before the collector
    resumes, so that the collector never traverses it (nor starts a collection because the
    block allocated so much).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if _freezing:
            gc.freeze()
        if collecting:
            gc.enable()


@contextlib.contextmanager
def frozen_phases() -> Iterator[None]:
    """Freeze what each `paused_gc()` phase leaves alive, for this block; unfreeze after.

    Usable as a decorator. Does nothing when the permanent generation is in use already (the
    embedding program froze objects of its own, or a scan runs inside another): unfreezing
    would release objects this block did not freeze.
    """
    global _freezing
    with _lock:
        owner = not _freezing and gc.get_freeze_count() == 0
        if owner:
            _freezing = 1
    try:
        yield
    finally:
        if owner:
            with _lock:
                _freezing = 0
                gc.unfreeze()
