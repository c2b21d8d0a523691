"""Fault injection: make the next requests fail the ways production does."""

import threading
from dataclasses import dataclass

MODES = ("500", "502", "503", "429", "timeout", "reset")


@dataclass
class _Plan:
    mode: str
    remaining: int
    path: str = None

    def applies_to(self, path):
        return self.path is None or self.path in path


class FaultInjector:
    """Queues of planned failures, consumed by the requests they match.

    ``fail_next`` failures happen *instead of* the request; ``apply_then_drop``
    happens *after* it: the change is stored, the answer is lost.
    """

    def __init__(self, hold_seconds=30.0):
        self.hold_seconds = hold_seconds
        self._lock = threading.Lock()
        self._failures = []
        self._drops = []
        self._release = threading.Event()

    def fail_next(self, n=1, mode="503", path=None):
        mode = str(mode)
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        with self._lock:
            self._failures.append(_Plan(mode, int(n), path))

    def apply_then_drop(self, n=1, path="/batch"):
        with self._lock:
            self._drops.append(_Plan("drop", int(n), path))

    def take_failure(self, path):
        return self._take(self._failures, path)

    def take_drop(self, path):
        return self._take(self._drops, path) is not None

    def _take(self, plans, path):
        with self._lock:
            for plan in plans:
                if plan.applies_to(path):
                    plan.remaining -= 1
                    if plan.remaining <= 0:
                        plans.remove(plan)
                    return plan.mode
        return None

    def hold(self):
        """Keep a 'timeout' request waiting; released early by ``release_holds``."""
        self._release.wait(self.hold_seconds)

    def release_holds(self):
        with self._lock:
            self._release.set()
            self._release = threading.Event()

    def clear(self):
        with self._lock:
            self._failures.clear()
            self._drops.clear()
        self.release_holds()
