"""Finding lines QBO already holds, by the marker in their Description.

The marker (:func:`.payloads.marker`) is derived from the line's unique
key, so it alone identifies the line: a line edited since it was sent (after
an unlock, a reinstall, a mapping change) is still recognised and never sent
a second time; :func:`.payloads.differences` says what changed.

The limit: TimeActivity cannot be queried by Description, so the lookup
reads every TimeActivity on the lines' dates and looks for markers there. A
line whose *date* changed since it was sent is found only if another line of
the same lookup still carries the old date; callers that know the date a
line was sent with should pass that one.
"""

from __future__ import annotations

import logging

from . import payloads as activity_payloads
from . import query as qbo_query

_logger = logging.getLogger(__name__)


def find_marked(client, dated_keys, *, deadline=None):
    """``{key: stored TimeActivity}`` for the line keys QBO already holds, by marker alone.

    ``dated_keys`` maps each key to its line's date (None: unknown, QBO dated
    it, and then every TimeActivity is read: rare and slow). If QBO holds
    two copies of a line, the lowest Id wins and a warning is logged.

    Hook: override to narrow the lookup (e.g. by ``MetaData.CreateTime``) in
    companies with very many activities per day.
    """
    by_marker = _stored_by_marker(client, set(dated_keys.values()), deadline)
    found = {}
    for key in dated_keys:
        stored = _first_copy(by_marker.get(activity_payloads.marker(key), []))
        if stored is not None:
            found[key] = stored
    return found


def _stored_by_marker(client, dates, deadline):
    """Marked TimeActivities QBO holds on ``dates`` (all of them if a date is unknown)."""
    known = {str(date) for date in dates if date}
    where = qbo_query.condition("TxnDate", sorted(known)) if known and all(dates) else ""
    by_marker = {}
    for stored in client.query_all("TimeActivity", where, deadline=deadline):
        tag = activity_payloads.marker_in(stored.get("Description"))
        if tag:
            by_marker.setdefault(tag, []).append(stored)
    return by_marker


def _first_copy(candidates):
    """The lowest Id among copies of one line (warns when QBO holds several)."""
    candidates = sorted(candidates, key=lambda stored: int(stored.get("Id") or 0))
    if len(candidates) > 1:
        _logger.warning(
            "QBO holds %d copies of one line (Ids %s)",
            len(candidates),
            ", ".join(str(c.get("Id")) for c in candidates),
        )
    return candidates[0] if candidates else None
