"""When to try a QBO request again, and how long to wait first.

Throttles wait what QBO asks (Retry-After, else a minute) and are retried a
bounded number of times; server errors, timeouts and dropped connections back
off exponentially with jitter; validation-type faults are never retried,
because the same request gets the same answer.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field


@dataclass
class RetryPolicy:
    """Bounds and waits for retries (all waits are in QBO seconds, divided by ``time_scale``).

    Hook: pass a subclass or another instance to :class:`.client.QboClient`
    to change the bounds per job (e.g. fewer attempts in an interactive call).
    """

    server_attempts: int = 4  # tries in all for 5xx / timeouts / resets
    throttle_attempts: int = 5  # tries in all when answered 429
    base_delay: float = 1.0
    max_delay: float = 30.0
    time_scale: float = 1.0
    sleep: callable = field(default=time.sleep, repr=False)
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def backoff(self, failures):
        """Seconds to wait after the ``failures``-th consecutive server failure (1-based).

        "Equal jitter": half the exponential step is fixed, half random, so
        concurrent workers spread out but none retries immediately.
        """
        step = min(self.max_delay, self.base_delay * 2 ** (failures - 1))
        return (step / 2 + self.rng.uniform(0, step / 2)) / self.time_scale

    def wait(self, seconds):
        """Sleep ``seconds`` that are already in real time."""
        if seconds > 0:
            self.sleep(seconds)

    def allows(self, fault, attempt):
        """Whether a request that failed with ``fault`` on try ``attempt`` (1-based) may go on."""
        if fault.kind == "throttle":
            return attempt < self.throttle_attempts
        if fault.kind == "server":
            return attempt < self.server_attempts
        return False
