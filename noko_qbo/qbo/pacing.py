"""Pacing under Intuit's per-realm limits, shared by everything that talks to one realm.

A :class:`RealmPacer` admits each request when every window of
:mod:`.windows` has room, and holds the realm after a 429. Its state lives
in a :class:`WindowStore`, so several processes (Odoo workers on several
machines, several runs and companies on one realm) can pace together and a
pause one of them learns from a 429 holds for all: the Odoo layer stores it
in PostgreSQL; :class:`MemoryWindowStore` serves the threads of one process.

Waiting cannot use a condition across processes: the pacer polls the store
with short sleeps, and wakes early when a request of its own process ends.
With a ``deadline`` no wait runs past it: :class:`.errors.Deferred` says how
long until QBO allows more.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager
from typing import Protocol, runtime_checkable

from . import windows
from .errors import Deferred
from .limits import Limits
from .windows import REQUEST, Windows, WindowState

_logger = logging.getLogger(__name__)

#: QBO ends every request after 120 s: a lease outlives any request it admitted.
LEASE_SECONDS = 150.0
#: The longest nap between two looks at the store (other processes change it).
MAX_NAP = 5.0


@runtime_checkable
class WindowStore(Protocol):
    """Where one realm's :class:`.windows.WindowState` lives.

    ``transaction()`` is a context manager yielding ``(state, now)``:
    exclusive (no other transaction of the same realm runs meanwhile, in any
    process), ``now`` read from the store's own clock once the exclusive
    access is held (in seconds, e.g. the database's ``clock_timestamp()``
    as epoch seconds: workers on several machines share that clock), and the
    state persisted when the block exits normally (discarded if it raises).
    Transactions are short: the pacer never sleeps or sends inside one.
    """

    def transaction(self):
        """``with store.transaction() as (state, now): ...``"""


class MemoryWindowStore:
    """In-process :class:`WindowStore`: one lock, ``time.monotonic`` (or an injected clock)."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._state = WindowState()

    @contextmanager
    def transaction(self):
        with self._lock:
            # The state object itself is the stored value: updates are persisted in place.
            yield self._state, self._clock()


class Permit:
    """Admission of one request; give it back with :meth:`RealmPacer.release` (or ``cancel``)."""

    __slots__ = ("kind", "lease_id", "done")

    def __init__(self, kind, lease_id):
        self.kind = kind
        self.lease_id = lease_id
        self.done = False


class RealmPacer:
    """Admission to one realm's windows, through a :class:`WindowStore`.

    ``time_scale`` shrinks the windows and pauses for a time-scaled sandbox:
    60 plays a minute in a second. ``monotonic`` is the clock of deadlines
    (``time.monotonic`` values); ``sleep`` replaces the default nap (which
    wakes early when a request of this pacer ends); both are injectable so
    tests can run on a fake clock.
    """

    def __init__(
        self,
        limits=None,
        *,
        store=None,
        time_scale=1.0,
        lease_seconds=LEASE_SECONDS,
        poll_interval=0.05,
        monotonic=time.monotonic,
        sleep=None,
    ):
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.limits = limits or Limits()
        self.store = store if store is not None else MemoryWindowStore()
        self.time_scale = float(time_scale)
        self.lease_seconds = lease_seconds
        self.poll_interval = poll_interval
        self._monotonic = monotonic
        self._sleep = sleep or self._nap_until_release
        self._released = threading.Condition()

    @property
    def windows(self):
        return Windows.scaled(self.time_scale)

    def configure(self, limits=None, time_scale=None):
        """Adopt new limits or time scale (see :func:`pacer_for`)."""
        if limits is not None:
            self.limits = limits
        if time_scale is not None:
            self.time_scale = float(time_scale)

    def acquire(self, *kinds, deadline=None):
        """A :class:`Permit` for the first of ``kinds`` (default ``request``) that fits.

        Waits until one fits; with a ``deadline`` (a ``time.monotonic()``
        value) raises :class:`.errors.Deferred` rather than wait past it.
        """
        kinds = kinds or (REQUEST,)
        while True:
            with self.store.transaction() as (state, now):
                windows.settle(state, now, self.windows)
                waits = []
                for kind in kinds:
                    wait = windows.wait_before(state, now, kind, self.limits, self.windows)
                    if wait.ready:
                        lease = windows.admit(state, now, kind, self.lease_seconds)
                        return Permit(kind, lease.id)
                    waits.append(wait)
            self._wait(min(waits, key=lambda wait: wait.seconds), deadline)

    def release(self, permit):
        """Give back a permit once the answer (or the failure) is in."""
        self._give_back(permit, used=True)

    def cancel(self, permit):
        """Give back a permit that was not used for a request after all."""
        self._give_back(permit, used=False)

    def pause(self, seconds, *, batch_only=False):
        """Hold this realm's requests (or only its batch requests) ``seconds`` of QBO time.

        Every pacer sharing the store sees the pause.
        """
        with self.store.transaction() as (state, now):
            windows.pause(state, now + seconds / self.time_scale, batch_only=batch_only)
        _logger.info(
            "QBO throttled this realm: holding %s %.1fs",
            "batch requests" if batch_only else "requests",
            seconds,
        )

    def _give_back(self, permit, *, used):
        if permit.done:
            return
        permit.done = True
        with self.store.transaction() as (state, now):
            if used:
                windows.complete(state, permit.lease_id, permit.kind, now)
            else:
                windows.cancel(state, permit.lease_id)
        with self._released:
            self._released.notify_all()

    def _wait(self, wait, deadline):
        """Nap before looking again; :class:`.errors.Deferred` instead of passing ``deadline``."""
        if wait.seconds == float("inf"):
            raise ValueError("these limits leave no room for this kind of request")
        nap = max(wait.seconds, self.poll_interval if wait.in_flight else 0.0)
        nap = min(nap, MAX_NAP)
        if deadline is not None:
            left = deadline - self._monotonic()
            if wait.seconds > left or left <= 0:
                raise Deferred(max(wait.seconds, self.windows.second))
            nap = min(nap, left)
        self._sleep(nap)

    def _nap_until_release(self, seconds):
        with self._released:
            self._released.wait(seconds)


_registry = {}
_registry_lock = threading.Lock()


def pacer_for(api_base, realm_id, limits=None, *, time_scale=1.0):
    """The process-wide pacer of one realm (in-memory store), created on first use.

    A later caller passing explicit ``limits`` (or another ``time_scale``)
    reconfigures the shared pacer: the last configuration wins.
    """
    key = (api_base, str(realm_id))
    with _registry_lock:
        pacer = _registry.get(key)
        if pacer is None:
            pacer = _registry[key] = RealmPacer(limits, time_scale=time_scale)
            return pacer
    if limits is not None and limits != pacer.limits:
        pacer.configure(limits=limits)
    if time_scale != pacer.time_scale:
        pacer.configure(time_scale=time_scale)
    return pacer
