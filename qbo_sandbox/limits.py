"""Per-realm throttling: requests per minute, batch requests per minute, requests in flight."""

import threading
from collections import deque
from dataclasses import dataclass

WINDOW = 60.0  # sandbox seconds


@dataclass(frozen=True)
class Limits:
    requests_per_minute: int = 500
    batch_per_minute: int = 40
    concurrent: int = 10
    batch_max_items: int = 30


class RealmLimiter:
    """Sliding 60-second windows on the sandbox clock, plus an in-flight counter.

    A refused request is not recorded in the windows: only admitted requests
    use up the quota, as only they reach the API.
    """

    def __init__(self, limits, clock):
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._requests = deque()
        self._batches = deque()
        self.in_flight = 0

    def admit(self, is_batch):
        """True and one slot taken, or False when the request must get a 429."""
        now = self.clock.now()
        with self._lock:
            _expire(self._requests, now)
            _expire(self._batches, now)
            if self.in_flight >= self.limits.concurrent:
                return False
            if len(self._requests) >= self.limits.requests_per_minute:
                return False
            if is_batch and len(self._batches) >= self.limits.batch_per_minute:
                return False
            self._requests.append(now)
            if is_batch:
                self._batches.append(now)
            self.in_flight += 1
            return True

    def release(self):
        with self._lock:
            self.in_flight -= 1


def _expire(window, now):
    horizon = now - WINDOW
    while window and window[0] <= horizon:
        window.popleft()
