"""Pacing: per-realm windows, concurrency, leases and pauses shared through a store; retry waits."""

import random
import threading
import time

import pytest
from qbo_support import FakeClock, SerializedWindowStore

from noko_qbo.qbo.errors import Deferred, QboFault
from noko_qbo.qbo.limits import Limits, lines_per_minute_bound
from noko_qbo.qbo.pacing import MemoryWindowStore, RealmPacer, WindowStore, pacer_for
from noko_qbo.qbo.retry import RetryPolicy
from noko_qbo.qbo.windows import BATCH, BULK, REQUEST, WindowState

SMALL = dict(requests_per_minute=5, batch_per_minute=2, concurrent=3, headroom_per_minute=0)


def make_pacer(limits, time_scale=1.0, clock=None, store=None):
    clock = clock or FakeClock()
    store = store or MemoryWindowStore(clock)
    pacer = RealmPacer(
        limits, store=store, time_scale=time_scale, monotonic=clock, sleep=clock.sleep
    )
    return pacer, clock


def run(pacer, n, kind=REQUEST, latency=0.0, clock=None):
    """Admit ``n`` requests one after the other; return their admission times."""
    times = []
    for _ in range(n):
        permit = pacer.acquire(kind)
        times.append(clock.now)
        clock.now += latency
        pacer.release(permit)
    return times


def test_requests_within_the_limit_go_at_once():
    pacer, clock = make_pacer(Limits(**SMALL))
    assert run(pacer, 5, clock=clock) == [1000.0] * 5
    assert clock.slept == []


def test_the_sixth_request_waits_for_the_window_counted_from_completion():
    pacer, clock = make_pacer(Limits(**SMALL))
    times = run(pacer, 6, latency=0.5, clock=clock)
    # the first completed at 1000.5: the sixth may start one window (60 s) later, not earlier
    assert times[5] == pytest.approx(1060.5)
    assert clock.slept


def test_batch_requests_have_their_own_smaller_window():
    pacer, clock = make_pacer(Limits(**{**SMALL, "requests_per_minute": 100}))
    assert run(pacer, 3, kind=BATCH, clock=clock) == [1000.0, 1000.0, 1060.0]
    # plain requests are not held by the batch window
    assert run(pacer, 1, clock=clock) == [1060.0]


def test_requests_per_second_are_capped_too():
    pacer, clock = make_pacer(Limits(requests_per_minute=100, requests_per_second=2))
    times = run(pacer, 5, latency=0.1, clock=clock)
    # two a second, each counted until a second after its answer
    assert times[:2] == pytest.approx([1000.0, 1000.1])
    assert times[2] == pytest.approx(1001.1)  # the first answered at 1000.1
    assert times[4] - times[2] >= 1.0


def test_time_scale_shrinks_the_window():
    pacer, clock = make_pacer(Limits(**{**SMALL, "requests_per_minute": 100}), time_scale=60)
    times = run(pacer, 3, kind=BATCH, clock=clock)
    assert times[2] - times[0] == pytest.approx(1.0)


def test_single_creates_leave_the_batches_and_the_headroom_their_share():
    limits = Limits(
        requests_per_minute=10, batch_per_minute=2, concurrent=10, headroom_per_minute=3
    )
    assert limits.single_creates_per_minute == 5
    pacer, clock = make_pacer(limits)
    assert run(pacer, 5, kind=BULK, clock=clock) == [1000.0] * 5
    with pytest.raises(Deferred):
        pacer.acquire(BULK, deadline=clock.now + 1)
    # what the single creates left: both batch requests and the headroom for reads
    assert run(pacer, 2, kind=BATCH, clock=clock) == [1000.0] * 2
    assert run(pacer, 3, kind=REQUEST, clock=clock) == [1000.0] * 3


def test_acquire_takes_the_first_kind_that_fits():
    pacer, clock = make_pacer(
        Limits(requests_per_minute=20, batch_per_minute=1, headroom_per_minute=0)
    )
    first = pacer.acquire(BATCH, BULK)
    second = pacer.acquire(BATCH, BULK)
    assert (first.kind, second.kind) == (BATCH, BULK)


def test_combined_bound_is_batches_plus_the_single_creates_left():
    assert lines_per_minute_bound(Limits(), 30) == 40 * 30 + (500 - 40 - 40)
    assert lines_per_minute_bound(Limits(headroom_per_minute=460), 30) == 1200
    assert lines_per_minute_bound(Limits(requests_per_minute=6, batch_per_minute=2), 10) == 20


def test_pause_after_a_429_holds_every_request_of_the_realm():
    pacer, clock = make_pacer(Limits(), time_scale=2)
    pacer.pause(60)  # QBO seconds -> 30 s at time scale 2
    assert run(pacer, 1, clock=clock) == [1030.0]


def test_a_batch_429_holds_batches_only_and_frees_their_share_for_single_creates():
    limits = Limits(
        requests_per_minute=10, batch_per_minute=4, concurrent=10, headroom_per_minute=2
    )
    pacer, clock = make_pacer(limits)
    pacer.pause(60, batch_only=True)
    # the 4 batch slots nobody can use now go to single creates: 10 - 2 headroom
    assert run(pacer, 8, kind=BULK, clock=clock) == [1000.0] * 8
    assert run(pacer, 1, kind=BATCH, clock=clock) == [1060.0]


def test_no_wait_runs_past_a_deadline():
    pacer, clock = make_pacer(Limits(**SMALL))
    run(pacer, 5, clock=clock)
    start = clock.now
    with pytest.raises(Deferred) as caught:
        pacer.acquire(deadline=start + 10)
    assert clock.now <= start + 10
    assert caught.value.retry_after == pytest.approx(60.0)  # until the first request ages out
    assert caught.value.kind == "throttle"


def test_waiting_on_requests_in_flight_stops_at_the_deadline():
    pacer, clock = make_pacer(Limits(**{**SMALL, "concurrent": 1}))
    pacer.acquire()  # never released in time
    start = clock.now
    with pytest.raises(Deferred):
        pacer.acquire(deadline=start + 0.3)
    assert start + 0.2 < clock.now <= start + 0.3


def test_window_state_survives_json():
    state = WindowState(done=[3.0, 1.0], done_batch=[1.0], paused_until=9.5)
    pacer, clock = make_pacer(Limits(), store=MemoryWindowStore(FakeClock()))
    restored = WindowState.from_dict(state.to_dict())
    assert restored.done == [1.0, 3.0] and restored.paused_until == 9.5
    assert WindowState.from_dict({}) == WindowState() == WindowState.from_dict(None)
    assert isinstance(pacer.store, WindowStore)


def two_processes(limits, clock, **kwargs):
    """Two pacers of one realm in two 'processes': nothing shared but the store's JSON row."""
    store = SerializedWindowStore(clock)
    return [make_pacer(limits, clock=clock, store=store, **kwargs)[0] for _ in range(2)], store


def test_two_processes_sharing_a_store_stay_under_the_limits_together():
    pacers, store = two_processes(Limits(**SMALL), FakeClock())
    clock = pacers[0]._monotonic
    times = []
    for n in range(8):
        pacer = pacers[n % 2]
        permit = pacer.acquire()
        times.append(clock.now)
        pacer.release(permit)
    assert times[:5] == [1000.0] * 5
    assert min(times[5:]) >= 1060.0  # the 6th, from either process, waited for the window
    assert store.transactions > 0


def test_concurrency_is_capped_across_processes():
    pacers, _store = two_processes(Limits(**{**SMALL, "concurrent": 2}), FakeClock())
    pacers[0].acquire()
    pacers[0].acquire()
    with pytest.raises(Deferred):
        pacers[1].acquire(deadline=pacers[1]._monotonic() + 1)


def test_a_pause_one_process_learns_holds_for_all():
    pacers, _store = two_processes(Limits(), FakeClock())
    clock = pacers[0]._monotonic
    pacers[0].pause(60)
    permit = pacers[1].acquire()
    assert clock.now == pytest.approx(1060.0)
    pacers[1].release(permit)


def test_a_crashed_process_lease_expires_and_counts_until_a_window_after_its_expiry():
    clock = FakeClock()
    limits = Limits(requests_per_minute=3, concurrent=1, headroom_per_minute=0)
    pacers, _store = two_processes(limits, clock)
    for pacer in pacers:
        pacer.lease_seconds = 150.0
    pacers[0].acquire()  # and the process dies: never released
    permit = pacers[1].acquire()
    # the slot came back when the lease expired (found by polling)
    assert clock.now == pytest.approx(1150.0, abs=0.1)
    pacers[1].release(permit)
    # the dead request counts as answered at its lease's expiry, for a whole window
    clock.now = 1150.0 + 1.0
    run(pacers[1], 1, clock=clock)
    assert clock.now < 1210.0
    run(pacers[1], 1, clock=clock)
    assert clock.now >= 1210.0


def test_threads_of_two_processes_stay_under_every_limit_on_a_real_clock():
    """Simulate QBO: requests arrive when admitted; no window of it may see more than the limit."""
    limits = Limits(
        requests_per_minute=30, requests_per_second=3, concurrent=3, headroom_per_minute=0
    )
    store = SerializedWindowStore(time.monotonic)
    pacers = [RealmPacer(limits, store=store, time_scale=120) for _ in range(2)]
    minute, second = 60 / 120, 1 / 120
    arrivals, lock, active, peak = [], threading.Lock(), [0], [0]

    def client(pacer, rng):
        while True:
            permit = pacer.acquire()
            with lock:
                if len(arrivals) >= 75:
                    active[0] += 1
                    pacer.cancel(permit)
                    active[0] -= 1
                    return
                arrivals.append(time.monotonic())
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(rng.uniform(0, 0.004))
            with lock:
                active[0] -= 1
            pacer.release(permit)

    threads = [
        threading.Thread(target=client, args=(pacers[n % 2], random.Random(n))) for n in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    arrivals.sort()

    def most_in(window):
        return max(
            sum(1 for t in arrivals[i:] if t < start + window) for i, start in enumerate(arrivals)
        )

    assert peak[0] <= 3
    assert most_in(minute) <= 30
    assert most_in(second) <= 3
    assert arrivals[-1] - arrivals[0] >= 2 * minute  # 75 requests need three windows


def test_concurrency_is_capped_with_real_threads():
    pacer = RealmPacer(
        Limits(
            requests_per_minute=1000, batch_per_minute=1000, requests_per_second=1000, concurrent=2
        )
    )
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
    with pytest.raises(ValueError):
        Limits(requests_per_second=0)
    with pytest.raises(ValueError):
        Limits(headroom_per_minute=-1)


def test_backoff_grows_exponentially_with_jitter_and_is_bounded():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, rng=random.Random(1))
    waits = [policy.backoff(n) for n in range(1, 7)]
    for n, wait in enumerate(waits, start=1):
        step = min(8.0, 2 ** (n - 1))
        assert step / 2 <= wait <= step
    scaled = RetryPolicy(time_scale=10, rng=random.Random(1))
    assert scaled.backoff(1) <= 0.1


def test_a_backoff_past_the_deadline_is_deferred_without_sleeping():
    clock = FakeClock()
    policy = RetryPolicy(sleep=clock.sleep, clock=clock)
    policy.wait(2.0, deadline=clock.now + 5)
    with pytest.raises(Deferred) as caught:
        policy.wait(4.0, deadline=clock.now + 3)
    assert clock.slept == [2.0]
    assert (caught.value.kind, caught.value.retry_after) == ("server", 4.0)


def test_retry_allows_throttle_and_server_faults_a_bounded_number_of_times_only():
    policy = RetryPolicy(server_attempts=3, throttle_attempts=2)
    server, throttle = QboFault("server"), QboFault("throttle")
    assert policy.allows(server, 2) and not policy.allows(server, 3)
    assert policy.allows(throttle, 1) and not policy.allows(throttle, 2)
    for kind in ("validation", "not_found", "stale", "duplicate", "forbidden", "unknown"):
        assert not policy.allows(QboFault(kind), 1)
