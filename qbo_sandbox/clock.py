"""The sandbox clock: real time sped up by ``time_scale`` and movable by tests."""

import threading
import time
from datetime import datetime, timedelta, timezone

try:
    from zoneinfo import ZoneInfo

    # QBO stamps MetaData and response times in US Pacific time.
    PACIFIC = ZoneInfo("America/Los_Angeles")
except Exception:  # no tz database: QBO's winter offset is close enough
    PACIFIC = timezone(timedelta(hours=-8))


class Clock:
    """Seconds since the epoch as the sandbox sees them.

    Token lifetimes and rate windows are measured on this clock, so a
    ``time_scale`` of 60 plays a minute in a real second and
    ``advance()`` lets tests jump past an expiry without sleeping.
    """

    def __init__(self, time_scale=1.0):
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self.time_scale = float(time_scale)
        self._lock = threading.Lock()
        self._real_origin = time.monotonic()
        self._wall_origin = time.time()
        self._offset = 0.0

    def now(self):
        elapsed = (time.monotonic() - self._real_origin) * self.time_scale
        return self._wall_origin + elapsed + self._offset

    def advance(self, seconds):
        with self._lock:
            self._offset += float(seconds)

    def real_seconds(self, sandbox_seconds):
        """How long ``sandbox_seconds`` last in real time."""
        return sandbox_seconds / self.time_scale

    def local(self):
        return datetime.fromtimestamp(self.now(), PACIFIC)

    def stamp(self):
        """A MetaData timestamp, e.g. ``2025-03-01T09:15:02-08:00``."""
        return self.local().isoformat(timespec="seconds")

    def response_time(self):
        """The ``time`` field of API answers, with milliseconds."""
        return self.local().isoformat(timespec="milliseconds")

    def today(self):
        return self.local().date()

    def epoch_ms(self):
        return int(self.now() * 1000)
