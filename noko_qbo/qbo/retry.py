"""When to try a QBO request again, and how long to wait first.

Throttles are retried a bounded number of times (the wait itself is the
pacer's: the realm is paused for Retry-After, else a minute); server errors,
timeouts and dropped connections back off exponentially with jitter;
validation-type faults are never retried, because the same request gets the
same answer. No wait runs past a caller's deadline.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

from .errors import Deferred


@dataclass
class RetryPolicy:
    """Bounds and waits for retries (all waits are in QBO seconds, divided by ``time_scale``).

    ``clock`` (a ``time.monotonic``-like function, the clock of deadlines) and
    ``sleep`` are injectable for tests. Hook: pass a subclass or another
    instance to :class:`.client.QboClient` to change the bounds per job (e.g.
    fewer attempts in an interactive call).
    """

    server_attempts: int = 4  # tries in all for 5xx / timeouts / resets
    throttle_attempts: int = 5  # tries in all when answered 429
    base_delay: float = 1.0
    max_delay: float = 30.0
    time_scale: float = 1.0
    sleep: callable = field(default=time.sleep, repr=False)
    clock: callable = field(default=time.monotonic, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def backoff(self, failures):
        """Real seconds to wait after the ``failures``-th consecutive server failure (1-based).

        "Equal jitter": half the exponential step is fixed, half random, so
        concurrent workers spread out but none retries immediately.
        """
        step = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
        return (step / 2 + self.rng.uniform(0, step / 2)) / self.time_scale

    def wait(self, seconds, *, deadline=None):
        """Sleep ``seconds`` of real time; raise :class:`.errors.Deferred` rather than pass it."""
        if seconds <= 0:
            return
        if deadline is not None and self.clock() + seconds > deadline:
            raise Deferred(
                seconds, kind="server", message="Backing off would run past the deadline"
            )
        self.sleep(seconds)

    def allows(self, fault, attempt):
        """Whether a request that failed with ``fault`` on try ``attempt`` (1-based) may go on."""
        if fault.kind == "throttle":
            return attempt < self.throttle_attempts
        if fault.kind == "server":
            return attempt < self.server_attempts
        return False
