"""Reading back what QBO did to TimeActivities we created: billed, changed, deleted.

The pure part of "Sync from QuickBooks": which reads to make, in as few
metered reads as QBO allows. Change data capture does not cover
TimeActivity and a deleted transaction no longer appears in any query, so:

1. **changed since** the last sync (optional): ``MetaData.LastUpdatedTime >
   since``, paged by 1000; it returns every TimeActivity of the company that
   changed (ours and others'), from which the bound ones are kept;
2. **looked up by Id**: the bound ids step 1 did not return, 100 per
   ``Id IN (...)`` statement; an id QBO does not return is gone (deleted).

A full sync of N bound lines costs ``pages(changed) + ceil(N / 100)`` reads
instead of N GETs; a webhook delivery costs ``ceil(notified / 100)``. The
Odoo layer (``res.company._qbo_sync_time_activities``) and
``bench/bench_sync.py`` both call :func:`read_back`: one query plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .timestamps import parse_timestamp

#: How far before the last mark a "changed since" query starts: a row deleted while
#: pages are read shifts later pages by one, and QBO's stamps have one-second steps.
#: Reading a row twice is harmless.
OVERLAP = timedelta(minutes=1)


@dataclass
class Reading:
    """What QBO holds of the bound TimeActivities asked about.

    ``found``: ``{id: TimeActivity}`` as QBO has it now; ``gone``: the ids
    looked up by Id that QBO no longer returns (deleted, or never there);
    ``newest``: the newest ``LastUpdatedTime`` seen (aware datetime), where
    the next "changed since" may resume, or None.
    """

    found: dict = field(default_factory=dict)
    gone: set = field(default_factory=set)
    newest: datetime | None = None


def read_back(client, bound_ids, *, since=None, check=None, deadline=None):
    """What QBO now holds of ``bound_ids`` (TimeActivity ids bound to our lines).

    ``since``: an aware datetime: first read what changed since then (minus
    :data:`OVERLAP`); None: skip that step. ``check``: the ids to look up by
    Id (the bound ones among them); None: every bound id the first step did
    not return (a full sync). Hook: wrap to narrow ``check`` in companies with
    very many exported lines.
    """
    bound = {str(activity_id) for activity_id in bound_ids}
    reading = Reading()
    if since is not None:
        changed = client.time_activities_updated_since(since - OVERLAP, deadline=deadline)
        reading.newest = changed.newest
        reading.found = {str(row["Id"]): row for row in changed.rows if str(row.get("Id")) in bound}
    wanted = bound if check is None else bound & {str(activity_id) for activity_id in check}
    to_check = sorted(wanted - set(reading.found), key=_id_order)
    if to_check:
        rows = client.time_activities_by_ids(to_check, deadline=deadline)
        for row in rows:
            reading.found[str(row["Id"])] = row
        reading.gone = set(to_check) - {str(row["Id"]) for row in rows}
        reading.newest = _newest(reading.newest, rows)
    return reading


def _id_order(activity_id):
    return (len(activity_id), activity_id)


def _newest(newest, rows):
    for row in rows:
        stamp = parse_timestamp((row.get("MetaData") or {}).get("LastUpdatedTime"))
        if stamp is not None and (newest is None or stamp > newest):
            newest = stamp
    return newest
