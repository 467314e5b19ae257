"""The built-in catalogue, loaded once per test process.

Loading parses every YAML file under `checks/` (seconds of CPU), and a `Catalogue` is immutable
(frozen dataclasses, tuples): tests that only need the built-in checks share one load. Tests of
loading itself call `load_catalogue` directly.
"""

from __future__ import annotations

import functools

from azaudit.catalogue import Catalogue, load_catalogue


@functools.cache
def builtin_catalogue() -> Catalogue:
    """`load_catalogue()` of the built-in checks, memoised for the test process."""
    return load_catalogue()
