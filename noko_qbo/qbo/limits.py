"""QBO's per-realm limits, as the client paces against them, and what they let one app send.

Per realm and app QBO allows 500 requests a minute (batch requests
included), 40 batch requests a minute, 10 requests a second and 10 requests
in flight. The most TimeActivities one app can create in a minute is
therefore 40 full batches plus single creates in what is left of the 500,
minus what reads need meanwhile (:func:`lines_per_minute_bound`).

The window logic lives in :mod:`.windows` (pure) and :mod:`.pacing` (waits).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Per-realm client-side limits (QBO's published defaults).

    ``headroom_per_minute`` is the part of the request budget single creates
    leave to everything else that runs on the realm meanwhile: list syncs
    (one query per 1000 customers, employees, vendors, items, classes), the
    preview's preference and time-tracking reads, reconciliation lookups and
    sync-back polls. 40 (8 % of the budget) covers a full list sync of a
    mid-size company plus reconciliation in the same minute; it costs 40 of
    1,660 lines a minute. A headroom that leaves nothing
    (``>= requests_per_minute - batch_per_minute``) means batches only.
    """

    requests_per_minute: int = 500
    batch_per_minute: int = 40
    concurrent: int = 10
    requests_per_second: int = 10
    headroom_per_minute: int = 40

    def __post_init__(self):
        rates = (
            self.requests_per_minute,
            self.batch_per_minute,
            self.concurrent,
            self.requests_per_second,
        )
        if min(rates) < 1:
            raise ValueError("limits must be positive")
        if self.headroom_per_minute < 0:
            raise ValueError("headroom_per_minute cannot be negative")

    @property
    def usable_requests_per_minute(self):
        """Requests a minute, as bounded by both the minute and the second limit."""
        return min(self.requests_per_minute, 60 * self.requests_per_second)

    @property
    def single_creates_per_minute(self):
        """Requests a minute left for single creates once batches and the headroom have theirs."""
        spare = self.usable_requests_per_minute - self.batch_per_minute - self.headroom_per_minute
        return max(0, spare)


def lines_per_minute_bound(limits, batch_size):
    """The most lines a minute one app can create: full batches plus single creates.

    40 x 30 + (500 - 40 - 40) = 1,620 with QBO's defaults and a headroom of 40.
    """
    return limits.batch_per_minute * batch_size + limits.single_creates_per_minute
