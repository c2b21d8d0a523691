"""Transport benchmark: TimeActivities into an in-process ``qbo_sandbox``, three ways, one run.

Prints ratios, not pass/fail:

- **combined** (ours): ``send_time_activities`` with QBO's default limits:
  batches of 30 at 40 a minute plus single creates in the rest of the 500
  requests a minute minus the headroom (``limits.lines_per_minute_bound``:
  40 x 30 + (500 - 40 - 40) = 1,620 lines a minute);
- **batch-only** (ours, the previous behaviour): the same with a headroom that
  leaves no single creates (bound 1,200 lines a minute);
- **naive**: python-quickbooks ``save()`` one line at a time, no pacing, no
  retry (bound 500 lines a minute).

The ratio of a run is the lines QBO created per *whole* QBO minute of the run
(counted from the sandbox's own ``CreateTime`` stamps, the last partial
minute left out) over its bound: it says how much of each minute's budget was
used, whatever the burst the first minute allows. The overall rate (lines /
elapsed time) is printed next to it. Also: 429s seen by callers (target 0),
by the transport and answered by the sandbox, duplicates in QBO (target 0),
lines not accounted for, peak memory.

The sandbox runs QBO's limits (500 requests/min, 40 batch requests/min, 10
concurrent; it does not enforce 10 requests/s yet, the client does) on a
scaled clock: ``--time-scale`` 30 plays a QBO minute in two real seconds, so
10,000 lines take about 13 s combined and 17 s batch-only. Every request
counts against a window until one window after its answer (see
``noko_qbo/qbo/windows.py``), which costs one round trip per window: more at
higher time scales, where a round trip is a larger part of the window.
``--trace-memory`` slows Python down several times: read the memory figure
from it, not the rate.

Usage: ``python bench/bench_transport.py [--lines 10000] [--time-scale 30]
[--naive-lines 500] [--batch-size 30] [--skip-batch-only] [--trace-memory]``
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import tracemalloc
from collections import Counter
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from noko_qbo.qbo import payloads  # noqa: E402
from noko_qbo.qbo.client import QboClient  # noqa: E402
from noko_qbo.qbo.environments import resolve  # noqa: E402
from noko_qbo.qbo.limits import Limits, lines_per_minute_bound  # noqa: E402
from noko_qbo.qbo.oauth import OAuthClient, Tokens  # noqa: E402
from noko_qbo.qbo.pacing import RealmPacer  # noqa: E402
from noko_qbo.qbo.tokens import RotatingTokens  # noqa: E402
from qbo_sandbox import Limits as SandboxLimits  # noqa: E402
from qbo_sandbox import SandboxServer  # noqa: E402

CLIENT_ID = "sandbox-test-client"  # the app issue_tokens() grants to
QBO_LIMITS = dict(requests_per_minute=500, batch_per_minute=40, concurrent=10)
COMBINED = Limits(**QBO_LIMITS)
BATCH_ONLY = Limits(**QBO_LIMITS, headroom_per_minute=500 - 40)


def make_lines(n, server, prefix):
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
    return lines, [f"{prefix}:{i}" for i in range(n)]


def per_whole_minute(server):
    """Lines created in each whole QBO minute of the run (the sandbox's CreateTime stamps)."""
    stamps = sorted(
        datetime.fromisoformat(stored["MetaData"]["CreateTime"])
        for stored in server.entities("TimeActivity")
    )
    if not stamps:
        return []
    minutes = Counter(int((stamp - stamps[0]).total_seconds() // 60) for stamp in stamps)
    return [minutes[n] for n in range(max(minutes))]  # the last, partial minute left out


def our_client(server, limits, time_scale, batch_size):
    env = resolve("custom", server.base_url)
    oauth = OAuthClient(env, CLIENT_ID, "bench-secret", "https://bench/cb")
    tokens = Tokens.from_response(server.issue_tokens(), realm_id=server.realm_id)
    source = RotatingTokens(oauth, tokens, lambda fresh: None)
    return QboClient(
        env,
        server.realm_id,
        source,
        pacer=RealmPacer(limits, time_scale=time_scale),  # fresh windows for each run
        time_scale=time_scale,
        batch_size=batch_size,
        timeout=(5, 60),
    )


def run_ours(server, n, limits, time_scale, batch_size, trace_memory=False):
    lines, keys = make_lines(n, server, "bench-db")
    client = our_client(server, limits, time_scale, batch_size)
    before = server.stats()
    if trace_memory:
        tracemalloc.start()  # slows Python down ~4x: the rate is then not representative
    started = time.perf_counter()
    results = client.send_time_activities(lines, keys, attempt="bench")
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
    tracemalloc.stop()
    after = server.stats()
    stored = server.entities("TimeActivity")
    markers = Counter(payloads.marker_in(s.get("Description")) for s in stored)
    outcomes = Counter(r.outcome for r in results)
    batch_requests = after["batch_requests"] - before["batch_requests"]
    return {
        "lines": n,
        "elapsed": elapsed,
        "bound": lines_per_minute_bound(limits, batch_size),
        "minutes": per_whole_minute(server),
        "batch_requests": batch_requests,
        "single_creates": after["requests"]
        - before["requests"]
        - batch_requests
        - client.stats["reads"],
        "caller_429": sum(1 for r in results if r.fault is not None and r.fault.kind == "throttle"),
        "transport_429": client.stats["throttled"],
        "server_429": after["throttled"] - before["throttled"],
        "duplicates": sum(count - 1 for count in markers.values() if count > 1),
        "unaccounted": n - sum(outcomes.values()),
        "outcomes": dict(outcomes),
        "stored": len(stored),
        "peak_traced_mb": peak / 1e6 if peak is not None else None,
    }


def run_naive(server, n):
    """python-quickbooks out of the box: one ``save()`` per line, no pacing, no retry."""
    # Benchmark-only: python-quickbooks' OAuth2Session refuses http:// (the loopback
    # sandbox) unless this process-wide switch is on. The addon never sets it.
    os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    from quickbooks.client import QuickBooks
    from quickbooks.exceptions import QuickbooksException
    from quickbooks.objects.timeactivity import TimeActivity
    from requests_oauthlib import OAuth2Session

    lines, _keys = make_lines(n, server, "naive")
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
    return {
        "lines": n,
        "elapsed": elapsed,
        "bound": QBO_LIMITS["requests_per_minute"],
        "minutes": per_whole_minute(server),
        "server_429": after["throttled"] - before["throttled"],
        "failed": sum(failures.values()),
    }


def _minute_figures(run):
    """Mean and lowest lines per whole QBO minute, and the ratio of the mean to the bound."""
    minutes = run["minutes"]
    if not minutes:
        return None
    mean = sum(minutes) / len(minutes)
    return mean, min(minutes), mean / run["bound"]


def report_ours(name, run, per_min):
    figures = _minute_figures(run)
    print(
        f"{name}: {run['lines']} lines in {run['elapsed']:.2f} s real = "
        f"{run['lines'] / run['elapsed'] * per_min:,.0f} lines/QBO-min overall"
    )
    if figures:
        mean, lowest, ratio = figures
        print(
            f"       {name} ratio {ratio:.3f} (bound {run['bound']:,} lines/min): "
            f"{len(run['minutes'])} whole QBO minutes, mean {mean:,.0f}, lowest {lowest:,}"
        )
    else:
        print("       (the run fits in one QBO minute: no whole minute to measure; use more lines)")
    print(
        f"       batch requests {run['batch_requests']}, single creates {run['single_creates']}, "
        f"outcomes {run['outcomes']}, stored {run['stored']}, unaccounted {run['unaccounted']}"
    )
    print(
        f"       429s seen by callers {run['caller_429']} (target 0); by the transport "
        f"{run['transport_429']}; answered by the sandbox {run['server_429']}; "
        f"duplicates in QBO {run['duplicates']} (target 0)"
    )
    return figures


def report(args, combined, batch_only, naive):
    per_min = 60.0 / args.time_scale  # real seconds in one QBO minute: lines/s -> lines/QBO-min
    print(
        f"time_scale {args.time_scale:g} (one QBO minute = {per_min:.2f} s real); QBO limits "
        "500 requests/min, 40 batch/min, 10/s (client only), 10 concurrent; headroom "
        f"{COMBINED.headroom_per_minute}/min"
    )
    ours = report_ours("combined", combined, per_min)
    if batch_only:
        baseline = report_ours("batch-only", batch_only, per_min)
        print(
            f"       combined / batch-only: {batch_only['elapsed'] / combined['elapsed']:.2f}x "
            "faster for the same lines"
        )
        if ours and baseline:
            print(
                f"       lines a whole minute, combined / batch-only: {ours[0] / baseline[0]:.2f}x"
            )
    if naive:
        rate = naive["lines"] / naive["elapsed"]
        figures = _minute_figures(naive)
        ratio = f"naive ratio {figures[2]:.3f}" if figures else "one minute's burst"
        print(
            f"naive: python-quickbooks save() x {naive['lines']} in {naive['elapsed']:.2f} s = "
            f"{rate * per_min:,.0f} lines/QBO-min overall; {ratio} (bound 500 lines/min); "
            f"429s {naive['server_429']}, failed saves {naive['failed']}"
        )
        sustained = min(rate * per_min, 500)
        ours_rate = ours[0] if ours else combined["lines"] / combined["elapsed"] * per_min
        print(
            f"       combined / naive sustained: {ours_rate / sustained:.1f}x "
            "(naive capped at 500 lines/QBO-min)"
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--time-scale", type=float, default=30.0)
    parser.add_argument("--naive-lines", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--skip-batch-only", action="store_true", help="no batch-only baseline")
    parser.add_argument(
        "--trace-memory", action="store_true", help="tracemalloc peak (slows the run down)"
    )
    args = parser.parse_args(argv)

    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    server = SandboxServer(limits=SandboxLimits(**QBO_LIMITS), time_scale=args.time_scale).start()
    try:
        naive = run_naive(server, args.naive_lines) if args.naive_lines else None
        batch_only = None
        if not args.skip_batch_only:
            server.reset()  # fresh windows and an empty company for each run
            batch_only = run_ours(server, args.lines, BATCH_ONLY, args.time_scale, args.batch_size)
        server.reset()
        combined = run_ours(
            server, args.lines, COMBINED, args.time_scale, args.batch_size, args.trace_memory
        )
    finally:
        server.stop()
    report(args, combined, batch_only, naive)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"memory: process peak RSS {rss:.0f} MB ({rss - rss_before:+.0f} MB during the runs, "
        "client and in-process sandbox together)"
    )
    if combined["peak_traced_mb"] is not None:
        print(
            f"        tracemalloc peak during the combined send {combined['peak_traced_mb']:.1f} MB"
        )


if __name__ == "__main__":
    main()
