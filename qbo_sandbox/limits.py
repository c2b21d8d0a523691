"""QBO's throttles: per realm and app, and the batch budget every app on a realm shares.

Intuit meters an app on a company (realm and app: the client id the
bearer token was issued to) at 500 requests a minute (batch included),
10 a second, 40 batch requests a minute and 10 in flight; on top of
that every app connected to the company draws from one budget of 120
batch requests a minute, so other apps can use it up.
"""

import threading
from collections import deque
from dataclasses import dataclass, fields

MINUTE = 60.0  # sandbox seconds
SECOND = 1.0


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int = 500
    batch_per_minute: int = 40
    concurrent: int = 10
    batch_max_items: int = 30
    requests_per_second: int = 10
    realm_batch_per_minute: int = 120

    def __post_init__(self):
        for field in fields(self):
            if int(getattr(self, field.name)) < 1:
                raise ValueError(f"{field.name} must be at least 1")


class _AppWindows:
    """One app's sliding windows on one realm, and its requests in flight."""

    __slots__ = ("batches", "in_flight", "minute", "second")

    def __init__(self):
        self.minute = deque()
        self.second = deque()
        self.batches = deque()
        self.in_flight = 0


class RealmThrottle:
    """Admission for one realm: every app's own windows plus the shared batch window.

    Windows slide on the sandbox clock. A refused request is not recorded
    anywhere: only admitted requests reach the API and use up quota.
    """

    def __init__(self, limits, clock):
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._apps = {}
        self._realm_batches = deque()

    def admit(self, app, is_batch):
        """None once a slot is taken, else the name of the limit that refused the request."""
        limits = self.limits
        now = self.clock.now()
        with self._lock:
            windows = self._apps.get(app)
            if windows is None:
                windows = self._apps[app] = _AppWindows()
            _expire(windows.second, now - SECOND)
            _expire(windows.minute, now - MINUTE)
            if windows.in_flight >= limits.concurrent:
                return "concurrent"
            if len(windows.second) >= limits.requests_per_second:
                return "requests_per_second"
            if len(windows.minute) >= limits.requests_per_minute:
                return "requests_per_minute"
            if is_batch:
                _expire(windows.batches, now - MINUTE)
                _expire(self._realm_batches, now - MINUTE)
                if len(windows.batches) >= limits.batch_per_minute:
                    return "batch_per_minute"
                if len(self._realm_batches) >= limits.realm_batch_per_minute:
                    return "realm_batch_per_minute"
                windows.batches.append(now)
                self._realm_batches.append(now)
            windows.second.append(now)
            windows.minute.append(now)
            windows.in_flight += 1
            return None

    def release(self, app):
        with self._lock:
            self._apps[app].in_flight -= 1

    def other_app_batches(self, n):
        """Record ``n`` batch requests another app just sent to this realm."""
        now = self.clock.now()
        with self._lock:
            self._realm_batches.extend([now] * n)

    @property
    def in_flight(self):
        with self._lock:
            return sum(w.in_flight for w in self._apps.values())


def _expire(window, horizon):
    while window and window[0] <= horizon:
        window.popleft()
