"""QBO's timestamps: ISO 8601 with an offset (``2015-07-24T10:35:08-07:00``, ``...Z``,
fractions of a second), in MetaData, webhook events and our own sync marks."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_timestamp(text):
    """An aware datetime, or None when ``text`` is empty or unreadable.

    QBO always writes an offset; a stamp without one (never seen from QBO) is read as UTC.
    """
    try:
        parsed = datetime.fromisoformat(str(text)) if text else None
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed and parsed.tzinfo is None else parsed
