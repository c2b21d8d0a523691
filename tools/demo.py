"""`make demo`: Odoo with noko_qbo and demo data, connected to an offline QuickBooks Online.

1. starts ``qbo_sandbox`` (the demo company) on http://127.0.0.1:8070 (``DEMO_SANDBOX_PORT``);
2. drops and creates the database ``noko_qbo_demo`` (``DEMO_DB``) with the addon, then loads
   users, projects, employees and last month's timesheets (``tools/demo_data.py``, run as a
   program of its own);
3. starts Odoo on http://localhost:8069 (``DEMO_HTTP_PORT``; threaded, with queue_job's
   runner), connects the company through the real OAuth path (Connect button → consent →
   callback) and syncs the QBO lists;
4. as the manager, previews last month's timesheets and confirms the export; the job runner
   sends them; prints the run's summary;
5. serves until Ctrl-C, restarting Odoo (or the sandbox) whenever it dies, with a backoff
   (the database stays for inspection; the next run drops it).

Without Odoo it says what to install and runs the sandbox-only demo (``demo_sandbox``).
Logs and the Odoo config go to ``$TMPDIR/noko_qbo_demo`` (``DEMO_DIR``).
"""

import contextlib
import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

import demo_data  # noqa: E402
import demo_sandbox  # noqa: E402
from demo_rpc import OdooSession, RpcError  # noqa: E402
from odoo_env import (  # noqa: E402
    OdooNotFound,
    OdooRunFailed,
    OdooUnusable,
    check_postgres,
    drop_database,
    find_odoo,
    install_addon,
    odoo_command,
    write_config,
)

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent
DATABASE = os.environ.get("DEMO_DB", "noko_qbo_demo")
HTTP_PORT = int(os.environ.get("DEMO_HTTP_PORT", "8069"))
SANDBOX_PORT = int(os.environ.get("DEMO_SANDBOX_PORT", "8070"))
WORKDIR = Path(os.environ.get("DEMO_DIR") or Path(tempfile.gettempdir()) / "noko_qbo_demo")
ODOO_URL = f"http://localhost:{HTTP_PORT}"
CLIENT_ID, CLIENT_SECRET = "noko-qbo-demo", "demo-secret"
WEBHOOK_VERIFIER = "demo-webhook-verifier"  # noqa: S105 - the demo app's, not a real secret
PREVIEW_ACTION = "noko_qbo.qbo_export_preview_action_from_timesheets"
JOB_TIMEOUT = 180
RUN_FIELDS = [
    "name",
    "state",
    "count_total",
    "count_exported",
    "count_skipped",
    "count_failed",
    "count_pending",
    "failure_message",
]
PREVIEW_FIELDS = [
    "count_lines",
    "count_ready",
    "count_warning",
    "count_blocked",
    "count_skipped",
    "hours_total",
    "connection_problem",
]


class DemoError(Exception):
    pass


def say(text=""):
    print(text, flush=True)


def _stop_on_signal(signum, frame):
    raise KeyboardInterrupt


def main():
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), _stop_on_signal)
    try:
        odoo = find_odoo()
        check_postgres(odoo)
    except OdooNotFound as exc:
        say(f"Odoo not found: {exc}.")
        say("Running the sandbox-only demo instead (the full demo needs Odoo 19.0 + queue_job).\n")
        with contextlib.suppress(KeyboardInterrupt):
            demo_sandbox.main()
        return 0
    except OdooUnusable as exc:
        say(f"DEMO FAILED: {exc}")
        return 1
    demo = Demo(odoo)
    try:
        return demo.run()
    except KeyboardInterrupt:
        return 0
    except (DemoError, OdooRunFailed, RpcError, requests.RequestException) as exc:
        say(f"\nDEMO FAILED: {exc}\nLogs: {WORKDIR}")
        return 1
    finally:
        demo.supervisor.stop()


class Supervisor:
    """Keeps named processes running until stopped: one that dies is started again after
    a growing pause (1 s, 2 s, 5 s ... 60 s; back to 1 s once it has run a minute)."""

    BACKOFF = (1, 2, 5, 10, 30, 60)
    STABLE = 60  # seconds alive after which a death is a fresh one

    def __init__(self):
        self.children = {}  # name: {"start": callable, "process": Popen, ...}, in start order

    def start(self, name, start):
        """Start ``start()`` (returns a ``Popen``) under supervision; its errors propagate."""
        self.children[name] = {"start": start, "deaths": 0, "due": None}
        self._spawn(name)
        return self.children[name]["process"]

    def process(self, name):
        return self.children[name]["process"]

    def _spawn(self, name):
        child = self.children[name]
        child["process"] = child["start"]()
        child["started"] = time.monotonic()
        child["due"] = None

    def check(self, on_restart=None):
        """One supervision round: notice deaths, restart what is due; ``on_restart(name)``."""
        for name, child in self.children.items():
            if child["due"] is None and child["process"].poll() is not None:
                self._schedule(name, f"exited with {child['process'].returncode}")
            elif child["due"] is not None and time.monotonic() >= child["due"]:
                try:
                    self._spawn(name)
                except Exception as exc:  # noqa: BLE001 - a failed start is one more death
                    self._schedule(name, f"did not start ({exc})")
                    continue
                say(f"{name} restarted (pid {child['process'].pid}).")
                if on_restart:
                    on_restart(name)

    def _schedule(self, name, why):
        child = self.children[name]
        now = time.monotonic()
        if now - child["started"] > self.STABLE:
            child["deaths"] = 0
        pause = self.BACKOFF[min(child["deaths"], len(self.BACKOFF) - 1)]
        child["deaths"] += 1
        child["due"] = now + pause
        say(f"\n{name} {why}: starting it again in {pause} s.")

    def stop(self):
        for child in reversed(self.children.values()):
            if child["process"].poll() is None:
                child["process"].send_signal(signal.SIGTERM)
        for child in reversed(self.children.values()):
            try:
                child["process"].wait(timeout=20)
            except subprocess.TimeoutExpired:
                child["process"].kill()
                child["process"].wait()
        if self.children:
            say("\nStopped Odoo and qbo_sandbox.")
        self.children = {}


class Demo:
    def __init__(self, odoo):
        self.odoo = odoo
        self.supervisor = Supervisor()
        self.started = time.monotonic()
        self.config = WORKDIR / "odoo.conf"
        self.data_dir = WORKDIR / "data"
        self.odoo_log = WORKDIR / "odoo.log"
        self.sandbox_url = f"http://127.0.0.1:{SANDBOX_PORT}"

    def step(self, text):
        say(f"[{time.monotonic() - self.started:>4.0f} s] {text}")

    # ------------------------------------------------------------------ steps

    def run(self):
        self.check_ports()
        WORKDIR.mkdir(parents=True, exist_ok=True)
        say(f"{self.odoo.describe()}; logs in {WORKDIR}")
        first, last = demo_data.last_month()
        self.start_sandbox()
        self.create_database()
        self.load_data(first, last)
        self.start_odoo()
        self.connect()
        self.step(enable_webhooks(self.sandbox_url))
        manager, run_id = self.export(first, last)
        self.summary(manager, run_id)
        self.serve()
        return 0

    @staticmethod
    def check_ports():
        for port, variable in ((HTTP_PORT, "DEMO_HTTP_PORT"), (SANDBOX_PORT, "DEMO_SANDBOX_PORT")):
            if not _port_free(port):
                raise DemoError(f"port {port} is in use (a demo still running?); set {variable}")

    def start_sandbox(self):
        self.supervisor.start("qbo_sandbox", self._spawn_sandbox)
        self.step(f"qbo_sandbox serving the demo company on {self.sandbox_url}")

    def _spawn_sandbox(self):
        log = open(WORKDIR / "sandbox.log", "a")  # noqa: SIM115 - the child's stdout
        process, _url = demo_sandbox.start_sandbox(SANDBOX_PORT, log=log, start_new_session=True)
        return process

    def create_database(self):
        drop_database(self.odoo, DATABASE, self.data_dir)
        write_config(
            self.config,
            self.odoo,
            DATABASE,
            data_dir=self.data_dir,
            http_port=HTTP_PORT,
            options={
                "workers": 0,  # threaded: queue_job's runner runs in a thread of the server
                "max_cron_threads": 1,
            },
            sections={"queue_job": {"channels": "root:2,root.noko_qbo:1"}},
        )
        self.step(f"creating database {DATABASE} with noko_qbo (about a minute)")
        install_addon(self.odoo, self.config, DATABASE, WORKDIR / "install.log", timeout=600)

    def load_data(self, first, last):
        """``tools/demo_data.py`` as a program: it opens the database and commits."""
        command = [
            sys.executable,
            str(TOOLS / "demo_data.py"),
            f"--config={self.config}",
            f"--database={DATABASE}",
            f"--first={first.isoformat()}",
            f"--last={last.isoformat()}",
            f"--url={ODOO_URL}",
        ]
        with open(WORKDIR / "data.log", "w") as log:
            done = subprocess.run(
                command, cwd=ROOT, env=self.odoo.environ(), stdout=subprocess.PIPE, stderr=log
            )
        found = re.search(rb"DEMO_LINES (\d+)", done.stdout)
        if done.returncode or not found:
            raise DemoError(f"loading the demo data failed: see {WORKDIR / 'data.log'}")
        self.step(
            f"demo data: {len(demo_data.PROJECTS)} projects, {len(demo_data.EMPLOYEES)} "
            f"employees, {int(found[1])} timesheet lines ({first:%d %b} - {last:%d %b %Y}, "
            "weekdays)"
        )

    def start_odoo(self):
        process = self.supervisor.start("Odoo", self._spawn_odoo)
        self.wait_for_odoo(process, timeout=120)
        self.step(f"Odoo serving on {ODOO_URL} (log: {self.odoo_log})")

    def _spawn_odoo(self):
        console = open(WORKDIR / "odoo.console.log", "a")  # noqa: SIM115 - the child's output
        return subprocess.Popen(
            [
                *odoo_command(self.odoo),
                "-c",
                str(self.config),
                "-d",
                DATABASE,
                f"--logfile={self.odoo_log}",
            ],
            cwd=ROOT,
            env=self.odoo.environ(),
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_for_odoo(self, process, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(f"Odoo exited with {process.returncode}: see {self.odoo_log}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{ODOO_URL}/web/login", timeout=5).status_code == 200:
                    return
            time.sleep(0.5)
        raise DemoError(f"Odoo did not answer {ODOO_URL}/web/login within {timeout} s")

    def connect(self):
        """Settings > QuickBooks Online as the admin: Connect, consent, callback, sync."""
        admin = OdooSession(ODOO_URL, DATABASE)
        admin.login("admin", "admin")
        settings = admin.call(
            "res.config.settings",
            "create",
            [
                {
                    "qbo_environment": "custom",
                    "qbo_base_url": self.sandbox_url,
                    "qbo_client_id": CLIENT_ID,
                    "qbo_new_client_secret": CLIENT_SECRET,
                }
            ],
        )
        settings = settings[0] if isinstance(settings, list) else settings
        self.oauth_dance(admin, settings)
        synced = admin.button("res.config.settings", "action_qbo_sync_lists", [settings])
        self.step(synced["params"]["message"])
        demo_data.map_after_sync(admin)
        return admin

    def oauth_dance(self, admin, settings):
        """The Connect button, Intuit's consent page (the sandbox's), the callback."""
        action = admin.button("res.config.settings", "action_qbo_connect", [settings])
        consent = admin.http.get(action["url"], allow_redirects=False, timeout=10)
        callback = consent.headers.get("Location", "")
        if consent.status_code not in (302, 303) or "/noko_qbo/oauth/callback" not in callback:
            raise DemoError(f"the consent page answered {consent.status_code} {callback!r}")
        back = admin.http.get(callback, allow_redirects=False, timeout=60)
        if back.status_code not in (302, 303) or "/web/login" in back.headers.get("Location", ""):
            raise DemoError(f"the OAuth callback answered {back.status_code}: {back.text[:300]}")
        company_id = admin.call("res.company", "search", [[]], limit=1)[0]
        company = admin.call(
            "res.company",
            "read",
            [[company_id], ["qbo_connected", "qbo_company_name", "qbo_last_message"]],
        )[0]
        if not company["qbo_connected"]:
            raise DemoError(f"not connected after the callback: {company['qbo_last_message']}")
        self.step(f"connected (Connect → consent → callback): {company['qbo_last_message']}")

    def export(self, first, last):
        """As the manager: All Timesheets, last month selected, Action > Export, Confirm."""
        manager = OdooSession(ODOO_URL, DATABASE)
        manager.login("manager", "manager")
        domain = [
            ("project_id", "!=", False),
            ("date", ">=", first.isoformat()),
            ("date", "<=", last.isoformat()),
        ]
        preview_id = self.preview(manager, domain)
        confirmed = manager.button("qbo.export.preview", "action_confirm", [preview_id])
        self.step("confirmed; waiting for queue_job's runner to send the lines")
        run_id = confirmed["res_id"]
        self.wait_for_run(manager, run_id)
        return manager, run_id

    def preview(self, manager, domain):
        line_ids = manager.call("account.analytic.line", "search", [domain])
        action = manager.run_action(
            PREVIEW_ACTION,
            context={
                "active_model": "account.analytic.line",
                "active_ids": line_ids,
                "active_domain": domain,
            },
        )
        preview_id = action["res_id"]
        preview = manager.call("qbo.export.preview", "read", [[preview_id], PREVIEW_FIELDS])[0]
        self.step(
            f"export preview (as manager): {preview['count_lines']} lines, "
            f"{preview['count_ready']} ready, {preview['count_warning']} with warnings, "
            f"{preview['count_blocked']} will not be sent, {preview['count_skipped']} skipped, "
            f"{preview['hours_total']:.2f} h"
        )
        if preview["connection_problem"]:
            raise DemoError(preview["connection_problem"])
        return preview_id

    def wait_for_run(self, manager, run_id):
        deadline = time.monotonic() + JOB_TIMEOUT
        state = None
        while time.monotonic() < deadline:
            state = manager.call("qbo.export", "read", [[run_id], ["state"]])[0]["state"]
            if state in ("done", "done_with_errors", "failed"):
                return state
            for name, child in self.supervisor.children.items():
                if child["process"].poll() is not None:
                    raise DemoError(f"{name} exited with {child['process'].returncode}")
            time.sleep(1)
        raise DemoError(
            f"the export run stayed '{state}' for {JOB_TIMEOUT} s: is queue_job's runner "
            f"running? (grep -i jobrunner {self.odoo_log})"
        )

    # ------------------------------------------------------------------ summary

    def summary(self, manager, run_id):
        run = manager.call("qbo.export", "read", [[run_id], RUN_FIELDS])[0]
        self.step(f"{run['name']}: {run['state']}")
        say(
            f"    {run['count_exported']} exported, {run['count_failed']} need attention "
            f"(still approved, waiting), {run['count_skipped']} skipped, "
            f"{run['count_pending']} pending, out of {run['count_total']}"
        )
        if run["failure_message"]:
            say(f"    failure: {run['failure_message']}")
        self.summary_reasons(manager, run_id)
        self.summary_sandbox()
        self.summary_chatter(manager, run_id, run["count_failed"])

    @staticmethod
    def summary_reasons(manager, run_id):
        """Why lines were not sent: one line per reason, with an example."""
        failed = manager.call(
            "qbo.export.result",
            "search_read",
            [[("export_id", "=", run_id), ("state", "=", "failed")]],
            fields=["date", "employee_id", "project_id", "message"],
        )
        for reason, count in Counter(result["message"] for result in failed).most_common():
            example = next(result for result in failed if result["message"] == reason)
            say(
                f"    {count:>3} × {reason}\n"
                f"          e.g. {example['date']}, {example['employee_id'][1]}, "
                f"{example['project_id'][1]}"
            )

    def summary_sandbox(self):
        url = self.sandbox_url
        activities = requests.get(f"{url}/_sandbox/entities/TimeActivity", timeout=10)
        stats = requests.get(f"{url}/_sandbox/stats", timeout=10).json()["result"]
        say(
            f"    qbo_sandbox now holds {len(activities.json()['result'])} TimeActivities "
            f"({stats.get('requests')} API requests, {stats.get('batch_requests')} batches)"
        )

    @staticmethod
    def summary_chatter(manager, run_id, count_failed):
        """The run's summary note (the email to the manager is a message of its own)."""
        messages = manager.call(
            "mail.message",
            "search_read",
            [
                [
                    ("model", "=", "qbo.export"),
                    ("res_id", "=", run_id),
                    ("message_type", "=", "notification"),
                    ("subtype_id.name", "=", "Export finished"),
                ]
            ],
            fields=["body"],
            order="id desc",
            limit=1,
        )
        if messages:
            first = _text(messages[0]["body"]).splitlines()[0]
            say(f'    chatter of the run: "{first}"')
            if count_failed:
                say("      followed by the lines that need attention, each with its reason")

    # ------------------------------------------------------------------ serve

    def serve(self):
        self.print_banner()
        while True:
            time.sleep(1)
            self.supervisor.check(on_restart=self.restarted)

    def restarted(self, name):
        if name == "qbo_sandbox":
            say(
                "  qbo_sandbox keeps its data in memory: it is the demo company again, and "
                "Odoo's tokens are gone (Settings > QuickBooks Online: Connect)."
            )
        else:
            say("  queue_job's runner requeues the jobs the dead Odoo was running.")

    def print_banner(self):
        url = self.sandbox_url
        odoo_pid = self.supervisor.process("Odoo").pid
        sandbox_pid = self.supervisor.process("qbo_sandbox").pid
        say(
            f"""
Ready in {time.monotonic() - self.started:.0f} s. Odoo: {ODOO_URL}  (database {DATABASE})
  admin / admin        settings, Settings > QuickBooks Online (connected to the sandbox)
  manager / manager    QuickBooks manager: Timesheets > All Timesheets, QuickBooks > Exports
  employee / employee  Emily Platt, a timesheet user (her lines are exported: locked)
qbo_sandbox: {url}  (curl {url}/_sandbox/stats)

What to try, as manager:
  - Export again (All Timesheets, select all, Action > Export to QuickBooks Online):
    the exported lines are skipped, nothing is sent twice.
  - Project "Harborview Hotel Website" > Integrations: choose a QuickBooks customer;
    employee "Jordan Blake": choose a QuickBooks employee; then export again.
  - Edit an exported line (as employee or manager): refused, it is locked.
{webhook_things_to_try(url)}
  - curl -X POST {url}/_sandbox/revoke_tokens, then export: the run fails with
    a reconnect message; reconnect as admin in Settings.
  - Kill Odoo mid-export (kill -9 <Odoo pid>): the demo restarts it, queue_job requeues the
    interrupted job, and the run ends without sending any line twice.
Pids: Odoo {odoo_pid}, qbo_sandbox {sandbox_pid}. Logs: {WORKDIR}.
Ctrl-C stops both (the database stays; the next make demo drops it)."""
        )


def enable_webhooks(sandbox_url):
    """Settings (as admin): the verifier token; the sandbox: Odoo's webhook, CloudEvents."""
    admin = OdooSession(ODOO_URL, DATABASE)
    admin.login("admin", "admin")
    settings = admin.call(
        "res.config.settings", "create", [{"qbo_new_webhook_verifier_token": WEBHOOK_VERIFIER}]
    )
    admin.button(
        "res.config.settings", "execute", [settings[0] if isinstance(settings, list) else settings]
    )
    endpoint = f"http://127.0.0.1:{HTTP_PORT}/noko_qbo/webhook"
    body = {"url": endpoint, "verifier_token": WEBHOOK_VERIFIER, "format": "cloudevents"}
    requests.post(f"{sandbox_url}/_sandbox/webhook", json=body, timeout=10).raise_for_status()
    return f"webhooks: qbo_sandbox notifies {endpoint} (CloudEvents, signed)"


def webhook_things_to_try(sandbox_url):
    """'What to try' lines for billing and deleting in QuickBooks, with real TimeActivity ids."""
    stored = requests.get(f"{sandbox_url}/_sandbox/entities/TimeActivity", timeout=10).json()
    billable = [a["Id"] for a in stored["result"] if a.get("BillableStatus") == "Billable"]
    bill, delete = billable[:3], billable[3:5]
    return f"""  - Bill time in QuickBooks; watch All Timesheets, filter "Billed in QuickBooks":
      curl -X POST {sandbox_url}/_sandbox/bill -d '{{"ids": {json.dumps(bill)}}}'
    the webhook tells Odoo within seconds; billed lines can never be removed or unlocked.
  - Delete time in QuickBooks: the lines turn "Deleted in QuickBooks" (reason on the line,
    note in the run's chatter) and are never sent again unless you unlock or export them again:
      curl -X POST {sandbox_url}/_sandbox/delete -d '{{"ids": {json.dumps(delete)}}}'
  - Select an exported, unbilled line, Action > Remove from QuickBooks: its TimeActivity is
    deleted there and the line is a draft again; export it again: sent exactly once.
  - Without webhooks: Settings > QuickBooks Online > Sync from QuickBooks (also daily)."""


def _port_free(port):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _text(body):
    """A chatter body as plain text lines."""
    body = re.sub(r"<li[^>]*>", "\n- ", body)
    body = re.sub(r"</p>\s*<", "\n<", body)
    return html.unescape(re.sub(r"<[^>]+>", "", body)).strip()


if __name__ == "__main__":
    sys.exit(main())
