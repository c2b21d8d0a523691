"""Sync benchmark: metered reads to learn what QBO did to exported lines (billed, deleted).

Reads are what Intuit meters (CorePlus calls in the Builder tier), so this
prints **reads per 1,000 exported lines synced**, not time. One process, no
Odoo: it drives the pure client (``noko_qbo/qbo``) against an in-process
``qbo_sandbox`` with the very query plan the Odoo layer runs,
``noko_qbo.qbo.sync.read_back`` (``res.company._qbo_sync_time_activities``
calls it with the bound TimeActivity ids of the company's exported lines).

The story: ``--lines`` TimeActivities are exported over ten (sandbox) days;
a first full sync finds them (no mark yet); an hour later, in QBO, a user
bills ``--billed`` of them, deletes ``--deleted`` and other people enter
``--others`` TimeActivities of their own. Then, measured in the same run:

- **naive** (the baseline): one ``GET timeactivity/{id}`` per exported line;
- **full, first** (ours, no mark yet): every line by ``Id IN (...)``, 100 a statement;
- **full, daily** (ours, the cron and the Settings button): what changed
  since the mark (paged by 1000), then the other lines by Id;
- **webhook** (ours): only the TimeActivities the notifications named.

Every approach must agree on what is billed and what is gone (checked).
The sandbox runs without rate limits: a 429 would add a retried read to a
count that is about the plan, not the pacing.

Usage: ``python bench/bench_sync.py [--lines 1000] [--billed 100] [--deleted 50] [--others 200]``
"""

from __future__ import annotations

import argparse
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
if "noko_qbo" not in sys.modules:
    # Load the pure QBO layer without the Odoo addon's __init__ (which imports Odoo models).
    _parent = types.ModuleType("noko_qbo")
    _parent.__path__ = [str(ROOT / "noko_qbo")]
    sys.modules["noko_qbo"] = _parent

from noko_qbo.qbo import payloads  # noqa: E402
from noko_qbo.qbo import sync as qbo_sync  # noqa: E402
from noko_qbo.qbo.client import QboClient  # noqa: E402
from noko_qbo.qbo.environments import resolve  # noqa: E402
from noko_qbo.qbo.limits import Limits  # noqa: E402
from noko_qbo.qbo.oauth import OAuthClient, Tokens  # noqa: E402
from noko_qbo.qbo.pacing import RealmPacer  # noqa: E402
from noko_qbo.qbo.tokens import RotatingTokens  # noqa: E402
from qbo_sandbox import Limits as SandboxLimits  # noqa: E402
from qbo_sandbox import SandboxServer  # noqa: E402

CLIENT_ID = "sandbox-test-client"  # the app issue_tokens() grants to
UNLIMITED = 10**6
EXPORT_DAYS = 10


def client_for(server):
    env = resolve("custom", server.base_url)
    oauth = OAuthClient(env, CLIENT_ID, "bench-secret", "https://bench/cb")
    tokens = Tokens.from_response(server.issue_tokens(), realm_id=server.realm_id)
    limits = Limits(
        requests_per_minute=UNLIMITED,
        batch_per_minute=UNLIMITED,
        concurrent=10,
        requests_per_second=UNLIMITED,
    )
    return QboClient(
        env,
        server.realm_id,
        RotatingTokens(oauth, tokens, lambda fresh: None),
        pacer=RealmPacer(limits),
        limits=limits,
        timeout=(5, 60),
    )


def activities(server, n, prefix):
    """``n`` billable TimeActivities of the demo company's employees and customers."""
    company = server.company()
    employees = [e["Id"] for e in company["Employee"] if e["Active"]]
    customers = [c["Id"] for c in company["Customer"] if c["Active"]]
    return [
        payloads.build_time_activity(
            f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}",
            "Employee",
            employees[i % len(employees)],
            hours=1 + i % 7,
            minutes=i % 60,
            customer_id=customers[i % len(customers)],
            billable=True,
            hourly_rate=90,
            description=f"{prefix} line {i}",
        )
        for i in range(n)
    ], [f"{prefix}:{i}" for i in range(n)]


def export(server, client, n, prefix):
    lines, keys = activities(server, n, prefix)
    answers = client.send_time_activities(lines, keys)
    created = [answer.qbo_id for answer in answers if answer.outcome == "created"]
    if len(created) != n:
        sys.exit(f"only {len(created)} of {n} TimeActivities created")
    return created


def naive(client, bound):
    """The baseline: one GET per exported line."""
    found, gone = {}, set()
    for activity_id in bound:
        row = client.get_time_activity(activity_id)
        if row is None:
            gone.add(activity_id)
        else:
            found[activity_id] = row
    return qbo_sync.Reading(found, gone)


def measured(server, name, call):
    client = client_for(server)
    started = time.monotonic()
    reading = call(client)
    return name, reading, client.stats["reads"], time.monotonic() - started


def billed_of(reading):
    return {i for i, row in reading.found.items() if row.get("BillableStatus") == "HasBeenBilled"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1000)
    parser.add_argument("--billed", type=int, default=100)
    parser.add_argument("--deleted", type=int, default=50)
    parser.add_argument("--others", type=int, default=200)
    args = parser.parse_args(argv)
    if args.billed + args.deleted > args.lines:
        parser.error("--billed + --deleted must not exceed --lines")
    limits = SandboxLimits(
        requests_per_minute=UNLIMITED,
        requests_per_second=UNLIMITED,
        batch_per_minute=UNLIMITED,
        realm_batch_per_minute=UNLIMITED,
        concurrent=100,
    )
    with SandboxServer(limits=limits) as server:
        bound = []
        for day in range(EXPORT_DAYS):  # exported over days, as people close their weeks
            size = args.lines // EXPORT_DAYS + (day < args.lines % EXPORT_DAYS)
            bound += export(server, client_for(server), size, f"day {day}")
            server.advance_clock(86400)
        first = measured(server, "full, first (no mark)", lambda c: qbo_sync.read_back(c, bound))
        mark = first[1].newest
        server.advance_clock(3600)  # a QBO hour later, people work in QBO
        billed = bound[: args.billed]
        deleted = bound[args.billed : args.billed + args.deleted]
        server.bill_time_activities(billed)
        server.delete_time_activities(deleted)
        if args.others:
            export(server, client_for(server), args.others, "someone else's")
        notified = billed + deleted
        runs = [
            measured(server, "naive (GET per line)", lambda c: naive(c, bound)),
            measured(server, "full, daily (since mark)", lambda c: _daily(c, bound, mark)),
            measured(server, "webhook (notified ids)", lambda c: qbo_sync.read_back(c, notified)),
        ]
    return report(args, first, runs, set(billed), set(deleted))


def _daily(client, bound, mark):
    return qbo_sync.read_back(client, bound, since=mark)


def report(args, first, runs, billed, deleted):
    naive_reads = runs[0][2]
    print(
        f"{args.lines} exported lines; in QBO since: {len(billed)} billed, {len(deleted)} deleted, "
        f"{args.others} TimeActivities of others."
    )
    print(f"  {'approach':<28} {'lines':>6} {'reads':>6} {'per 1,000 lines':>16} {'time':>7}")
    for name, _reading, reads, seconds in [runs[0], first, *runs[1:]]:
        lines = len(billed) + len(deleted) if name.startswith("webhook") else args.lines
        print(f"  {name:<28} {lines:>6} {reads:>6} {reads * 1000 / lines:>16.1f} {seconds:>6.2f}s")
    ours = runs[1][2]
    print(
        f"  the daily sync reads {naive_reads / ours:.0f}x less than a GET per line"
        if ours
        else "  the daily sync read nothing"
    )
    problems = []
    for name, reading, _reads, _seconds in runs:
        if billed_of(reading) != billed:
            problems.append(f"{name}: billed {len(billed_of(reading))} != {len(billed)}")
        if reading.gone != deleted:
            problems.append(f"{name}: gone {len(reading.gone)} != {len(deleted)}")
    print(
        "  every approach agrees on billed and deleted"
        if not problems
        else "  " + "; ".join(problems)
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
