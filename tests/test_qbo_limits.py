"""Pacing (per-realm windows and concurrency) and retry waits, on a fake clock."""

import random
import threading
import time

import pytest

from noko_qbo.qbo.errors import QboFault
from noko_qbo.qbo.limits import Limits, RealmPacer, pacer_for
from noko_qbo.qbo.retry import RetryPolicy


class FakeClock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def make_pacer(limits, time_scale=1.0):
    clock = FakeClock()
    return RealmPacer(limits, time_scale=time_scale, clock=clock, sleep=clock.sleep), clock


def run(pacer, n, batch=False, latency=0.0, clock=None):
    """Admit ``n`` requests one after the other; return their admission times."""
    times = []
    for _ in range(n):
        permit = pacer.acquire(batch=batch)
        times.append(clock.now)
        clock.now += latency
        pacer.release(permit)
    return times


def test_requests_within_the_limit_go_at_once():
    pacer, clock = make_pacer(Limits(requests_per_minute=5, batch_per_minute=2, concurrent=3))
    assert run(pacer, 5, clock=clock) == [1000.0] * 5
    assert clock.slept == []


def test_the_sixth_request_waits_for_the_window_counted_from_completion():
    pacer, clock = make_pacer(Limits(requests_per_minute=5, batch_per_minute=2, concurrent=3))
    times = run(pacer, 6, latency=0.5, clock=clock)
    # the first completed at 1000.5: the sixth may start one window (60 s) later, not earlier
    assert times[5] == pytest.approx(1060.5)
    assert clock.slept


def test_batch_requests_have_their_own_smaller_window():
    pacer, clock = make_pacer(Limits(requests_per_minute=100, batch_per_minute=2, concurrent=3))
    times = run(pacer, 3, batch=True, clock=clock)
    assert times == [1000.0, 1000.0, 1060.0]
    # plain requests are not held by the batch window
    assert run(pacer, 1, clock=clock) == [1060.0]


def test_time_scale_shrinks_the_window():
    pacer, clock = make_pacer(
        Limits(requests_per_minute=100, batch_per_minute=2, concurrent=3), time_scale=60
    )
    times = run(pacer, 3, batch=True, clock=clock)
    assert times[2] - times[0] == pytest.approx(1.0)


def test_pause_after_a_429_holds_every_request_of_the_realm():
    pacer, clock = make_pacer(Limits(), time_scale=2)
    pacer.pause(60)  # QBO seconds -> 30 s at time scale 2
    assert run(pacer, 1, clock=clock) == [1030.0]


def test_concurrency_is_capped_with_real_threads():
    pacer = RealmPacer(Limits(requests_per_minute=1000, batch_per_minute=1000, concurrent=2))
    active, peak, lock = [0], [0], threading.Lock()

    def work():
        permit = pacer.acquire()
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1
        pacer.release(permit)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert peak[0] == 2


def test_clients_of_one_realm_share_one_pacer_and_other_realms_do_not():
    limits = Limits(requests_per_minute=7, batch_per_minute=3, concurrent=2)
    first = pacer_for("http://x/v3", "111", limits)
    assert pacer_for("http://x/v3", "111") is first
    assert pacer_for("http://x/v3", "222", limits) is not first
    assert pacer_for("http://y/v3", "111", limits) is not first


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError):
        Limits(requests_per_minute=0)


def test_backoff_grows_exponentially_with_jitter_and_is_bounded():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(1))
    waits = [policy.backoff(n) for n in range(1, 7)]
    for n, wait in enumerate(waits, start=1):
        step = min(8.0, 2 ** (n - 1))
        assert step / 2 <= wait <= step
    scaled = RetryPolicy(time_scale=10, rng=random.Random(1))
    assert scaled.backoff(1) <= 0.1


def test_retry_allows_throttle_and_server_faults_a_bounded_number_of_times_only():
    policy = RetryPolicy(server_attempts=3, throttle_attempts=2)
    server, throttle = QboFault("server"), QboFault("throttle")
    assert policy.allows(server, 2) and not policy.allows(server, 3)
    assert policy.allows(throttle, 1) and not policy.allows(throttle, 2)
    for kind in ("validation", "not_found", "stale", "duplicate", "forbidden", "unknown"):
        assert not policy.allows(QboFault(kind), 1)
