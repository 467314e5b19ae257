"""The small, documented subset of Kusto (KQL) the emulator's Resource Graph understands.

This is not a KQL engine. It parses the query forms an inventory collector sends and rejects
everything else with a `QueryError` that names the position and what was expected, so that a
collector never gets a silently wrong answer. Supported (docs/emulator.md has the grammar):

    <Resources | ResourceContainers>
      | where <predicate> [and|or <predicate>]...
      | project <column>[, <name> = <column>]...
      | order by <column> [asc|desc][, ...]      (also `sort by`; KQL's default is desc)
      | limit <n>  /  take <n>
      | count
      | summarize count() [by <column>[, ...]]

Predicates: `<column> <op> <literal>` with ==, !=, =~, !~, contains, !contains, startswith,
endswith, has, in, !in, in~, !in~ (a parenthesised literal list); `isnotempty(c)`,
`isempty(c)`, `isnotnull(c)`, `isnull(c)`; `not(<predicate>)`; parentheses. Columns are
table columns or dotted paths into dynamic ones (`properties.state`, `tags['env']`).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from azaudit.models import JSON

TABLES = ("Resources", "ResourceContainers")


class QueryError(ValueError):
    """A query outside the supported subset, or malformed; `position` is 0-based."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.position = position


# -- tokens ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>@?'(?:[^'\\]|\\.)*'|@?"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?)
  | (?P<op>!in~|!in\b|!contains\b|!startswith\b|!endswith\b|!has\b|in~|!~|=~|==|!=|<=|>=
      |[|(),=\[\].<>])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_\-]*(?<!-))
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    """A lexical token: kind is `string`, `number`, `op`, `ident` or `end`."""

    kind: str
    text: str
    position: int
    value: JSON = None


def tokenize(query: str) -> list[Token]:
    """Split a query into tokens.

    Raises:
        QueryError: on a character no token starts with.
    """
    tokens: list[Token] = []
    position = 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            raise QueryError(f"unexpected character {query[position]!r}", position)
        kind = match.lastgroup or ""
        text = match.group()
        if kind == "string":
            tokens.append(Token(kind, text, position, _unquote(text)))
        elif kind == "number":
            number: JSON = float(text) if "." in text else int(text)
            tokens.append(Token(kind, text, position, number))
        elif kind != "ws":
            tokens.append(Token(kind, text, position))
        position = match.end()
    tokens.append(Token("end", "", len(query)))
    return tokens


def _unquote(text: str) -> str:
    verbatim = text.startswith("@")
    body = text[2:-1] if verbatim else text[1:-1]
    if verbatim:
        return body
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


# -- the parsed query --------------------------------------------------------------------------

Row = Mapping[str, JSON]
Predicate = Callable[[Row], bool]


@dataclass(frozen=True, slots=True)
class Column:
    """A column or a path into a dynamic column: `properties.state` -> ("properties", "state")."""

    path: tuple[str, ...]
    position: int

    @property
    def name(self) -> str:
        """The output name KQL gives this expression (last path element)."""
        return self.path[-1]

    def get(self, row: Row) -> JSON:
        """The value in `row` (None when any step is missing, as KQL's dynamic access)."""
        value: JSON = row.get(self.path[0])
        for step in self.path[1:]:
            if not isinstance(value, dict):
                return None
            value = value.get(step)
        return value


@dataclass(frozen=True, slots=True)
class Projection:
    """One output column of `project`."""

    name: str
    column: Column


@dataclass(frozen=True, slots=True)
class OrderKey:
    """One key of `order by`."""

    column: Column
    descending: bool


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: a table and its operators, applied in order by `run`."""

    table: str
    steps: tuple[Step, ...]

    @property
    def limited(self) -> bool:
        """Whether the query uses limit/take (Resource Graph then cannot page it)."""
        return any(isinstance(s, Limit) for s in self.steps)

    @property
    def aggregated(self) -> bool:
        """Whether the query counts (`count`, `summarize count()`) rather than lists rows."""
        return any(isinstance(s, Summarize) for s in self.steps)

    def run(self, rows: Sequence[Row], columns: Sequence[str]) -> list[dict[str, JSON]]:
        """Apply the operators to the table rows.

        Raises:
            QueryError: when a column name is not in the table.
        """
        current: list[dict[str, JSON]] = [dict(r) for r in rows]
        known = set(columns)
        for step in self.steps:
            current, known = step.apply(current, known)
        return current


class Step(ABC):
    """One tabular operator."""

    @abstractmethod
    def apply(
        self, rows: list[dict[str, JSON]], known: set[str]
    ) -> tuple[list[dict[str, JSON]], set[str]]:
        """Rows and the set of column names after this operator."""


def _check(column: Column, known: set[str]) -> None:
    if column.path[0] not in known:
        raise QueryError(
            f"Failed to resolve scalar expression named '{column.path[0]}'", column.position
        )


@dataclass(frozen=True, slots=True)
class Where(Step):
    """`where`: keep rows for which the predicate holds."""

    predicate: Predicate
    columns: tuple[Column, ...]

    def apply(
        self, rows: list[dict[str, JSON]], known: set[str]
    ) -> tuple[list[dict[str, JSON]], set[str]]:
        for column in self.columns:
            _check(column, known)
        return [r for r in rows if self.predicate(r)], known


@dataclass(frozen=True, slots=True)
class Project(Step):
    """`project`: keep (and rename) columns."""

    items: tuple[Projection, ...]

    def apply(
        self, rows: list[dict[str, JSON]], known: set[str]
    ) -> tuple[list[dict[str, JSON]], set[str]]:
        for item in self.items:
            _check(item.column, known)
        projected = [{p.name: p.column.get(r) for p in self.items} for r in rows]
        return projected, {p.name for p in self.items}


@dataclass(frozen=True, slots=True)
class Order(Step):
    """`order by` / `sort by`: a stable multi-key sort; nulls last as in KQL's asc order."""

    keys: tuple[OrderKey, ...]

    def apply(
        self, rows: list[dict[str, JSON]], known: set[str]
    ) -> tuple[list[dict[str, JSON]], set[str]]:
        ordered = list(rows)
        for key in reversed(self.keys):
            _check(key.column, known)
            ordered.sort(key=_row_key(key.column), reverse=key.descending)
        return ordered, known


@dataclass(frozen=True, slots=True)
class Limit(Step):
    """`limit` / `take`."""

    count: int

    def apply(
        self, rows: list[dict[str, JSON]], known: set[str]
    ) -> tuple[list[dict[str, JSON]], set[str]]:
        return rows[: self.count], known


@dataclass(frozen=True, slots=True)
class Summarize(Step):
    """`count` (column `Count`) or `summarize count() by ...` (column `count_`)."""

    by: tuple[Column, ...]
    column_name: str

    def apply(
        self, rows: list[dict[str, JSON]], known: set[str]
    ) -> tuple[list[dict[str, JSON]], set[str]]:
        for column in self.by:
            _check(column, known)
        if not self.by:
            return [{self.column_name: len(rows)}], {self.column_name}
        groups: dict[str, tuple[list[JSON], int]] = {}
        for row in rows:
            values = [c.get(row) for c in self.by]
            key = repr(values)
            _, count = groups.get(key, (values, 0))
            groups[key] = (values, count + 1)
        out = [
            {**{c.name: v for c, v in zip(self.by, values, strict=True)}, self.column_name: n}
            for values, n in groups.values()
        ]
        return out, {c.name for c in self.by} | {self.column_name}


def _row_key(column: Column) -> Callable[[dict[str, JSON]], tuple[int, JSON]]:
    return lambda row: _sort_key(column.get(row))


def _sort_key(value: JSON) -> tuple[int, JSON]:
    if value is None or value == "":
        return (2, "")
    if isinstance(value, bool):
        return (0, str(value).lower())
    if isinstance(value, int | float):
        return (0, float(value))
    if isinstance(value, str):
        return (1, value)
    return (1, repr(value))


# -- parser ------------------------------------------------------------------------------------


def parse(query: str) -> Query:
    """Parse a query of the supported subset.

    Raises:
        QueryError: with the 0-based position and what was expected there.
    """
    return _Parser(tokenize(query)).query()


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0

    # token helpers
    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def at_word(self, *words: str) -> bool:
        return self.current.kind == "ident" and self.current.text.lower() in words

    def at_op(self, *ops: str) -> bool:
        return self.current.kind == "op" and self.current.text in ops

    def expect_op(self, op: str) -> Token:
        if not self.at_op(op):
            self.fail(f"expected '{op}'")
        return self.advance()

    def expect_word(self, word: str) -> Token:
        if not self.at_word(word):
            self.fail(f"expected '{word}'")
        return self.advance()

    def fail(self, expected: str) -> None:
        token = self.current
        found = "end of query" if token.kind == "end" else repr(token.text)
        raise QueryError(f"{expected}, found {found}", token.position)

    # grammar
    def query(self) -> Query:
        if self.current.kind != "ident":
            self.fail(f"expected a table name ({' or '.join(TABLES)})")
        table_token = self.advance()
        table = next((t for t in TABLES if t.lower() == table_token.text.lower()), None)
        if table is None:
            raise QueryError(
                f"table '{table_token.text}' is not supported by this emulator "
                f"(supported: {', '.join(TABLES)})",
                table_token.position,
            )
        steps: list[Step] = []
        while self.at_op("|"):
            self.advance()
            steps.append(self.operator())
        if self.current.kind != "end":
            self.fail("expected '|' or end of query")
        return Query(table, tuple(steps))

    def operator(self) -> Step:
        token = self.current
        word = token.text.lower() if token.kind == "ident" else ""
        if word == "where":
            self.advance()
            columns: list[Column] = []
            predicate = self.or_expr(columns)
            return Where(predicate, tuple(columns))
        if word == "project":
            self.advance()
            return Project(tuple(self.projections()))
        if word in {"order", "sort"}:
            self.advance()
            self.expect_word("by")
            return Order(tuple(self.order_keys()))
        if word in {"limit", "take"}:
            self.advance()
            if self.current.kind != "number" or not isinstance(self.current.value, int):
                self.fail("expected a whole number")
            return Limit(int(self.advance().value))
        if word == "count":
            self.advance()
            return Summarize((), "Count")
        if word == "summarize":
            self.advance()
            return self.summarize()
        supported = "where, project, order by, sort by, limit, take, count, summarize count()"
        raise QueryError(
            f"operator {token.text!r} is not supported by this emulator (supported: {supported})",
            token.position,
        )

    def summarize(self) -> Summarize:
        self.expect_word("count")
        self.expect_op("(")
        self.expect_op(")")
        by: list[Column] = []
        if self.at_word("by"):
            self.advance()
            by.append(self.column())
            while self.at_op(","):
                self.advance()
                by.append(self.column())
        return Summarize(tuple(by), "count_")

    def projections(self) -> list[Projection]:
        items = [self.projection()]
        while self.at_op(","):
            self.advance()
            items.append(self.projection())
        return items

    def projection(self) -> Projection:
        if self.current.kind == "ident" and self.tokens[self.index + 1].text == "=":
            name = self.advance().text
            self.advance()
            return Projection(name, self.column())
        column = self.column()
        return Projection(column.name, column)

    def order_keys(self) -> list[OrderKey]:
        keys = [self.order_key()]
        while self.at_op(","):
            self.advance()
            keys.append(self.order_key())
        return keys

    def order_key(self) -> OrderKey:
        column = self.column()
        descending = True  # KQL's default sort order is descending.
        if self.at_word("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        return OrderKey(column, descending)

    def column(self) -> Column:
        if self.current.kind != "ident":
            self.fail("expected a column name")
        start = self.advance()
        path = [start.text]
        while True:
            if self.at_op("."):
                self.advance()
                if self.current.kind != "ident":
                    self.fail("expected a property name after '.'")
                path.append(self.advance().text)
            elif self.at_op("["):
                self.advance()
                if self.current.kind != "string":
                    self.fail("expected a quoted property name")
                path.append(str(self.advance().value))
                self.expect_op("]")
            else:
                return Column(tuple(path), start.position)

    def or_expr(self, columns: list[Column]) -> Predicate:
        parts = [self.and_expr(columns)]
        while self.at_word("or"):
            self.advance()
            parts.append(self.and_expr(columns))
        if len(parts) == 1:
            return parts[0]
        return lambda row: any(p(row) for p in parts)

    def and_expr(self, columns: list[Column]) -> Predicate:
        parts = [self.predicate(columns)]
        while self.at_word("and"):
            self.advance()
            parts.append(self.predicate(columns))
        if len(parts) == 1:
            return parts[0]
        return lambda row: all(p(row) for p in parts)

    def predicate(self, columns: list[Column]) -> Predicate:
        if self.at_op("("):
            self.advance()
            inner = self.or_expr(columns)
            self.expect_op(")")
            return inner
        if self.at_word("not") and self.tokens[self.index + 1].text == "(":
            self.advance()
            self.advance()
            inner = self.or_expr(columns)
            self.expect_op(")")
            return lambda row: not inner(row)
        if self.at_word(*_FUNCTIONS) and self.tokens[self.index + 1].text == "(":
            test = _FUNCTIONS[self.advance().text.lower()]
            self.advance()
            column = self.column()
            columns.append(column)
            self.expect_op(")")
            return lambda row: test(column.get(row))
        column = self.column()
        columns.append(column)
        operator = self.operator_token()
        if operator in _LIST_OPERATORS:
            values = self.literal_list()
            return _list_predicate(column, operator, values)
        value = self.literal()
        return _compare_predicate(column, operator, value)

    def operator_token(self) -> str:
        token = self.current
        if token.kind == "op" and token.text in _SCALAR_OPERATORS | _LIST_OPERATORS:
            return self.advance().text
        if token.kind == "ident" and token.text.lower() in _SCALAR_OPERATORS | _LIST_OPERATORS:
            return self.advance().text.lower()
        self.fail(
            "expected a comparison (==, !=, =~, !~, contains, startswith, endswith, has, their "
            "!-negations, in, !in, in~, !in~, <, >, <=, >=)"
        )
        raise AssertionError  # unreachable: fail() raises

    def literal(self) -> JSON:
        token = self.current
        if token.kind in {"string", "number"}:
            return self.advance().value
        if self.at_word("true", "false"):
            return self.advance().text.lower() == "true"
        self.fail("expected a literal (quoted string, number, true or false)")
        raise AssertionError  # unreachable

    def literal_list(self) -> list[JSON]:
        self.expect_op("(")
        values = [self.literal()]
        while self.at_op(","):
            self.advance()
            values.append(self.literal())
        self.expect_op(")")
        return values


def _is_empty(value: JSON) -> bool:
    return value is None or value == ""


_FUNCTIONS: dict[str, Callable[[JSON], bool]] = {
    "isempty": _is_empty,
    "isnotempty": lambda v: not _is_empty(v),
    "isnull": lambda v: v is None,
    "isnotnull": lambda v: v is not None,
}

_SCALAR_OPERATORS = frozenset(
    {"==", "!=", "=~", "!~", "contains", "contains_cs", "startswith", "endswith", "has"}
    | {"!contains", "!startswith", "!endswith", "!has", "<", ">", "<=", ">="}
)
_LIST_OPERATORS = frozenset({"in", "in~", "!in", "!in~"})


def _text(value: JSON) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _list_predicate(column: Column, operator: str, values: list[JSON]) -> Predicate:
    insensitive = operator.endswith("~")
    negate = operator.startswith("!")
    wanted = {_text(v).lower() if insensitive else _text(v) for v in values}

    def test(row: Row) -> bool:
        value = _text(column.get(row))
        found = (value.lower() if insensitive else value) in wanted
        return found != negate

    return test


def _compare_predicate(column: Column, operator: str, literal: JSON) -> Predicate:
    text = _text(literal)
    lowered = text.lower()
    if operator in {"<", ">", "<=", ">="}:
        if not isinstance(literal, int | float):
            raise QueryError(f"operator {operator} needs a number", column.position)
        return _numeric_predicate(column, operator, float(literal))
    tests: dict[str, Callable[[str], bool]] = {
        "==": lambda v: v == text,
        "!=": lambda v: v != text,
        "=~": lambda v: v.lower() == lowered,
        "!~": lambda v: v.lower() != lowered,
        "contains": lambda v: lowered in v.lower(),
        "contains_cs": lambda v: text in v,
        "startswith": lambda v: v.lower().startswith(lowered),
        "endswith": lambda v: v.lower().endswith(lowered),
        "has": lambda v: lowered in re.split(r"[^0-9a-z]+", v.lower()),
    }
    negate = operator.startswith("!") and operator not in tests
    test = tests[operator.removeprefix("!")] if negate else tests[operator]
    return lambda row: test(_text(column.get(row))) != negate


def _numeric_predicate(column: Column, operator: str, bound: float) -> Predicate:
    compare: dict[str, Callable[[float], bool]] = {
        "<": lambda v: v < bound,
        ">": lambda v: v > bound,
        "<=": lambda v: v <= bound,
        ">=": lambda v: v >= bound,
    }

    def test(row: Row) -> bool:
        value = column.get(row)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return compare[operator](float(value))

    return test
