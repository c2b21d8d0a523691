"""Building QBO query statements safely.

QBO's query language takes string literals in single quotes with ``\\'``
for an apostrophe (``Amy\\'s Bird Sanctuary``) and ``\\\\`` for a backslash.
Statements are sent as the body of ``POST /query`` (``application/text``,
UTF-8), never in the URL, so ``&``, ``%``, ``#`` and non-ASCII names need no
URL encoding and cannot cut the statement short.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

#: QBO's largest page.
MAX_RESULTS = 1000


def quote(value):
    """``value`` as a QBO string literal: ``Amy's`` -> ``'Amy\\'s'``."""
    text = str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def literal(value):
    """A QBO literal for str, bool, numbers and dates (dates as ``'YYYY-MM-DD'``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime.date | datetime.datetime):
        return quote(value.isoformat())
    return quote(value)


def condition(field, value):
    """``field = 'value'`` or, for a list/tuple/set, ``field IN ('a', 'b')``."""
    if isinstance(value, list | tuple | set | frozenset):
        values = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return f"{field} IN ({', '.join(literal(v) for v in values)})"
    return f"{field} = {literal(value)}"


def select(entity, where_clause="", order_by="", start_position=None, max_results=None):
    """A full ``SELECT *``; ``where_clause`` is already escaped (see :func:`condition`)."""
    parts = [f"SELECT * FROM {entity}"]
    if where_clause:
        parts.append(f"WHERE {where_clause}")
    if order_by:
        parts.append(f"ORDERBY {order_by}")
    if start_position is not None:
        parts.append(f"STARTPOSITION {int(start_position)}")
    if max_results is not None:
        parts.append(f"MAXRESULTS {int(max_results)}")
    return " ".join(parts)


def pages(entity, where_clause="", order_by="Id", page_size=MAX_RESULTS) -> Iterable[str]:
    """Endless statements for consecutive pages (STARTPOSITION is 1-based)."""
    start = 1
    while True:
        yield select(entity, where_clause, order_by, start, page_size)
        start += page_size
