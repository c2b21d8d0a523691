"""Multi-worker export benchmark: ``python3 bench/bench_export.py --workers 2``.

Odoo runs as a real server (``workers=N``, ``server_wide_modules = web,queue_job``,
queue_job's own runner, ``[queue_job] channels`` giving ``root.noko_qbo`` a capacity of
N so jobs really overlap) against ``python -m qbo_sandbox`` in a process of its own,
time-scaled, with QBO's limits. Two managers' exports of half the lines each start
at the same time through the web client's JSON-RPC (login, the preview's server
action with ``active_model``/``active_domain``, Confirm); the harness waits for both
runs to end, then reads everything back (lines as admin over JSON-RPC, TimeActivities
and 429s from the sandbox's admin API) and prints, as its last line::

    limit ratio R (bound B lines/min), 429s T, duplicates D, lost L

B: the combined per-app bound (``combined_bound``); R: the bound's time for all lines
(scaled) over the real time from the first confirmed run to the end of the last;
T: 429s the sandbox answered; D: lines stored in QBO more than once (by the marker at
the end of each Description); L: lines neither exported nor approved-and-waiting with
a reason. Nothing here drives queue_job: its runner does. Every wait is bounded; the
server, the sandbox and the database go away at the end, failure or not.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tools")]

from demo_rpc import OdooSession, RpcError  # noqa: E402
from odoo_env import (  # noqa: E402
    OdooRunFailed,
    drop_database,
    find_odoo,
    free_port,
    install_addon,
    odoo_command,
    stop_process_group,
    write_config,
)

from noko_qbo.qbo.client import BATCH_MAX  # noqa: E402
from noko_qbo.qbo.limits import Limits, lines_per_minute_bound  # noqa: E402

# The addon's names this harness relies on, in one place (the lead may rename them).
PREVIEW_MODEL = "qbo.export.preview"
PREVIEW_OPEN = "action_open_from_timesheets"  # the timesheet list's server action
PREVIEW_CONFIRM = "action_confirm"
RUN_MODEL = "qbo.export"
RUN_FINAL_STATES = ("done", "done_with_errors", "failed")
LINE_MODEL = "account.analytic.line"
CHANNEL = "root.noko_qbo"
MANAGER = ("bench_manager", "bench_manager")
ADMIN = ("admin", "admin")


def combined_bound():
    """Lines a minute one app may send to one realm (the client layer's own bound)."""
    return lines_per_minute_bound(Limits(), BATCH_MAX)


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class BenchTimeout(Exception):
    pass


# ---------------------------------------------------------------------- the sandbox


class SandboxProcess:
    """``python -m qbo_sandbox`` in a process of its own, driven over ``/_sandbox/``; the
    methods ``Bench`` uses of an in-process ``SandboxServer``."""

    def __init__(self, time_scale, client_id, client_secret, log_path):
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        command = [
            sys.executable,
            "-m",
            "qbo_sandbox",
            f"--port={self.port}",
            f"--time-scale={time_scale}",
            f"--client-id={client_id}",
            f"--client-secret={client_secret}",
        ]
        self._log = open(log_path, "w")  # noqa: SIM115 - the child's output, closed in stop()
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready()
        self.realm_id = self.company()["realm_id"]

    def _wait_ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"qbo_sandbox exited with {self.process.returncode}")
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{self.base_url}/.well-known/openid_configuration", timeout=2)
                return
            time.sleep(0.1)
        raise BenchTimeout(f"qbo_sandbox did not answer within {timeout} s")

    def admin(self, command, method="GET", **params):
        answer = requests.request(
            method, f"{self.base_url}/_sandbox/{command}", params=params, timeout=60
        )
        answer.raise_for_status()
        return answer.json()["result"]

    def issue_tokens(self, realm_id=None):
        return self.admin("issue_tokens", "POST", **({"realm_id": realm_id} if realm_id else {}))

    def company(self):
        return self.admin("company")

    def entities(self, entity):
        return self.admin(f"entities/{entity}")

    def stats(self):
        return self.admin("stats")

    def stop(self):
        stop_process_group(self.process, grace=5, dump_stacks=False)
        self._log.close()


# ---------------------------------------------------------------------- the server


class OdooServer:
    """Odoo with ``workers`` processes and queue_job's runner, until ``stop()``."""

    def __init__(self, odoo, workdir, database, workers, limit_time_real=900):
        self.odoo, self.database, self.workers = odoo, database, workers
        self.http_port = free_port()
        self.url = f"http://127.0.0.1:{self.http_port}"
        self.log_path = workdir / "odoo-server.log"
        self.config = write_config(
            workdir / "odoo.conf",
            odoo,
            database,
            data_dir=workdir / "data",
            http_port=self.http_port,
            options={
                "workers": workers,
                "max_cron_threads": 0,  # no cron worker: the CPU is the jobs'
                "server_wide_modules": "web,queue_job",
                "gevent_port": free_port(),
                # a chunk job is one /queue_job/runjob request: it ends at a third of this
                "limit_time_real": limit_time_real,
                "limit_time_cpu": 600,
                "log_level": "info",
            },
            sections={"queue_job": {"channels": f"root:{workers},{CHANNEL}:{workers}"}},
        )
        self.process = None

    def start(self, timeout=120):
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [*odoo_command(self.odoo), "-c", str(self.config), "-d", self.database],
            cwd=ROOT,
            env=self.odoo.environ(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        self._wait(deadline, self._answers, "answer /web/login")
        self._wait(deadline, self._runner_ready, "start queue_job's runner")
        log(f"Odoo serving on {self.url}: {self.workers} workers, queue_job's runner ready")

    def _wait(self, deadline, ready, what):
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Odoo exited with {self.process.returncode}: {self.log_path}")
            if ready():
                return
            time.sleep(0.5)
        raise BenchTimeout(f"Odoo did not {what} in time: {self.log_path}")

    def _answers(self):
        with contextlib.suppress(requests.RequestException):
            return requests.get(f"{self.url}/web/login", timeout=5).status_code == 200
        return False

    def _runner_ready(self):
        return f"queue job runner ready for db {self.database}" in self.log_path.read_text(
            errors="replace"
        )

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def time_limit_kills(self):
        """Log lines of Odoo ending a request (or a worker) at ``limit_time_real``."""
        text = self.log_path.read_text(errors="replace")
        return [
            line
            for line in text.splitlines()
            # prefork: "WorkerHTTP (pid) timeout after 10s"; threaded: "virtual real time limit"
            if "virtual real time limit" in line or ") timeout after " in line
        ]

    def stop(self):
        if self.process is not None:
            stop_process_group(self.process, grace=20, dump_stacks=False)
            self._log.close()


# ---------------------------------------------------------------------- the runs


@dataclasses.dataclass
class Run:
    """One manager's export through the web client's JSON-RPC."""

    name: str
    domain: list
    line_ids: list
    run_id: int = None
    preview_seconds: float = 0.0
    confirm_seconds: float = 0.0
    confirmed_at: float = None
    ended_at: float = None
    state: str = None
    error: str = None

    def start(self, url, database, go):
        """Log in, open the preview from the list's selection, confirm (after ``go``)."""
        try:
            session = OdooSession(url, database)
            session.login(*MANAGER)
            go.wait(60)  # both runs confirm together
            started = time.monotonic()
            action = session.call(
                PREVIEW_MODEL,
                PREVIEW_OPEN,
                [],
                context={
                    "active_model": LINE_MODEL,
                    "active_domain": self.domain,
                    "active_ids": [],
                },
            )
            self.preview_seconds = time.monotonic() - started
            started = time.monotonic()
            confirmed = session.call(PREVIEW_MODEL, PREVIEW_CONFIRM, [[action["res_id"]]])
            self.confirmed_at = time.monotonic()
            self.confirm_seconds = self.confirmed_at - started
            self.run_id = confirmed["res_id"]
        except Exception as exc:  # noqa: BLE001 - reported by the harness
            self.error = f"{type(exc).__name__}: {exc}"


def start_runs(server, runs):
    """Both runs' preview and confirm in threads released together; bounded."""
    go = threading.Event()
    threads = [
        threading.Thread(
            target=run.start, args=(server.url, server.database, go), name=run.name, daemon=True
        )
        for run in runs
    ]
    for thread in threads:
        thread.start()
    go.set()
    deadline = time.monotonic() + 900
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    for run in runs:
        if run.error or run.run_id is None:
            raise RuntimeError(f"run {run.name} did not start: {run.error or 'still confirming'}")
        log(
            f"run {run.name} ({len(run.line_ids)} lines): preview {run.preview_seconds:.1f} s, "
            f"confirm {run.confirm_seconds:.1f} s, {RUN_MODEL} {run.run_id}"
        )


def wait_for_runs(server, runs, timeout):
    """Poll the runs' state (as the manager) until both ended, or ``timeout`` seconds."""
    session = OdooSession(server.url, server.database)
    session.login(*MANAGER)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"Odoo died during the export: {server.log_path}")
        ids = [run.run_id for run in runs]
        states = {r["id"]: r["state"] for r in session.call(RUN_MODEL, "read", [ids, ["state"]])}
        for run in runs:
            if run.ended_at is None and states[run.run_id] in RUN_FINAL_STATES:
                run.ended_at, run.state = time.monotonic(), states[run.run_id]
                log(f"run {run.name}: {run.state}")
        if all(run.ended_at for run in runs):
            return
        time.sleep(0.25)  # the end time is known to this, plus a busy worker's wait
    raise BenchTimeout(
        f"runs not finished after {timeout:.0f} s: "
        + ", ".join(f"{run.name} {states.get(run.run_id)}" for run in runs)
    )


# ---------------------------------------------------------------------- the figures


def read_back(server, sandbox, bench, runs, throttled_before):
    """T, D and L from the sandbox and (as admin, over JSON-RPC) the lines."""
    from odoo.addons.noko_qbo.qbo import payloads  # noqa: PLC0415 - Odoo's path is set up

    line_ids = [line_id for run in runs for line_id in run.line_ids]
    admin = OdooSession(server.url, server.database)
    admin.login(*ADMIN)
    lines = admin.call(
        LINE_MODEL, "search_read", [[("id", "in", line_ids)]], fields=["qbo_state", "qbo_error"]
    )
    lost = sum(
        1
        for line in lines
        if line["qbo_state"] != "exported"
        and not (line["qbo_state"] == "approved" and line["qbo_error"])
    )
    lost += len(line_ids) - len(lines)  # a line that vanished is lost too
    copies = {}
    for activity in sandbox.entities("TimeActivity"):
        tag = payloads.marker_in(activity.get("Description"))
        copies[tag] = copies.get(tag, 0) + 1
    markers = {line_id: payloads.marker(key) for line_id, key in bench.keys_of(line_ids).items()}
    duplicates = sum(1 for tag in markers.values() if copies.get(tag, 0) > 1)
    states = {}
    for line in lines:
        states[line["qbo_state"]] = states.get(line["qbo_state"], 0) + 1
    log(f"lines by state: {states}")
    log(job_report(admin))
    return sandbox.stats()["throttled"] - throttled_before, duplicates, lost


def job_report(admin):
    """How queue_job's runner ran the export jobs: which workers, and whether the two
    runs' chains (one ``graph_uuid`` each) really ran at the same time."""
    jobs = admin.call(
        "queue.job",
        "search_read",
        [[("model_name", "=", RUN_MODEL)]],
        fields=["state", "worker_pid", "retry", "graph_uuid", "date_started", "date_done"],
    )  # retry: the tries so far (queue_job counts the first one)
    spans = {}
    for job in jobs:
        if job["date_started"] and job["date_done"]:
            start = datetime.fromisoformat(job["date_started"]).timestamp()
            done = datetime.fromisoformat(job["date_done"]).timestamp()
            first, last = spans.get(job["graph_uuid"], (start, done))
            spans[job["graph_uuid"]] = (min(first, start), max(last, done))
    overlap = "n/a"
    if len(spans) == 2:
        (a_start, a_done), (b_start, b_done) = spans.values()
        overlap = f"{max(0.0, min(a_done, b_done) - max(a_start, b_start)):.0f} s"
    states = sorted({job["state"] for job in jobs})
    return (
        f"jobs: {len(jobs)} ({', '.join(states)}) on {len({j['worker_pid'] for j in jobs})} "
        f"worker pids, {sum(max(0, j['retry'] - 1) for j in jobs)} retries; the two runs' chains "
        f"overlapped {overlap} (to the second)"
    )


def figures(runs, time_scale, throttled, duplicates, lost):
    lines = sum(len(run.line_ids) for run in runs)
    bound = combined_bound()
    bound_seconds = lines / bound * 60.0 / time_scale
    elapsed = max(run.ended_at for run in runs) - min(run.confirmed_at for run in runs)
    log(
        f"{lines} lines in {elapsed:.1f} s; at the bound ({bound} lines/min, time scale "
        f"{time_scale:g}) {bound_seconds:.1f} s"
    )
    ratio = bound_seconds / elapsed
    return (
        f"limit ratio {ratio:.2f} (bound {bound} lines/min), 429s {throttled}, "
        f"duplicates {duplicates}, lost {lost}"
    )


# ---------------------------------------------------------------------- main


def storm_verdict(server, runs, throttled, duplicates, lost):
    """The drill's last line; 0 when every run ended done, exactly once, the server intact."""
    kills = server.time_limit_kills()
    for line in kills:
        log(f"killed by the time limit: {line}")
    states = sorted({run.state for run in runs})
    print(
        f"storm: runs {','.join(states)}, 429s {throttled}, time-limit kills {len(kills)}, "
        f"server alive {server.alive()}, duplicates {duplicates}, lost {lost}",
        flush=True,
    )
    survived = states == ["done"] and not kills and server.alive()
    return 0 if survived and throttled and not (duplicates or lost) else 1


def run(args, bench_module):
    """The whole multi-worker benchmark; returns the process's exit code."""
    try:
        return _run(args, bench_module)
    except (BenchTimeout, RuntimeError, OdooRunFailed, RpcError, requests.RequestException) as exc:
        log(f"BENCH FAILED: {exc}")
        return 1


def _run(args, bench_module):
    deadline = _arm_deadline(args.deadline)
    odoo = find_odoo()
    workdir = Path(tempfile.mkdtemp(prefix="noko_qbo_bench_workers_"))
    database = f"noko_qbo_bench_{os.getpid()}"
    sandbox = server = None
    try:
        sandbox = SandboxProcess(
            args.time_scale,
            bench_module.CLIENT_ID,
            bench_module.CLIENT_SECRET,
            workdir / "sandbox.log",
        )
        server = OdooServer(odoo, workdir, database, args.workers, args.limit_time_real)
        log(f"creating database {database} (noko_qbo)...")
        install_addon(
            odoo,
            server.config,
            database,
            workdir / "install.log",
            modules="noko_qbo",
        )
        bench, runs = _prepare(bench_module, server, sandbox, database, args)
        server.start()
        time.sleep(60.0 / args.time_scale + 0.1)  # one scaled minute of rate windows
        throttled_before = sandbox.stats()["throttled"]
        start_runs(server, runs)
        if args.storm:
            # Every request throttled, for longer than Odoo lets a request live.
            sandbox.admin("throttle_for", "POST", seconds=args.storm * args.time_scale)
            log(f"429 storm of {args.storm:g} s, limit_time_real {args.limit_time_real} s")
        bound_seconds = sum(len(r.line_ids) for r in runs) / combined_bound() * 60 / args.time_scale
        wait_for_runs(
            server,
            runs,
            timeout=min(deadline - time.monotonic(), 600 + args.storm + 20 * bound_seconds),
        )
        counts = read_back(server, sandbox, bench, runs, throttled_before)
        if args.storm:
            return storm_verdict(server, runs, *counts)
        print(figures(runs, args.time_scale, *counts), flush=True)
        return 0
    finally:
        signal.alarm(0)
        _cleanup(server, sandbox, odoo, database, workdir, args.keep_db)


def _prepare(bench_module, server, sandbox, database, args):
    """Before the server starts: lines, mappings and the manager, in this process."""
    from odoo import sql_db  # noqa: PLC0415 - Odoo is there: find_odoo said so
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(["-c", str(server.config), "-d", database, "--log-level=warn"])
    registry = Registry(database)
    bench = bench_module.Bench(registry, sandbox, args)
    bench.setup()
    bench.make_user(*MANAGER)
    bench.set_password("base.user_admin", ADMIN[1])
    half = args.lines // 2
    runs = []
    for name, size, first_day in (
        ("A", half, date(2024, 1, 1)),
        ("B", args.lines - half, date(2025, 1, 1)),
    ):
        line_ids, domain = bench.make_lines(size, first_day)
        runs.append(Run(name, json.loads(json.dumps(domain, default=str)), line_ids))
    sql_db.close_all()  # the server's workers get the connections
    return bench, runs


def _arm_deadline(seconds):
    """The whole run is bounded: SIGALRM raises ``BenchTimeout`` in the main thread."""

    def expired(signum, frame):
        if signum == signal.SIGTERM:
            raise BenchTimeout("stopped by SIGTERM")
        raise BenchTimeout(f"the benchmark ran past its {seconds} s deadline")

    signal.signal(signal.SIGALRM, expired)
    signal.signal(signal.SIGTERM, expired)
    signal.alarm(seconds)
    return time.monotonic() + seconds


def _cleanup(server, sandbox, odoo_info, database, workdir, keep_db):
    """Stop the server and the sandbox, then drop the database: whatever happened."""
    for part in (server, sandbox):
        if part is not None:
            with contextlib.suppress(Exception):
                part.stop()
    with contextlib.suppress(ImportError):
        from odoo import sql_db  # noqa: PLC0415

        sql_db.close_all()
    if keep_db:
        log(f"kept database {database} and {workdir}")
        return
    log(f"dropping {database}")
    drop_database(odoo_info, database, workdir / "data")
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit("run it as: python3 bench/bench_export.py --workers 2")
