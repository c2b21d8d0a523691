"""QBO's query language: parse a statement, then run it over stored records.

Supported, as QBO does: ``SELECT * | COUNT(*) | f1, f2 FROM Entity
[WHERE cond AND cond ...] [ORDERBY f [ASC|DESC], ...] [STARTPOSITION n]
[MAXRESULTS m]`` with ``=``, ``<``, ``>``, ``<=``, ``>=``, ``IN (..)`` and
``LIKE``. There is no ``OR``. Keywords, field names and string values
compare case-insensitively.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from . import faults
from .clock import PACIFIC

MAX_RESULTS = 1000
DEFAULT_RESULTS = 100

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:\\.|[^'\\])*')
      | (?P<number>-?\d+(?:\.\d+)?(?![\w.]))
      | (?P<name>[A-Za-z_][\w.]*)
      | (?P<symbol><=|>=|<>|!=|=|<|>|\(|\)|,|\*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = {"=", "<", ">", "<=", ">="}


@dataclass
class Condition:
    field: str
    op: str  # "=", "<", ">", "<=", ">=", "in", "like"
    values: list


@dataclass
class Query:
    entity: str
    count: bool = False
    fields: list = None  # None: every field
    conditions: list = field(default_factory=list)
    order: list = field(default_factory=list)  # [(field, descending)]
    start: int = 1
    max_results: int = DEFAULT_RESULTS

    def mentions(self, name):
        return any(c.field.lower() == name.lower() for c in self.conditions)


class _Tokens:
    def __init__(self, text):
        self.items = []
        pos = 0
        text = text.strip().rstrip(";")
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                if not text[pos:].strip():
                    break
                raise faults.query_parse(
                    f'Encountered " {text[pos : pos + 10]!r} " at column {pos + 1}.'
                )
            kind = match.lastgroup
            self.items.append((kind, match.group(kind), pos + 1))
            pos = match.end()
        self.index = 0

    def peek(self, offset=0):
        i = self.index + offset
        return self.items[i] if i < len(self.items) else (None, None, 0)

    def next(self):
        token = self.peek()
        if token[0] is None:
            raise faults.query_parse('Encountered "<EOF>" where more was expected.')
        self.index += 1
        return token

    def keyword(self, *words):
        kind, text, _ = self.peek()
        if kind == "name" and text.upper() in words:
            self.index += 1
            return text.upper()
        return None

    def expect_keyword(self, word):
        if not self.keyword(word):
            self.fail(f"Expected {word}")

    def expect_symbol(self, symbol):
        kind, text, _ = self.next()
        if kind != "symbol" or text != symbol:
            self.index -= 1
            self.fail(f'Expected "{symbol}"')

    def fail(self, why):
        _, text, column = self.peek()
        found = "<EOF>" if text is None else text
        raise faults.query_parse(f'Encountered " "{found}" " at line 1, column {column}. {why}.')


def parse(statement, entities):
    """Parse ``statement``; ``entities`` are the queryable entity names (canonical case)."""
    tokens = _Tokens(statement or "")
    tokens.expect_keyword("SELECT")
    query = Query(entity="")
    if tokens.keyword("COUNT"):
        tokens.expect_symbol("(")
        tokens.expect_symbol("*")
        tokens.expect_symbol(")")
        query.count = True
    else:
        query.fields = _select_list(tokens)
    tokens.expect_keyword("FROM")
    kind, name, _ = tokens.next()
    canonical = (
        {e.lower(): e for e in entities}.get((name or "").lower()) if kind == "name" else None
    )
    if not canonical:
        raise faults.query_parse(f"Invalid context declaration : {name}")
    query.entity = canonical
    if tokens.keyword("WHERE"):
        query.conditions.append(_condition(tokens))
        while tokens.keyword("AND"):
            query.conditions.append(_condition(tokens))
        if tokens.keyword("OR"):
            raise faults.query_parse("OR is not supported")
    if _order_by(tokens):
        query.order.append(_order_item(tokens))
        while tokens.peek()[1] == ",":
            tokens.next()
            query.order.append(_order_item(tokens))
    if tokens.keyword("STARTPOSITION"):
        query.start = _integer(tokens)
    if tokens.keyword("MAXRESULTS"):
        query.max_results = _integer(tokens)
    if tokens.peek()[0] is not None:
        tokens.fail("Unexpected text after the statement")
    if query.max_results > MAX_RESULTS:
        raise faults.query_invalid(
            f"value {query.max_results} is too large. Max allowed value is {MAX_RESULTS}"
        )
    if query.start < 1:
        query.start = 1
    return query


def _select_list(tokens):
    names = []
    while True:
        kind, text, _ = tokens.next()
        if kind == "symbol" and text == "*":
            names.append("*")
        elif kind == "name":
            names.append(text)
        else:
            tokens.index -= 1
            tokens.fail("Expected a field name or *")
        if tokens.peek()[1] != ",":
            break
        tokens.next()
    return None if "*" in names else names


def _condition(tokens):
    kind, name, _ = tokens.next()
    if kind != "name":
        tokens.index -= 1
        tokens.fail("Expected a field name")
    if tokens.keyword("IN"):
        tokens.expect_symbol("(")
        values = [_literal(tokens)]
        while tokens.peek()[1] == ",":
            tokens.next()
            values.append(_literal(tokens))
        tokens.expect_symbol(")")
        return Condition(name, "in", values)
    if tokens.keyword("LIKE"):
        return Condition(name, "like", [_literal(tokens)])
    kind, op, _ = tokens.next()
    if kind != "symbol" or op not in _COMPARISONS:
        tokens.index -= 1
        tokens.fail("Expected an operator")
    return Condition(name, op, [_literal(tokens)])


def _literal(tokens):
    kind, text, _ = tokens.next()
    if kind == "string":
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if kind == "number":
        return float(text) if "." in text else int(text)
    if kind == "name" and text.lower() in ("true", "false"):
        return text.lower() == "true"
    tokens.index -= 1
    tokens.fail("Expected a value")


def _order_by(tokens):
    """``ORDERBY`` is QBO's spelling; python-quickbooks' ``all()`` sends ``ORDER BY``."""
    if tokens.keyword("ORDERBY"):
        return True
    if tokens.keyword("ORDER"):
        tokens.expect_keyword("BY")
        return True
    return False


def _order_item(tokens):
    kind, name, _ = tokens.next()
    if kind != "name":
        tokens.index -= 1
        tokens.fail("Expected a field name")
    descending = tokens.keyword("ASC", "DESC") == "DESC"
    return name, descending


def _integer(tokens):
    kind, text, _ = tokens.next()
    if kind != "number" or "." in text:
        tokens.index -= 1
        tokens.fail("Expected an integer")
    return int(text)


# --- evaluation -------------------------------------------------------------


def lookup(record, path):
    """Value of a dotted, case-insensitive field path; a Ref stands for its ``value``."""
    value = record
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        if part in value:
            value = value[part]
        else:
            lowered = part.lower()
            value = next((v for k, v in value.items() if k.lower() == lowered), None)
    if isinstance(value, dict) and "value" in value:
        value = value["value"]
    return value


def _as_datetime(value):
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or len(value) < 10 or value[4:5] != "-":
        return None
    return _parse_moment(value)


@lru_cache(maxsize=8192)
def _parse_moment(text):
    """A timestamp in any ISO 8601 form QBO takes (``Z``, ``-08:00``, ``-0800``,
    fractions) or a bare date (midnight); no offset means company (Pacific) time."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=PACIFIC)


def _compare(actual, op, literal):
    """-1/0/1 ordering of ``actual`` against ``literal``, or None when incomparable."""
    if actual is None:
        return None
    if isinstance(literal, bool) or isinstance(actual, bool):
        if isinstance(actual, str):
            actual = actual.lower() == "true"
        if isinstance(literal, str):
            literal = literal.lower() == "true"
        return 0 if bool(actual) == bool(literal) else None
    if isinstance(literal, (int, float)) or isinstance(actual, (int, float)):
        try:
            a, b = float(actual), float(literal)
        except (TypeError, ValueError):
            return None
        return (a > b) - (a < b)
    # Timestamps compare as instants: '...T09:00:00-08:00' equals '...T17:00:00Z'.
    a, b = _as_datetime(actual), _as_datetime(literal)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    a, b = str(actual).casefold(), str(literal).casefold()
    return (a > b) - (a < b)


def _like(actual, pattern):
    if actual is None:
        return False
    regex = ".*".join(re.escape(part) for part in str(pattern).split("%"))
    return re.fullmatch(regex, str(actual), re.IGNORECASE | re.DOTALL) is not None


def matches(record, condition):
    actual = lookup(record, condition.field)
    if condition.op == "like":
        return _like(actual, condition.values[0])
    if condition.op == "in":
        return any(_compare(actual, "=", v) == 0 for v in condition.values)
    result = _compare(actual, condition.op, condition.values[0])
    if result is None:
        return False
    return {
        "=": result == 0,
        "<": result < 0,
        ">": result > 0,
        "<=": result <= 0,
        ">=": result >= 0,
    }[condition.op]


def _sort_key(value):
    if value is None:
        return (2, 0.0, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    text = str(value)
    try:
        return (0, float(text), "")
    except ValueError:
        return (1, 0.0, text.casefold())


def candidates(query, by_id):
    """The records an ``Id =`` / ``Id IN (...)`` condition allows, looked up in ``by_id``
    (Id -> record) instead of scanning them all; None when the query has no such condition."""
    for condition in query.conditions:
        if condition.field.lower() == "id" and condition.op in ("=", "in"):
            values = condition.values
            if all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
                return [by_id[i] for i in dict.fromkeys(map(str, values)) if i in by_id]
    return None


def run(query, records, has_active):
    """Answer ``query`` over ``records`` with QBO's ``QueryResponse`` body."""
    rows = records
    if has_active and not query.mentions("Active"):
        # QBO hides inactive list entries unless the query asks about Active.
        rows = [r for r in rows if r.get("Active", True)]
    for condition in query.conditions:
        rows = [r for r in rows if matches(r, condition)]
    if query.count:
        return {"totalCount": len(rows)}
    order = query.order or [("Id", False)]
    rows = list(rows)
    for name, descending in reversed(order):
        rows.sort(key=lambda r, n=name: _sort_key(lookup(r, n)), reverse=descending)
    page = rows[query.start - 1 : query.start - 1 + query.max_results]
    if not page:
        return {}
    if query.fields is not None:
        page = [_project(r, query.fields) for r in page]
    return {query.entity: page, "startPosition": query.start, "maxResults": len(page)}


def _project(record, names):
    wanted = {n.split(".")[0].lower() for n in names} | {"id"}
    out = {k: v for k, v in record.items() if k.lower() in wanted}
    out["domain"] = record.get("domain", "QBO")
    out["sparse"] = True
    return out
