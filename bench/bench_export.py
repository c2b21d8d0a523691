"""Export benchmark: N timesheet lines through the Odoo layer into a time-scaled ``qbo_sandbox``.

Not a timed test: it prints figures and ratios, never pass/fail. For each size
(a small baseline, default 1,000 lines, then the full size, default 10,000, in
the same run and the same database) it measures three phases:

1. **preview**: ``qbo.export.preview.action_open_from_timesheets`` opened like
   the web client's "Select all" (``active_ids`` + ``active_domain``), the
   wizard's lines stored, flushed and committed;
2. **confirm**: ``action_confirm`` (approve, lock, one result per line, the
   chain of queue_job jobs stored for real), flushed and committed;
3. **export**: the stored jobs performed in-process, one transaction each,
   the way queue_job's runner does (``RunJobController._acquire_job`` then
   ``_runjob``, which commits and enqueues the next job of the chain).

Per phase: wall seconds, SQL queries (every cursor: ``odoo.sql_db.sql_counter``,
so the token cursors and queue_job's bookkeeping count too), queries per line,
and peak memory. Then the ratios large/small: total queries (flat = ~1x,
linear in N = ~N_large/N_small x) and seconds per line (~1 = linear time).

Memory: preview and confirm run twice: first under ``tracemalloc`` (peak of
Python allocations) in a transaction that is rolled back, then again,
untraced, for the seconds and queries (tracemalloc slows Python down several
times). The export cannot be replayed (the sandbox keeps what it received): its
memory figure is the growth of the process's peak RSS, sampled every 20 ms
(``--trace-export`` traces it with tracemalloc instead, and slows it down).

The sandbox runs with QBO's default limits (500 requests/min, 40 batch
requests/min, 10 concurrent) and ``--time-scale`` (default 60: one QBO minute
per real second), so the limit-bound export time is ceil(N/30) batch requests
at 40 per scaled minute; the export's ratio is bound/actual (1.0 = at the limit).
The client's pacer uses the same time scale (``res.company._qbo_client_options``
is patched in this process only, as the tests do).

The database ``noko_qbo_bench_<pid>`` is created with ``odoo -i noko_qbo
--stop-after-init`` (``tools/odoo_env.install_addon``: its log is scanned, about
30-90 s) and dropped, with its filestore, at the end unless ``--keep-db``.

``--workers N`` is the multi-worker benchmark instead (``bench/bench_workers.py``):
a real server with N workers and queue_job's runner, two overlapping exports of
``--lines`` lines in total through JSON-RPC, its last line
``limit ratio R (bound B lines/min), 429s T, duplicates D, lost L``.

Usage: ``python3 bench/bench_export.py [--lines 10000] [--small 1000]
[--time-scale 60|4] [--keep-db] [--db EXISTING] [--top-queries 3] [--trace-export]
[--workers N] [--deadline 1800]``
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

from odoo_env import (  # noqa: E402
    OdooNotFound,
    OdooUnusable,
    find_odoo,
    install_addon,
    write_config,
)
from odoo_env import drop_database as drop_database_and_filestore  # noqa: E402

from qbo_sandbox import Limits as SandboxLimits  # noqa: E402
from qbo_sandbox import SandboxServer  # noqa: E402

CLIENT_ID = "sandbox-test-client"
CLIENT_SECRET = "noko-qbo-bench-secret"  # noqa: S105 - the sandbox's, not a real secret
QBO_LIMITS = dict(requests_per_minute=500, batch_per_minute=40, concurrent=10)
BATCH_SIZE = 30
CREATE_BATCH = 1000
#: timesheet lines per employee per day: a constant density, so both sizes look alike
LINES_PER_EMPLOYEE_DAY = 4
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
#: issue 12: building the preview and confirming it, each, for 10,000 lines
TARGET_SECONDS = 1.0


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- measuring


class RssSampler:
    """Peak resident memory of the process above a starting point, sampled in a thread."""

    def __init__(self, interval=0.02):
        self.interval = interval
        self.start_rss = self.peak_rss = self._rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss-sampler")

    @staticmethod
    def _rss():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_SIZE

    def _run(self):
        while not self._stop.wait(self.interval):
            self.peak_rss = max(self.peak_rss, self._rss())

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak_rss = max(self.peak_rss, self._rss())

    @property
    def growth_mb(self):
        return (self.peak_rss - self.start_rss) / 1e6


class QueryShapes:
    """What the current thread's queries look like (``query_hooks``), counted by text."""

    _spaces = re.compile(r"\s+")

    def __init__(self):
        self.counts = Counter()

    def hook(self, cr, query, params, start, delay):
        if isinstance(query, bytes):
            query = query.decode(errors="replace")
        self.counts[self._spaces.sub(" ", str(query)).strip()[:160]] += 1

    def __enter__(self):
        thread = threading.current_thread()
        self._previous = getattr(thread, "query_hooks", None)
        thread.query_hooks = (*(self._previous or ()), self.hook)
        return self

    def __exit__(self, *exc):
        thread = threading.current_thread()
        if self._previous is None:
            del thread.query_hooks
        else:
            thread.query_hooks = self._previous


class Phase:
    """Seconds and queries (all cursors) of a block; optionally its tracemalloc peak."""

    def __init__(self, trace_memory=False, shapes=False):
        self.trace_memory = trace_memory
        self.shapes = QueryShapes() if shapes else None
        self.seconds = self.queries = 0
        self.peak_mb = None
        self.rss = None

    def __enter__(self):
        import odoo.sql_db  # noqa: PLC0415

        self._sql = odoo.sql_db
        if self.shapes:
            self.shapes.__enter__()
        self.rss = RssSampler().__enter__()
        if self.trace_memory:
            tracemalloc.start()
            tracemalloc.reset_peak()
        self._queries = self._sql.sql_counter
        self._started = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self._started
        self.queries = self._sql.sql_counter - self._queries
        if self.trace_memory:
            self.peak_mb = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        self.rss.__exit__(*exc)
        if self.shapes:
            self.shapes.__exit__(*exc)


# ---------------------------------------------------------------------- database


def create_database(conf, dbname, odoo, workdir):
    log(f"creating database {dbname} (install noko_qbo)...")
    started = time.perf_counter()
    install_addon(odoo, conf, dbname, workdir / "install.log")
    log(f"database ready in {time.perf_counter() - started:.0f} s")
    return time.perf_counter() - started


def drop_database(dbname, odoo_info, workdir):
    """Forget the in-process registry and its connections, then drop the database."""
    import odoo.modules.registry  # noqa: PLC0415
    import odoo.sql_db  # noqa: PLC0415

    odoo.modules.registry.Registry.delete(dbname)
    odoo.sql_db.close_db(dbname)
    drop_database_and_filestore(odoo_info, dbname, workdir / "data")


# ---------------------------------------------------------------------- the Odoo side


class Bench:
    def __init__(self, registry, server, args):
        self.registry = registry
        self.server = server
        self.args = args

    def cursor(self):
        return self.registry.cursor()

    def env(self, cr, uid=None, **context):
        from odoo import SUPERUSER_ID, api  # noqa: PLC0415

        return api.Environment(cr, uid or SUPERUSER_ID, {"lang": "en_US", "tz": "UTC", **context})

    # ------------------------------------------------------------------ setup

    def patch_client_options(self):
        """The client paces on the sandbox's scaled clock, under QBO's default limits."""
        from odoo.addons.noko_qbo.qbo.limits import Limits  # noqa: PLC0415

        scale = self.args.time_scale
        limits = Limits(**QBO_LIMITS)
        company_class = self.registry["res.company"]
        company_class._qbo_client_options = lambda company: {
            "time_scale": scale,
            "limits": limits,
            "batch_size": BATCH_SIZE,
        }

    def connect(self):
        """Point the main company at the sandbox and store fresh tokens (as QboCase does)."""
        from odoo.addons.noko_qbo.qbo.oauth import Tokens  # noqa: PLC0415

        with self.cursor() as cr:
            env = self.env(cr)
            company = env.ref("base.main_company")
            company.write(
                {
                    "qbo_environment": "custom",
                    "qbo_base_url": self.server.base_url,
                    "qbo_client_id": CLIENT_ID,
                    "qbo_client_secret": CLIENT_SECRET,
                }
            )
            tokens = Tokens.from_response(self.server.issue_tokens(), realm_id=self.server.realm_id)
            company._qbo_token_source().store(tokens)
            company.write({"qbo_realm_id": self.server.realm_id})
            env.invalidate_all()
        return company.id

    def setup(self):
        """Lists synced, a manager, projects and employees named after the demo company."""
        self.patch_client_options()
        self.company_id = self.connect()
        with self.cursor() as cr:
            env = self.env(cr)
            company = env["res.company"].browse(self.company_id)
            company._qbo_sync_lists(force=True)
            company.qbo_default_item_id = env["qbo.item"].search(
                [("company_id", "=", company.id), ("name", "=", "Hours")], limit=1
            )
            admin = env.ref("base.user_admin")
            admin.write(
                {
                    "group_ids": [
                        (4, env.ref("noko_qbo.group_qbo_manager").id),
                        (4, env.ref("hr_timesheet.group_hr_timesheet_approver").id),
                    ]
                }
            )
            self.uid = admin.id
            sandbox = self.server.company()
            customers = [c["Name"] for c in sandbox["Customer"] if c["Active"]]
            payees = [e["Name"] for e in sandbox["Employee"] if e["Active"]] + [
                v["Name"] for v in sandbox["Vendor"] if v["Active"]
            ][:1]
            partners = env["res.partner"].create([{"name": name} for name in customers])
            projects = env["project.project"].create(
                [
                    {"name": name, "partner_id": partner.id, "allow_timesheets": True}
                    for name, partner in zip(customers, partners, strict=True)
                ]
            )
            employees = env["hr.employee"].create(
                [
                    {"name": name, "hourly_cost": 50 + 5 * index, "company_id": company.id}
                    for index, name in enumerate(payees)
                ]
            )
            resolved_p = projects.sudo()._qbo_resolve_customers()
            resolved_e = employees.sudo()._qbo_resolve_payees()
            unmapped = [
                r.message
                for r in (*resolved_p.values(), *resolved_e.values())
                if r.found_by not in ("name", "email", "manual")
            ]
            if unmapped:
                raise SystemExit("bench mapping incomplete:\n" + "\n".join(unmapped))
            self.project_ids, self.employee_ids = projects.ids, employees.ids
        log(
            f"setup: {len(self.project_ids)} projects, {len(self.employee_ids)} employees mapped "
            f"to the sandbox's customers/employees/vendors"
        )

    def make_lines(self, n, first_day):
        """``n`` draft lines, LINES_PER_EMPLOYEE_DAY per employee and day from ``first_day``."""
        employees, projects = self.employee_ids, self.project_ids
        per_day = len(employees) * LINES_PER_EMPLOYEE_DAY
        days = math.ceil(n / per_day)
        started = time.perf_counter()
        ids = []
        with self.cursor() as cr:
            env = self.env(cr, self.uid)
            Line = env["account.analytic.line"]
            for start in range(0, n, CREATE_BATCH):
                vals = []
                for i in range(start, min(n, start + CREATE_BATCH)):
                    vals.append(
                        {
                            "name": f"Bench line {i} - design & review",
                            "project_id": projects[i % len(projects)],
                            "employee_id": employees[
                                (i // LINES_PER_EMPLOYEE_DAY) % len(employees)
                            ],
                            "unit_amount": 0.25 * (1 + i % 8),
                            "date": first_day + timedelta(days=i // per_day),
                        }
                    )
                ids += Line.create(vals).ids
                cr.commit()
                env.invalidate_all()
        last_day = first_day + timedelta(days=days - 1)
        log(f"created {n} lines ({first_day}..{last_day}) in {time.perf_counter() - started:.1f} s")
        return ids, [
            ("date", ">=", first_day),
            ("date", "<=", last_day),
            ("qbo_state", "=", "draft"),
        ]

    def set_param(self, key, value):
        with self.cursor() as cr:
            self.env(cr)["ir.config_parameter"].set_param(key, str(value))

    def set_password(self, xmlid, password):
        with self.cursor() as cr:
            self.env(cr).ref(xmlid).password = password

    def make_user(self, login, password):
        """A QuickBooks manager who approves timesheets (the one who exports)."""
        with self.cursor() as cr:
            env = self.env(cr)
            groups = (
                "noko_qbo.group_qbo_manager",
                "hr_timesheet.group_hr_timesheet_approver",
                "base.group_user",
            )
            return (
                env["res.users"]
                .create(
                    {
                        "name": f"Bench {login}",
                        "login": login,
                        "password": password,
                        "company_id": self.company_id,
                        "company_ids": [(6, 0, [self.company_id])],
                        "group_ids": [(6, 0, [env.ref(xmlid).id for xmlid in groups])],
                    }
                )
                .id
            )

    def keys_of(self, line_ids):
        """``{line id: request key}``: what each line's marker in QBO is made of."""
        with self.cursor() as cr:
            lines = self.env(cr)["account.analytic.line"].browse(line_ids)
            return {line.id: line._qbo_request_key() for line in lines}

    # ------------------------------------------------------------------ phases

    def preview(self, domain, trace_memory=False, keep=True):
        """The list's "Select all" then Export: ``active_ids`` (capped) and ``active_domain``."""
        with self.cursor() as cr:
            env = self.env(cr, self.uid)
            limit = int(env["ir.config_parameter"].sudo().get_param("web.active_ids_limit", 20000))
            active_ids = env["account.analytic.line"].search(domain, limit=limit).ids
            cr.commit()  # the list's search is another request
            Preview = env["qbo.export.preview"].with_context(
                active_model="account.analytic.line",
                active_ids=active_ids,
                active_domain=domain,
            )
            env.invalidate_all()
            with Phase(trace_memory, shapes=not trace_memory) as phase:
                action = Preview.action_open_from_timesheets()
                env.flush_all()
                if keep:
                    cr.commit()
            if not keep:
                cr.rollback()
            preview_id = action["res_id"]
            if keep:
                counts = (
                    env["qbo.export.preview"]
                    .browse(preview_id)
                    .read(["count_lines", "count_ready", "count_warning", "count_blocked"])[0]
                )
                phase.info = {k: counts[k] for k in counts if k != "id"}
        return phase, preview_id

    @contextmanager
    def run_start(self):
        """Seconds and queries of ``qbo.export._qbo_start`` (the run itself: results,
        locks, jobs) inside the confirmation, apart from the preview's own part."""
        import odoo.sql_db  # noqa: PLC0415

        Export = self.registry["qbo.export"]
        original = Export._qbo_start
        figures = {"seconds": 0.0, "queries": 0}

        def measured(model, *args, **kwargs):
            started, queries = time.perf_counter(), odoo.sql_db.sql_counter
            try:
                run = original(model, *args, **kwargs)
                model.env.flush_all()  # its writes are its cost, not the caller's
                return run
            finally:
                figures["seconds"] += time.perf_counter() - started
                figures["queries"] += odoo.sql_db.sql_counter - queries

        Export._qbo_start = measured
        try:
            yield figures
        finally:
            Export._qbo_start = original

    def confirm(self, preview_id, trace_memory=False, keep=True):
        with self.cursor() as cr:
            env = self.env(cr, self.uid)
            preview = env["qbo.export.preview"].browse(preview_id)
            with Phase(trace_memory, shapes=not trace_memory) as phase, self.run_start() as start:
                action = preview.action_confirm()
                env.flush_all()
                if keep:
                    cr.commit()
            phase.run_start = start
            if not keep:
                cr.rollback()
                return phase, None
            run = env["qbo.export"].browse(action["res_id"])
            jobs = env["queue.job"].search_count(
                [
                    ("model_name", "=", "qbo.export"),
                    ("state", "in", ("pending", "wait_dependencies")),
                ]
            )
            phase.info = {"run": run.name, "lines_in_run": run.count_total, "jobs_stored": jobs}
            return phase, run.id

    def export(self, run_id, line_ids, trace_memory=False):
        """Perform the run's stored jobs one transaction each, as the job runner would."""
        from odoo.addons.queue_job.controllers.main import RunJobController  # noqa: PLC0415
        from odoo.addons.queue_job.job import Job  # noqa: PLC0415

        stats_before = self.server.stats()
        performed = retries = failures = 0
        stuck = ""
        with Phase(trace_memory) as phase:
            while True:
                with self.cursor() as cr:
                    env = self.env(cr)
                    cr.execute(
                        "SELECT uuid, state, eta FROM queue_job WHERE state IN "
                        "('pending', 'wait_dependencies', 'enqueued', 'started') "
                        "AND model_name = 'qbo.export' "
                        "ORDER BY (state = 'pending') DESC, eta NULLS FIRST, id LIMIT 1"
                    )
                    row = cr.fetchone()
                    if not row:
                        break
                    uuid, state, eta = row
                    if state != "pending":
                        stuck = f"job {uuid} is {state}, none pending (a job failed?)"
                        log(f"export stuck: {stuck}")
                        break
                    if eta:
                        # a RetryableJobError postponed it: wait the scaled delay, not real minutes
                        from odoo import fields  # noqa: PLC0415

                        wait = (eta - fields.Datetime.now()).total_seconds()
                        if wait > 0:
                            time.sleep(wait / self.args.time_scale)
                    cr.execute(
                        "UPDATE queue_job SET state = 'enqueued', date_enqueued = now() "
                        "WHERE uuid = %s",
                        [uuid],
                    )
                    cr.commit()
                    job = RunJobController._acquire_job(env, uuid)
                    if job is None:
                        raise SystemExit(f"could not acquire job {uuid}")
                    try:
                        RunJobController._runjob(env, job)
                    except Exception as exc:  # noqa: BLE001 - the runner logs and moves on
                        failures += 1
                        log(f"job {uuid} failed: {exc!r}")
                    cr.commit()
                    done = Job.load(env, uuid)
                    if done.state == "pending":
                        retries += 1
                        log(f"job {uuid} postponed: {done.result}")
                    else:
                        performed += 1
        with self.cursor() as cr:
            env = self.env(cr)
            run = env["qbo.export"].browse(run_id)
            lines = env["account.analytic.line"].browse(line_ids)
            exported = lines.filtered(lambda line: line.qbo_state == "exported")
            keys = {line._qbo_request_key() for line in exported}
            from odoo.addons.noko_qbo.qbo import payloads  # noqa: PLC0415

            markers = Counter(
                payloads.marker_in(activity.get("Description"))
                for activity in self.server.entities("TimeActivity")
            )
            ours = {payloads.marker(key) for key in keys}
            stored_ours = sum(count for marker, count in markers.items() if marker in ours)
            stats_after = self.server.stats()
            phase.info = {
                "run_state": run.state,
                "jobs_performed": performed,
                "job_retries": retries,
                "job_failures": failures,
                "stuck": stuck or "no",
                "lines_exported": len(exported),
                "results": f"{run.count_exported} exported / {run.count_failed} failed / "
                f"{run.count_skipped} skipped / {run.count_pending} pending",
                "sandbox_time_activities": sum(markers.values()),
                "duplicates": sum(markers.values()) - len(markers),
                "stored_for_these_lines": stored_ours,
                "sandbox_429": stats_after["throttled"] - stats_before["throttled"],
                "sandbox_requests": stats_after["requests"] - stats_before["requests"],
                "sandbox_batch_requests": stats_after["batch_requests"]
                - stats_before["batch_requests"],
            }
        return phase


# ---------------------------------------------------------------------- one size


def run_size(bench, n, first_day, args):
    log(f"--- N = {n}")
    # One sandbox for both sizes: a reset would reuse TimeActivity ids that lines of the
    # first size are already bound to. Figures are deltas; markers tell the lines apart.
    line_ids, domain = bench.make_lines(n, first_day)
    result = {"n": n}

    log("preview: memory pass (rolled back)")
    mem, _ = bench.preview(domain, trace_memory=True, keep=False)
    log("preview: timed pass")
    timed, preview_id = bench.preview(domain)
    timed.peak_mb = mem.peak_mb
    result["preview"] = timed

    # the confirm's memory pass needs a preview of its own: the timed one is kept
    _, scratch_id = bench.preview(domain)
    log("confirm: memory pass (rolled back)")
    mem, _ = bench.confirm(scratch_id, trace_memory=True, keep=False)
    log("confirm: timed pass")
    timed, run_id = bench.confirm(preview_id)
    timed.peak_mb = mem.peak_mb
    result["confirm"] = timed

    time.sleep(60.0 / args.time_scale + 0.1)  # let one scaled minute of rate windows pass
    log("export")
    result["export"] = bench.export(run_id, line_ids, trace_memory=args.trace_export)
    result["bound_seconds"] = n / combined_bound() * 60.0 / args.time_scale
    return result


# ---------------------------------------------------------------------- report


def report(small, large, args, install_seconds):
    ns, nl = small["n"], large["n"]
    factor = nl / ns
    print()
    print(f"noko_qbo export benchmark: N={nl} against a baseline N={ns} (same run, same DB)")
    print(
        f"sandbox: QBO default limits {QBO_LIMITS}, time scale {args.time_scale:g} "
        f"(one QBO minute = {60 / args.time_scale:.2f} s), batch size {BATCH_SIZE}"
    )
    print(f"database install: {install_seconds:.0f} s" if install_seconds else "database: reused")
    print()
    header = (
        f"{'phase':<8} {'N':>6} {'seconds':>8} {'ms/line':>8} {'queries':>8} "
        f"{'q/line':>7} {'py peak MB':>10} {'RSS +MB':>8}"
    )
    print(header)
    print("-" * len(header))
    for name in ("preview", "confirm", "export"):
        for result in (small, large):
            phase, n = result[name], result["n"]
            peak = f"{phase.peak_mb:10.1f}" if phase.peak_mb is not None else f"{'-':>10}"
            print(
                f"{name:<8} {n:>6} {phase.seconds:8.2f} {1000 * phase.seconds / n:8.3f} "
                f"{phase.queries:>8} {phase.queries / n:7.3f} {peak} {phase.rss.growth_mb:8.1f}"
            )
    print()
    print(
        f"ratios N={nl} / N={ns} (lines x{factor:g}): total queries (flat ~1x, linear "
        f"~{factor:g}x), seconds per line (~1 = linear time)"
    )
    for name in ("preview", "confirm", "export"):
        a, b = small[name], large[name]
        q_ratio = b.queries / a.queries if a.queries else float("nan")
        s_ratio = (b.seconds / nl) / (a.seconds / ns) if a.seconds else float("nan")
        m_ratio = (
            f", python peak x{b.peak_mb / a.peak_mb:.2f}"
            if a.peak_mb and b.peak_mb is not None
            else ""
        )
        print(
            f"  {name:<8} queries {a.queries} -> {b.queries} = x{q_ratio:.2f} "
            f"(per line x{q_ratio / factor:.2f}); seconds/line x{s_ratio:.2f}{m_ratio}"
        )
    print()
    for label in ("preview", "confirm"):
        phase = large[label]
        target = "within" if phase.seconds <= TARGET_SECONDS else "OVER"
        print(
            f"target: {label} of {nl} lines in {phase.seconds:.2f} s, {phase.queries} queries "
            f"({target} {TARGET_SECONDS:g} s)"
        )
    for result in (small, large):
        phase, n = result["confirm"], result["n"]
        start = getattr(phase, "run_start", None)
        if start:
            print(
                f"  confirm N={n}: qbo.export._qbo_start {start['seconds']:.2f} s, "
                f"{start['queries']} queries; the preview's own part "
                f"{phase.seconds - start['seconds']:.2f} s, {phase.queries - start['queries']} "
                "queries"
            )
    print()
    for result in (small, large):
        export, n = result["export"], result["n"]
        bound = result["bound_seconds"]
        print(
            f"export N={n}: {export.seconds:.2f} s vs limit-bound {bound:.2f} s "
            f"({n} lines at {combined_bound()} lines/min, batches and single creates, "
            f"/ {args.time_scale:g}) -> ratio bound/actual {bound / export.seconds:.2f}"
        )
        for key, value in export.info.items():
            print(f"    {key}: {value}")
    for label in ("preview", "confirm"):
        for result in (small, large):
            info = getattr(result[label], "info", None)
            if info:
                print(f"{label} N={result['n']}: {info}")
    if args.top_queries:
        print()
        print(f"most frequent query texts (main thread), N={ns} -> N={nl}:")
        for name in ("preview", "confirm"):
            a, b = small[name].shapes, large[name].shapes
            if not (a and b):
                continue
            print(f"  {name}:")
            for text, count in b.counts.most_common(args.top_queries):
                print(f"    {a.counts.get(text, 0):>6} -> {count:>6}  {text}")
    if args.trace_export:
        print("\n(export traced with tracemalloc: its seconds include the tracing overhead)")
    else:
        print(
            "\n(py peak MB: tracemalloc peak of a separate, rolled-back pass; export: RSS growth)"
        )


# ---------------------------------------------------------------------- main


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000, help="baseline size, same run")
    parser.add_argument(
        "--time-scale",
        type=float,
        help="QBO minutes per real minute: 60 by default, 4 with --workers (a QBO minute of "
        "15 s, so that a job's fixed costs weigh against the windows about as in production)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the database")
    parser.add_argument(
        "--db",
        help="use this existing database (noko_qbo installed), kept; for development only: "
        "lines a previous bench run exported are bound to TimeActivity ids that a new "
        "sandbox hands out again",
    )
    parser.add_argument("--top-queries", type=int, default=3, help="query texts to list")
    parser.add_argument(
        "--trace-export", action="store_true", help="tracemalloc over the export (slower)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="N > 0: the multi-worker benchmark (a real server, queue_job's runner)",
    )
    parser.add_argument(
        "--storm",
        type=float,
        default=0.0,
        help="--workers: the drill: every QBO request throttled for this many real seconds "
        "after the runs start; exits non-zero unless the runs end done, exactly once",
    )
    parser.add_argument(
        "--limit-time-real",
        type=int,
        default=900,
        help="--workers: Odoo's limit_time_real (set it below --storm for the drill)",
    )
    parser.add_argument(
        "--deadline", type=int, default=1800, help="--workers: seconds the whole run may take"
    )
    args = parser.parse_args(argv)
    if args.time_scale is None:
        args.time_scale = 4.0 if args.workers else 60.0
    return args


def combined_bound():
    """Lines a minute one app may send: the client layer's own bound (batches + singles)."""
    from odoo.addons.noko_qbo.qbo.limits import Limits, lines_per_minute_bound  # noqa: PLC0415

    return lines_per_minute_bound(Limits(**QBO_LIMITS), BATCH_SIZE)


def main(argv=None):
    args = _arguments(argv)
    try:
        odoo_info = find_odoo()
    except OdooNotFound as exc:
        if args.storm:  # the drill is part of `make test`: skipped like the Odoo suite
            print(f"DRILL SKIPPED: {exc}", flush=True)
            return 0
        raise SystemExit(f"bench_export needs Odoo 19: {exc}") from exc
    except OdooUnusable as exc:
        raise SystemExit(f"bench_export needs Odoo 19: {exc}") from exc
    if args.workers:
        import bench_workers  # noqa: PLC0415 - the other mode, only when asked

        return bench_workers.run(args, sys.modules[__name__])
    return run_single_process(args, odoo_info)


def run_single_process(args, odoo_info):
    """Preview, confirm and export at two sizes in this process (the default mode)."""
    run_started = time.perf_counter()
    workdir = Path(tempfile.mkdtemp(prefix="noko_qbo_bench_"))
    dbname = args.db or f"noko_qbo_bench_{os.getpid()}"
    conf = write_config(
        workdir / "odoo.conf", odoo_info, dbname, workdir / "data", options={"log_level": "warn"}
    )
    install_seconds = 0.0
    created = False
    server = None
    try:
        if not args.db:
            created = True
            install_seconds = create_database(conf, dbname, odoo_info, workdir)

        import odoo  # noqa: PLC0415
        import odoo.modules.registry  # noqa: PLC0415
        from odoo.tools import config  # noqa: PLC0415

        config.parse_config(["-c", str(conf), "-d", dbname])
        registry = odoo.modules.registry.Registry(dbname)

        server = SandboxServer(
            limits=SandboxLimits(**QBO_LIMITS),
            time_scale=args.time_scale,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
        ).start()
        bench = Bench(registry, server, args)
        bench.setup()
        small = run_size(bench, args.small, date(2023, 1, 2), args)
        large = run_size(bench, args.lines, date(2024, 1, 1), args)
        report(small, large, args, install_seconds)
        print(f"\ntotal run: {time.perf_counter() - run_started:.0f} s")
    finally:
        if server is not None:
            server.stop()
        if created and not args.keep_db:
            log(f"dropping {dbname}")
            drop_database(dbname, odoo_info, workdir)
            shutil.rmtree(workdir, ignore_errors=True)
        elif created:
            log(f"kept database {dbname} (config {conf})")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
