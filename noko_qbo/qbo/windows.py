"""The sliding windows of one realm, as pure functions over a serialisable state.

Everything here is arithmetic on a :class:`WindowState` and a ``now`` taken
from the clock of whoever stores the state (see :mod:`.pacing`): no lock, no
sleep, no I/O, so the same code decides for threads of one process and for
Odoo workers on several machines sharing one database row.

How a request is counted: it occupies a slot of every window from the moment
it is admitted (a *lease*) until one window length after it *completes*.
Counting from completion rather than from sending is what makes the client
strictly safe whatever the server's window alignment and the network
latency: any request the server saw inside a window of length W was, on our
side, still in flight or completed less than W ago. It costs one round trip
per window: a few percent of the minute, but up to half of the per-second
window when answers take a second.

A lease expires (``expires_at``): a process that dies mid-request cannot
hold a slot forever. An expired lease counts as a request completed at its
expiry, which is never earlier than the real completion because QBO ends
every request after 120 seconds.
"""

from __future__ import annotations

import bisect
import math
import uuid
from dataclasses import dataclass, field

#: What a request is, for pacing: anything (reads, deletes), a batch request, or a
#: single create of a bulk send, which may only use what batches and headroom leave.
REQUEST, BATCH, BULK = "request", "batch", "bulk"


@dataclass
class Lease:
    """One admitted request still in flight."""

    id: str
    kind: str
    expires_at: float


@dataclass
class WindowState:
    """What every window of one realm needs to know; see :meth:`to_dict` for storage.

    Times are seconds on the store's clock. ``done`` and ``done_batch`` are
    sorted completion times (all requests, batch requests) of the last
    minute window; ``paused_until`` holds every request after a 429,
    ``batch_paused_until`` only batch requests (a 429 on a batch request).
    """

    done: list = field(default_factory=list)
    done_batch: list = field(default_factory=list)
    leases: dict = field(default_factory=dict)
    paused_until: float = 0.0
    batch_paused_until: float = 0.0

    def to_dict(self):
        """A JSON-able dict (what a database row stores)."""
        return {
            "done": list(self.done),
            "done_batch": list(self.done_batch),
            "leases": [
                {"id": lease.id, "kind": lease.kind, "expires_at": lease.expires_at}
                for lease in self.leases.values()
            ],
            "paused_until": self.paused_until,
            "batch_paused_until": self.batch_paused_until,
        }

    @classmethod
    def from_dict(cls, data):
        """The state stored by :meth:`to_dict`; ``{}`` or ``None`` is a fresh realm."""
        data = data or {}
        leases = (Lease(d["id"], d["kind"], float(d["expires_at"])) for d in data.get("leases", ()))
        return cls(
            done=sorted(float(t) for t in data.get("done", ())),
            done_batch=sorted(float(t) for t in data.get("done_batch", ())),
            leases={lease.id: lease for lease in leases},
            paused_until=float(data.get("paused_until") or 0.0),
            batch_paused_until=float(data.get("batch_paused_until") or 0.0),
        )


@dataclass(frozen=True)
class Windows:
    """The window lengths in seconds of the store's clock (shorter on a time-scaled sandbox)."""

    minute: float
    second: float

    @classmethod
    def scaled(cls, time_scale):
        return cls(60.0 / time_scale, 1.0 / time_scale)


@dataclass(frozen=True)
class Wait:
    """How long before one more request fits.

    ``seconds`` is a lower bound (<= 0: no window stands in the way);
    ``in_flight`` says that requests still in flight stand in the way too,
    for a time nobody knows yet.
    """

    seconds: float
    in_flight: bool = False

    @property
    def ready(self):
        return self.seconds <= 0 and not self.in_flight


def settle(state, now, windows):
    """Turn expired leases into completions and forget completions older than a minute window."""
    for lease in [lease for lease in state.leases.values() if lease.expires_at <= now]:
        del state.leases[lease.id]
        _record(state, lease.kind, lease.expires_at)
    horizon = now - windows.minute
    for done in (state.done, state.done_batch):
        del done[: bisect.bisect_right(done, horizon)]


def wait_before(state, now, kind, limits, windows):
    """The :class:`Wait` before one more request of ``kind`` fits (``state`` settled first)."""
    in_flight = len(state.leases)
    in_flight_batch = sum(1 for lease in state.leases.values() if lease.kind == BATCH)
    waits = [_pause_left(state, now, kind)]
    if in_flight >= limits.concurrent:
        waits.append(None)
    minute_limit = limits.requests_per_minute
    if kind == BULK:
        minute_limit -= limits.headroom_per_minute + _batch_reserve(
            state, now, limits, in_flight_batch
        )
    waits.append(_Window(state.done, in_flight, minute_limit, windows.minute).wait(now))
    waits.append(
        _Window(state.done, in_flight, limits.requests_per_second, windows.second).wait(now)
    )
    if kind == BATCH:
        batches = _Window(
            state.done_batch, in_flight_batch, limits.batch_per_minute, windows.minute
        )
        waits.append(batches.wait(now))
    known = [wait for wait in waits if wait is not None]
    return Wait(max(known), in_flight=len(known) < len(waits))


def admit(state, now, kind, lease_seconds):
    """Take a slot for one request of ``kind``: its lease."""
    lease = Lease(uuid.uuid4().hex, kind, now + lease_seconds)
    state.leases[lease.id] = lease
    return lease


def complete(state, lease_id, kind, now):
    """The request of ``lease_id`` is answered (or failed): it now counts from ``now``.

    A lease that already expired was counted at its expiry; counting it again
    now errs on the safe side.
    """
    state.leases.pop(lease_id, None)
    _record(state, kind, now)


def cancel(state, lease_id):
    """Give back a slot that was never used for a request."""
    state.leases.pop(lease_id, None)


def pause(state, until, *, batch_only=False):
    """Hold every request (or only batch requests) until ``until``."""
    if batch_only:
        state.batch_paused_until = max(state.batch_paused_until, until)
    else:
        state.paused_until = max(state.paused_until, until)


def _pause_left(state, now, kind):
    until = state.paused_until
    if kind == BATCH:
        until = max(until, state.batch_paused_until)
    return until - now


def _record(state, kind, when):
    bisect.insort(state.done, when)
    if kind == BATCH:
        bisect.insort(state.done_batch, when)


def _batch_reserve(state, now, limits, in_flight_batch):
    """The minute's batch requests not used yet, which single creates must leave to batches.

    While batches are paused (QBO refused one: another app may be using the
    realm-wide batch cap), single creates may use those slots.
    """
    if state.batch_paused_until > now:
        return 0
    return max(0, limits.batch_per_minute - in_flight_batch - len(state.done_batch))


@dataclass(frozen=True)
class _Window:
    """One limit over one window: completions, requests in flight, the limit, the length."""

    done: list
    in_flight: int
    limit: int
    length: float

    def wait(self, now):
        """Seconds until one more request fits (<= 0: now), None if only in-flight ones block."""
        if self.limit < 1:
            return math.inf
        recent = self.done[bisect.bisect_right(self.done, now - self.length) :]
        excess = self.in_flight + len(recent) + 1 - self.limit
        if excess <= 0:
            return 0.0
        if excess > len(recent):
            return None
        return recent[excess - 1] + self.length - now
