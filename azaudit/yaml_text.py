"""Safe YAML parsing for the catalogue and the organisation's input files, at libyaml speed.

PyYAML's pure-Python parser takes about 25 ms per check file, seconds for the whole catalogue at
every scan. Its libyaml binding (`CSafeLoader`, shipped in PyYAML's wheels) builds the same
Python values with the same safe constructors in a tenth of the time. Error messages name the
line of the problem; where the two parsers would word or place an error differently, the
document is parsed again by the pure-Python parser, so that bad input is always reported as
PyYAML's reference parser reports it.
"""

from __future__ import annotations

from typing import Any

import yaml

_FAST_LOADER: type[yaml.SafeLoader] | None = getattr(yaml, "CSafeLoader", None)
"""libyaml's safe loader, or None where PyYAML was built without libyaml."""


def safe_load(text: str) -> Any:
    """`yaml.safe_load(text)`: the same value, or the same `yaml.YAMLError` for bad input."""
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 - libyaml's SafeLoader
        except yaml.YAMLError:
            pass  # reported below, by the parser whose messages (and lines) are the reference
    return yaml.safe_load(text)
