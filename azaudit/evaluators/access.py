"""The typed, fail-closed way evaluators read evidence.

Azure documents are raw JSON. Reading them with `dict.get(key, default)` turns a field that is
missing or of an unexpected type into a default, and a default can make a verdict PASS: a rule
without `direction` is "not inbound", a member without `@odata.type` is "not a user". So
evaluators read every field a verdict depends on through these accessors:

- `require_*(obj, "a.b.c")` - the field must be present and of the type; anything else raises
  `ShapeError`, which the engine reports as an ERROR finding naming the path and what was expected.
- `optional_*(obj, "a.b.c", default)` - only for fields Microsoft documents as omitted when they
  take their default (the call site links the documentation); absent or null gives `default`,
  but a value of the wrong type still raises `ShapeError`.
- `strict_search(expression, doc)` - JMESPath for check rules, where reading a field of a value
  that is not an object, or projecting over an element that lacks the projected field, raises
  `ShapeError` instead of quietly yielding null.

Paths are dotted keys (`properties.securityRules`); `at=` prefixes the path in messages with where
the object came from (`properties.securityRules[name=ssh]`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import jmespath
from jmespath import visitor

from azaudit.models import JSON

T = TypeVar("T")
_MISSING = object()
_OBJECT: tuple[type, ...] = (Mapping,)


class ShapeError(ValueError):
    """Evidence a verdict depends on is missing or of the wrong type.

    Attributes:
        path: where the field is (as a reader would look it up).
        expected: what was expected there (`a string`, `an object`, `present`).
        observed: the kind of value found (`absent`, `null`, `a number`, ...).
    """

    def __init__(self, path: str, expected: str, observed: str) -> None:
        super().__init__(f"{path}: expected {expected}, got {observed}")
        self.path = path
        self.expected = expected
        self.observed = observed


def kind_of(value: object) -> str:
    """How a JSON value is described in messages (`null`, `a string`, `an object`, ...)."""
    if value is _MISSING:
        return "absent"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return f"a number ({value})"
    return type(value).__name__


def _label(at: str, path: str) -> str:
    if not at:
        return path
    return f"{at}.{path}" if path else at


def _walk(obj: object, path: str, at: str) -> object:
    """The value at `path`, or `_MISSING` when it (or an object on the way) is absent or null."""
    if isinstance(obj, dict) and path in obj:  # also a key that contains dots (`@odata.type`)
        return obj[path]
    if not path:
        return obj
    keys = _KEYS.get(path)
    if keys is None:
        if len(_KEYS) >= _KEYS_KEPT:  # a path built from data must not grow it without bound
            _KEYS.clear()
        keys = _KEYS[path] = tuple(path.split("."))
    node: object = obj
    for depth, key in enumerate(keys):
        if node is None or node is _MISSING:
            return _MISSING
        if type(node) is not dict and not isinstance(node, Mapping):  # dict: skip the ABC check
            walked = ".".join(keys[:depth])
            raise ShapeError(_label(at, walked) or "document", "an object", kind_of(node))
        node = node.get(key, _MISSING)
    return node


_KEYS: dict[str, tuple[str, ...]] = {}
"""Each path's keys, split once: evaluators read a few hundred distinct paths millions of times."""
_KEYS_KEPT = 4096


def _typed(value: object, path: str, at: str, types: tuple[type, ...], expected: str) -> Any:
    if type(value) is dict and types is _OBJECT:  # the common case, without the ABC check
        return value
    if value is _MISSING or value is None:
        raise ShapeError(_label(at, path), expected, kind_of(value))
    if isinstance(value, bool) and bool not in types:
        raise ShapeError(_label(at, path), expected, kind_of(value))
    if not isinstance(value, types):
        raise ShapeError(_label(at, path), expected, kind_of(value))
    return value


def require(obj: object, path: str, *, at: str = "") -> JSON:
    """The value at `path`, of any type but null; absent or null raises `ShapeError`."""
    value = _walk(obj, path, at)
    if value is _MISSING or value is None:
        raise ShapeError(_label(at, path), "a value", kind_of(value))
    return value


def require_obj(obj: object, path: str = "", *, at: str = "") -> Mapping[str, Any]:
    """The object at `path` (an empty path checks `obj` itself)."""
    result: Mapping[str, Any] = _typed(_walk(obj, path, at), path, at, _OBJECT, "an object")
    return result


def require_str(obj: object, path: str, *, at: str = "") -> str:
    """The string at `path` (may be empty)."""
    result: str = _typed(_walk(obj, path, at), path, at, (str,), "a string")
    return result


def require_nonempty_str(obj: object, path: str, *, at: str = "") -> str:
    """The non-empty string at `path`."""
    value = require_str(obj, path, at=at)
    if not value.strip():
        raise ShapeError(_label(at, path), "a non-empty string", "an empty string")
    return value


def require_bool(obj: object, path: str, *, at: str = "") -> bool:
    """The boolean at `path` (a string "true" is not a boolean)."""
    result: bool = _typed(_walk(obj, path, at), path, at, (bool,), "a boolean")
    return result


def require_int(obj: object, path: str, *, at: str = "") -> int:
    """The integer at `path` (not a boolean, not a float)."""
    result: int = _typed(_walk(obj, path, at), path, at, (int,), "an integer")
    return result


def require_list(obj: object, path: str, *, at: str = "") -> list[Any]:
    """The array at `path`."""
    result: list[Any] = _typed(_walk(obj, path, at), path, at, (list,), "an array")
    return result


def _optional(
    obj: object, path: str, at: str, default: T, types: tuple[type, ...], expected: str
) -> Any:
    value = _walk(obj, path, at)
    if value is _MISSING or value is None:
        return default
    return _typed(value, path, at, types, expected)


def optional_obj(obj: object, path: str, *, at: str = "") -> Mapping[str, Any] | None:
    """The object at `path`, or None when absent or null (wrong type raises)."""
    result: Mapping[str, Any] | None = _optional(obj, path, at, None, _OBJECT, "an object")
    return result


def optional_str(obj: object, path: str, default: str | None = None, *, at: str = "") -> Any:
    """The string at `path`, or `default` when absent or null (wrong type raises)."""
    return _optional(obj, path, at, default, (str,), "a string")


def optional_bool(obj: object, path: str, default: bool | None = None, *, at: str = "") -> Any:
    """The boolean at `path`, or `default` when absent or null (wrong type raises)."""
    return _optional(obj, path, at, default, (bool,), "a boolean")


def optional_list(obj: object, path: str, *, at: str = "") -> list[Any]:
    """The array at `path`, or an empty list when absent or null (wrong type raises)."""
    result: list[Any] = _optional(obj, path, at, [], (list,), "an array")
    return result


def objects(values: list[Any], *, at: str) -> list[Mapping[str, Any]]:
    """Every element of an array as an object (`at` names the array)."""
    return [require_obj(v, at=f"{at}[{i}]") for i, v in enumerate(values)]


def strings(values: list[Any], *, at: str) -> list[str]:
    """Every element of an array as a string (`at` names the array)."""
    out: list[str] = []
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise ShapeError(f"{at}[{i}]", "a string", kind_of(value))
        out.append(value)
    return out


# -- strict JMESPath ---------------------------------------------------------------------------


class _StrictInterpreter(visitor.TreeInterpreter):  # type: ignore[misc]
    """JMESPath where an unexpected shape raises instead of reading as null.

    Standard JMESPath answers `properties.cors.allowedOrigins` with null when `cors` is a
    string, and `locations[].locationName` silently drops a location without a name. Both would
    let a rule PASS on data it did not understand.
    """

    def visit_field(self, node: dict[str, Any], value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ShapeError("", f"an object before '.{node['value']}'", kind_of(value))
        return value.get(node["value"])

    def visit_projection(self, node: dict[str, Any], value: Any) -> Any:
        base = self.visit(node["children"][0], value)
        if not isinstance(base, list):
            return None
        collected = []
        for element in base:
            current = self.visit(node["children"][1], element)
            if current is None:
                raise ShapeError("", "every element of the array to have the field", "null")
            collected.append(current)
        return collected


_STRICT = _StrictInterpreter(jmespath.Options())
"""Stateless between calls, so one instance serves every search."""

Compiled = Callable[[Any], Any]
"""A JMESPath expression turned into a function of the document."""

_COMPILED: dict[str, Compiled] = {}
"""Compiled expressions: a catalogue has a few hundred, each evaluated once per resource."""

_false = _STRICT._is_false
_FIELD_IS_NOT_IN_EVERY_ELEMENT = "every element of the array to have the field"


def compile_strict(node: Mapping[str, Any]) -> Compiled:
    """A parsed JMESPath node as a closure that gives what `_StrictInterpreter.visit` gives.

    The interpreter looks up a method by node type at every node of every search; the closures
    do that once per expression. The node types check rules use are compiled (field access,
    sub-expressions, comparisons, boolean operators, functions, projections); any other node is
    handed to the strict interpreter, so the result is the same either way.
    """
    kind = node["type"]
    children = [compile_strict(c) for c in node.get("children", ()) if isinstance(c, dict)]
    if kind == "field":
        return _field(node["value"])
    if kind in ("subexpression", "index_expression", "pipe"):
        return _chain(children)
    if kind == "literal":
        constant = node["value"]
        return lambda value: constant
    if kind in ("current", "identity"):
        return lambda value: value
    if kind == "comparator":
        return _comparator(node["value"], children[0], children[1])
    if kind == "and_expression":
        left, right = children

        def both(value: Any) -> Any:
            matched = left(value)
            return matched if _false(matched) else right(value)

        return both
    if kind == "or_expression":
        first, second = children

        def either(value: Any) -> Any:
            matched = first(value)
            return second(value) if _false(matched) else matched

        return either
    if kind == "not_expression":
        (inner,) = children

        def negated(value: Any) -> Any:
            original = inner(value)
            if visitor._is_actual_number(original) and original == 0:
                return False
            return not original

        return negated
    if kind == "function_expression":
        name = node["value"]
        call = _STRICT._functions.call_function
        return lambda value: call(name, [arg(value) for arg in children])
    if kind == "projection":
        return _projection(children[0], children[1])
    if kind == "filter_projection":
        return _filter_projection(children[0], children[1], children[2])
    if kind == "index":
        return _index(node["value"])
    return lambda value: _STRICT.visit(node, value)


def _field(key: str) -> Compiled:
    expected = f"an object before '.{key}'"

    def field(value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, dict):
            raise ShapeError("", expected, kind_of(value))
        return value.get(key)

    return field


def _chain(parts: list[Compiled]) -> Compiled:
    if len(parts) == 2:
        first, second = parts
        return lambda value: second(first(value))

    def chain(value: Any) -> Any:
        for part in parts:
            value = part(value)
        return value

    return chain


def _comparator(op: str, left: Compiled, right: Compiled) -> Compiled:
    func = _STRICT.COMPARATOR_FUNC[op]
    if op in _STRICT._EQUALITY_OPS:
        return lambda value: func(left(value), right(value))
    comparable = visitor._is_comparable

    def ordered(value: Any) -> Any:
        lhs, rhs = left(value), right(value)
        if not (comparable(lhs) and comparable(rhs)):
            return None
        return func(lhs, rhs)

    return ordered


def _projection(base: Compiled, each: Compiled) -> Compiled:
    def projection(value: Any) -> Any:
        items = base(value)
        if not isinstance(items, list):
            return None
        collected = []
        for element in items:
            current = each(element)
            if current is None:
                raise ShapeError("", _FIELD_IS_NOT_IN_EVERY_ELEMENT, "null")
            collected.append(current)
        return collected

    return projection


def _filter_projection(base: Compiled, each: Compiled, condition: Compiled) -> Compiled:
    def filtered(value: Any) -> Any:
        items = base(value)
        if not isinstance(items, list):
            return None
        collected = []
        for element in items:
            if not _false(condition(element)):
                current = each(element)
                if current is not None:
                    collected.append(current)
        return collected

    return filtered


def _index(position: int) -> Compiled:
    def index(value: Any) -> Any:
        if not isinstance(value, list):
            return None
        try:
            return value[position]
        except IndexError:
            return None

    return index


def compiled(expression: str) -> Compiled:
    """The compiled form of `expression` (parsed and compiled once per process)."""
    found = _COMPILED.get(expression)
    if found is None:
        found = _COMPILED[expression] = compile_strict(jmespath.compile(expression).parsed)
    return found


def strict_search(expression: str, doc: JSON) -> JSON:
    """JMESPath search that raises `ShapeError` on shapes it would otherwise read as null."""
    search = _COMPILED.get(expression) or compiled(expression)
    try:
        return search(doc)
    except ShapeError as exc:
        raise ShapeError(expression, exc.expected, exc.observed) from None
