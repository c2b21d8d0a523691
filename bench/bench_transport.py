"""Transport benchmark: 10,000 TimeActivities into an in-process ``qbo_sandbox``.

Prints ratios, not pass/fail:

- ours: ``send_time_activities`` (batches of 30, paced per realm, threads),
  as achieved rate / limit-bound rate, where the bound is ceil(N/30) batch
  requests at 40 per minute (QBO's batch limit, the binding one), on the
  sandbox's scaled clock;
- the naive baseline from the same run: python-quickbooks ``save()`` one
  line at a time (default 500 lines), against its own bound of 500 requests
  per minute, and its absolute rate next to ours;
- 429s seen by callers (target 0) and by the transport, duplicates in QBO
  (target 0), lines not accounted for, peak memory.

The sandbox runs with QBO's default limits (500 requests/min, 40 batch
requests/min, 10 concurrent) and a ``time_scale`` (default 30: one QBO
minute lasts two real seconds, so 10,000 lines take about 17 s). The bound
counts every batch at the steady rate; the pacer may start with a full
window's burst, so a ratio above 1.0 is possible on short runs. The pacer
counts a request against the window until one window after its answer
(see ``noko_qbo/qbo/limits.py``), which costs one round trip per window: a
few milliseconds here, but real milliseconds, so at higher time scales
(60: ~0.91) it weighs more than against QBO's real one-minute window.
``--trace-memory`` slows Python down several times: read the memory figure
from it, not the rate.

Usage: ``python bench/bench_transport.py [--lines 10000] [--time-scale 30]
[--naive-lines 500] [--batch-size 30] [--trace-memory]``
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import sys
import time
import tracemalloc
import types
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "noko_qbo" not in sys.modules:
    # Load the pure QBO layer without the Odoo addon's __init__ (which imports Odoo models).
    _parent = types.ModuleType("noko_qbo")
    _parent.__path__ = [str(ROOT / "noko_qbo")]
    sys.modules["noko_qbo"] = _parent

from noko_qbo.qbo import payloads  # noqa: E402
from noko_qbo.qbo.client import QboClient  # noqa: E402
from noko_qbo.qbo.environments import resolve  # noqa: E402
from noko_qbo.qbo.limits import Limits  # noqa: E402
from noko_qbo.qbo.oauth import OAuthClient, Tokens  # noqa: E402
from noko_qbo.qbo.tokens import RotatingTokens  # noqa: E402
from qbo_sandbox import Limits as SandboxLimits  # noqa: E402
from qbo_sandbox import SandboxServer  # noqa: E402

CLIENT_ID = "sandbox-test-client"  # the app issue_tokens() grants to
QBO_LIMITS = dict(requests_per_minute=500, batch_per_minute=40, concurrent=10)


def _rates(n, elapsed, bound_seconds):
    """Achieved and limit-bound rates of a run of ``n`` lines (ratio 1.0 = at the limit)."""
    return {
        "lines": n,
        "elapsed": elapsed,
        "rate": n / elapsed,
        "bound_rate": n / bound_seconds,
        "ratio": bound_seconds / elapsed,
    }


def make_lines(n, server):
    """``n`` distinct payloads spread over the demo company's employees, vendors, customers."""
    company = server.company()
    employees = [e["Id"] for e in company["Employee"] if e["Active"]]
    vendors = [v["Id"] for v in company["Vendor"] if v["Active"]]
    customers = [c["Id"] for c in company["Customer"] if c["Active"]]
    items = [i["Id"] for i in company["Item"] if i["Active"]]
    lines = []
    for i in range(n):
        vendor = i % 7 == 0
        payees = vendors if vendor else employees
        lines.append(
            payloads.build_time_activity(
                f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
                "Vendor" if vendor else "Employee",
                payees[i % len(payees)],
                hours=i % 9,
                minutes=5 + (i * 7) % 55,
                customer_id=customers[i % len(customers)],
                item_id=items[i % len(items)],
                description=f"Timesheet line {i} — design & review for Amy's",
            )
        )
    return lines, [f"bench-db:{i}" for i in range(n)]


def our_client(server, time_scale, batch_size):
    env = resolve("custom", server.base_url)
    oauth = OAuthClient(env, CLIENT_ID, "bench-secret", "https://bench/cb")
    tokens = Tokens.from_response(server.issue_tokens(), realm_id=server.realm_id)
    source = RotatingTokens(oauth, tokens, lambda fresh: None)
    return QboClient(
        env,
        server.realm_id,
        source,
        limits=Limits(**QBO_LIMITS),
        time_scale=time_scale,
        batch_size=batch_size,
        timeout=(5, 60),
    )


def run_ours(server, n, time_scale, batch_size, trace_memory=False):
    lines, keys = make_lines(n, server)
    client = our_client(server, time_scale, batch_size)
    before = server.stats()
    if trace_memory:
        tracemalloc.start()  # slows Python down ~4x: the rate is then not representative
    started = time.perf_counter()
    results = client.send_time_activities(lines, keys)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
    tracemalloc.stop()
    after = server.stats()
    stored = server.entities("TimeActivity")
    markers = Counter(payloads.marker_in(s.get("Description")) for s in stored)
    outcomes = Counter(r.outcome for r in results)
    batches = math.ceil(n / batch_size)
    bound_seconds = batches / QBO_LIMITS["batch_per_minute"] * 60.0 / time_scale
    return {
        **_rates(n, elapsed, bound_seconds),
        "batch_requests": after["batch_requests"] - before["batch_requests"],
        "caller_429": sum(1 for r in results if r.fault is not None and r.fault.kind == "throttle"),
        "transport_429": client.stats["throttled"],
        "server_429": after["throttled"] - before["throttled"],
        "duplicates": sum(count - 1 for count in markers.values() if count > 1),
        "unaccounted": n - outcomes["created"] - outcomes["reconciled"] - outcomes["failed"],
        "outcomes": dict(outcomes),
        "stored": len(stored),
        "peak_traced_mb": peak / 1e6 if peak is not None else None,
    }


def run_naive(server, n, time_scale):
    """python-quickbooks out of the box: one ``save()`` per line, no pacing, no retry."""
    # Benchmark-only: python-quickbooks' OAuth2Session refuses http:// (the loopback
    # sandbox) unless this process-wide switch is on. The addon never sets it.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    from quickbooks.client import QuickBooks
    from quickbooks.exceptions import QuickbooksException
    from quickbooks.objects.timeactivity import TimeActivity
    from requests_oauthlib import OAuth2Session

    lines, _keys = make_lines(n, server)
    tokens = server.issue_tokens()
    qb = QuickBooks(company_id=server.realm_id, minorversion=75)
    qb.api_url_v3 = server.base_url + "/v3"
    qb.session = OAuth2Session(CLIENT_ID, token={**tokens, "token_type": "Bearer"})
    before = server.stats()
    failures = Counter()
    started = time.perf_counter()
    for payload in lines:
        try:
            TimeActivity.from_json(payload).save(qb=qb)
        except QuickbooksException as exc:
            failures[exc.error_code] += 1
    elapsed = time.perf_counter() - started
    after = server.stats()
    bound_seconds = n / QBO_LIMITS["requests_per_minute"] * 60.0 / time_scale
    return {
        **_rates(n, elapsed, bound_seconds),
        "server_429": after["throttled"] - before["throttled"],
        "failed": sum(failures.values()),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--time-scale", type=float, default=30.0)
    parser.add_argument("--naive-lines", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument(
        "--trace-memory", action="store_true", help="tracemalloc peak (slows the run down)"
    )
    args = parser.parse_args(argv)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    server = SandboxServer(limits=SandboxLimits(**QBO_LIMITS), time_scale=args.time_scale).start()
    try:
        naive = run_naive(server, args.naive_lines, args.time_scale) if args.naive_lines else None
        server.reset()  # fresh windows and an empty company for our run
        ours = run_ours(server, args.lines, args.time_scale, args.batch_size, args.trace_memory)
    finally:
        server.stop()

    scale = args.time_scale
    per_min = 60.0 / scale  # real seconds in one QBO minute: lines/s -> lines/QBO-min
    print(f"time_scale {scale:g} (one QBO minute = {60 / scale:.2f} s real); QBO default limits")
    print(
        f"ours : {ours['lines']} lines in {ours['elapsed']:.2f} s real = "
        f"{ours['rate'] * per_min:,.0f} lines/QBO-min; bound {ours['bound_rate'] * per_min:,.0f}"
        f" lines/QBO-min (ceil(N/{args.batch_size}) batches at 40/min)"
    )
    print(f"       achieved / limit-bound rate: {ours['ratio']:.3f}   (target >= 0.9)")
    print(
        f"       batch requests {ours['batch_requests']}, outcomes {ours['outcomes']}, "
        f"stored {ours['stored']}, unaccounted {ours['unaccounted']}"
    )
    print(
        f"       429s seen by callers {ours['caller_429']} (target 0); by the transport "
        f"{ours['transport_429']}; answered by the sandbox {ours['server_429']}"
    )
    print(f"       duplicates in QBO {ours['duplicates']} (target 0)")
    if naive:
        sustained = min(naive["rate"], naive["bound_rate"])
        print(
            f"naive: python-quickbooks save() x {naive['lines']} in {naive['elapsed']:.2f} s = "
            f"{naive['rate'] * per_min:,.0f} lines/QBO-min; its bound 500 lines/QBO-min"
        )
        print(
            f"       naive / its 500-per-minute bound: {naive['ratio']:.3f} "
            "(a run of <= 500 lines fits in one window's burst); "
            f"429s {naive['server_429']}, failed saves {naive['failed']}"
        )
        print(
            f"       ours / naive absolute rate: {ours['rate'] / naive['rate']:.2f}x measured; "
            f"{ours['rate'] / sustained:.1f}x sustained (naive capped at 500 lines/QBO-min)"
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"memory: process peak RSS {rss:.0f} MB ({rss - rss_before:+.0f} MB during the runs, "
        "client and in-process sandbox together)"
    )
    if ours["peak_traced_mb"] is not None:
        print(f"        tracemalloc peak during our send {ours['peak_traced_mb']:.1f} MB")


if __name__ == "__main__":
    main()
