"""Pacing under Intuit's per-realm limits, so that normal operation never draws a 429.

QBO counts per realm (and app): 500 requests a minute (batch requests
included), 40 batch requests a minute and 10 concurrent requests. Every
:class:`.client.QboClient` of the same realm in the process shares one
:class:`RealmPacer` (see :func:`pacer_for`), so two export jobs running side
by side together stay under the limits.

How a request is counted: it occupies a slot of each window from the moment
it is admitted until one window length after it *completes*. Counting from
completion rather than from sending is what makes the client strictly safe
whatever the server's window alignment and the network latency: any request
the server saw inside a window of length W was, on our side, still in flight
or completed less than W ago. It costs one round trip per window (a few
percent at QBO's real one-minute window).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

_logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Per-realm client-side limits (QBO's published defaults)."""

    requests_per_minute: int = 500
    batch_per_minute: int = 40
    concurrent: int = 10

    def __post_init__(self):
        if min(self.requests_per_minute, self.batch_per_minute, self.concurrent) < 1:
            raise ValueError("limits must be positive")


class Permit:
    """Admission of one request; give it back with :meth:`RealmPacer.release`."""

    __slots__ = ("batch", "released")

    def __init__(self, batch):
        self.batch = batch
        self.released = False


class RealmPacer:
    """Sliding windows and a concurrency cap for one realm.

    ``time_scale`` shrinks the one-minute window (and pauses) for a
    time-scaled sandbox: 60 plays a minute in a second. ``clock`` and
    ``sleep`` are injectable so tests can run on a fake clock.
    """

    def __init__(self, limits=None, *, time_scale=1.0, clock=time.monotonic, sleep=time.sleep):
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.limits = limits or Limits()
        self.time_scale = float(time_scale)
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._done = deque()  # completion times of all requests in the last window
        self._done_batch = deque()  # completion times of batch requests
        self._in_flight = 0
        self._in_flight_batch = 0
        self._paused_until = 0.0
        self.waited = 0.0  # seconds spent waiting for the windows (for benchmarks)

    @property
    def window(self):
        return 60.0 / self.time_scale

    def configure(self, limits=None, time_scale=None):
        """Adopt new limits (e.g. a client created with ``batch_size=10`` and lower limits)."""
        with self._cond:
            if limits is not None:
                self.limits = limits
            if time_scale is not None:
                self.time_scale = float(time_scale)
            self._cond.notify_all()

    def acquire(self, batch=False):
        """Block until one more request (a batch request if ``batch``) fits; return its permit."""
        while True:
            with self._cond:
                while self._in_flight >= self.limits.concurrent:
                    self._cond.wait()
                now = self._clock()
                wait = self._wait_needed(now, batch)
                if wait is None:
                    # Only in-flight requests fill the window: wait for one to finish.
                    self._cond.wait()
                    continue
                if wait <= 0:
                    self._in_flight += 1
                    self._in_flight_batch += batch
                    return Permit(batch)
            self.waited += wait
            self._sleep(wait)

    def release(self, permit):
        """Give back a permit once the answer (or the failure) is in."""
        if permit.released:
            return
        permit.released = True
        with self._cond:
            now = self._clock()
            self._in_flight -= 1
            self._done.append(now)
            if permit.batch:
                self._in_flight_batch -= 1
                self._done_batch.append(now)
            self._cond.notify_all()

    def pause(self, seconds):
        """Hold every request of this realm for ``seconds`` of QBO time (after a 429)."""
        with self._cond:
            until = self._clock() + seconds / self.time_scale
            if until > self._paused_until:
                _logger.info("QBO throttled this realm: pausing requests %.1fs", seconds)
                self._paused_until = until

    def _wait_needed(self, now, batch):
        """Seconds until a request fits (<= 0: now), or None if only in-flight ones block."""
        horizon = now - self.window
        for done in (self._done, self._done_batch):
            while done and done[0] <= horizon:
                done.popleft()
        waits = [self._paused_until - now]
        for limit, in_flight, done, applies in (
            (self.limits.requests_per_minute, self._in_flight, self._done, True),
            (self.limits.batch_per_minute, self._in_flight_batch, self._done_batch, batch),
        ):
            if not applies:
                continue
            excess = in_flight + len(done) - limit + 1
            if excess <= 0:
                continue
            if excess > len(done):
                return None
            waits.append(done[excess - 1] + self.window - now)
        return max(waits)


_registry = {}
_registry_lock = threading.Lock()


def pacer_for(api_base, realm_id, limits=None, *, time_scale=1.0):
    """The process-wide pacer of one realm, created on first use.

    A later caller passing explicit ``limits`` (or another ``time_scale``)
    reconfigures the shared pacer: the last configuration wins.
    """
    key = (api_base, str(realm_id))
    with _registry_lock:
        pacer = _registry.get(key)
        if pacer is None:
            pacer = _registry[key] = RealmPacer(limits, time_scale=time_scale)
            return pacer
    if limits is not None and (limits != pacer.limits or time_scale != pacer.time_scale):
        pacer.configure(limits, time_scale)
    elif time_scale != pacer.time_scale:
        pacer.configure(time_scale=time_scale)
    return pacer
