"""`make demo`: Odoo with noko_qbo and demo data, connected to an offline QuickBooks Online.

1. starts ``qbo_sandbox`` (the demo company) on http://127.0.0.1:8070 (``DEMO_SANDBOX_PORT``);
2. drops and creates the database ``noko_qbo_demo`` (``DEMO_DB``) with the addon, then loads
   users, projects, employees and last month's timesheets (``tools/demo_data.py``);
3. starts Odoo on http://localhost:8069 (``DEMO_HTTP_PORT``; threaded, with queue_job's
   runner), connects the company through the real OAuth path (Connect button → consent →
   callback) and syncs the QBO lists;
4. as the manager, previews last month's timesheets and confirms the export; the job runner
   sends them; prints the run's summary;
5. serves until Ctrl-C (the database stays for inspection; the next run drops it).

Without Odoo it says what to install and runs the sandbox-only demo (``demo_sandbox``).
Logs and the Odoo config go to ``$TMPDIR/noko_qbo_demo`` (``DEMO_DIR``).
"""

import contextlib
import html
import os
import re
import shutil
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
from odoo_env import OdooNotFound, find_odoo, odoo_command, write_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TOOLS = Path(__file__).resolve().parent
DATABASE = os.environ.get("DEMO_DB", "noko_qbo_demo")
HTTP_PORT = int(os.environ.get("DEMO_HTTP_PORT", "8069"))
SANDBOX_PORT = int(os.environ.get("DEMO_SANDBOX_PORT", "8070"))
WORKDIR = Path(os.environ.get("DEMO_DIR") or Path(tempfile.gettempdir()) / "noko_qbo_demo")
ODOO_URL = f"http://localhost:{HTTP_PORT}"
CLIENT_ID, CLIENT_SECRET = "noko-qbo-demo", "demo-secret"
PREVIEW_ACTION = "noko_qbo.qbo_export_preview_action_from_timesheets"
JOB_TIMEOUT = 180


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
    except OdooNotFound as exc:
        say(f"Odoo not found: {exc}.")
        say("Running the sandbox-only demo instead (the full demo needs Odoo 19.0 + queue_job).\n")
        with contextlib.suppress(KeyboardInterrupt):
            demo_sandbox.main()
        return 0
    demo = Demo(odoo)
    try:
        return demo.run()
    except KeyboardInterrupt:
        return 0
    except (DemoError, RpcError, requests.RequestException) as exc:
        say(f"\nDEMO FAILED: {exc}\nLogs: {WORKDIR}")
        return 1
    finally:
        demo.stop()


class Demo:
    def __init__(self, odoo):
        self.odoo = odoo
        self.processes = {}  # name: Popen, in start order
        self.odoo_started = 0.0
        self.started = time.monotonic()
        self.config = WORKDIR / "odoo.conf"
        self.data_dir = WORKDIR / "data"
        self.odoo_log = WORKDIR / "odoo.log"

    def elapsed(self):
        return f"{time.monotonic() - self.started:.0f} s"

    # ------------------------------------------------------------------ steps

    def run(self):
        for port, variable in ((HTTP_PORT, "DEMO_HTTP_PORT"), (SANDBOX_PORT, "DEMO_SANDBOX_PORT")):
            if not _port_free(port):
                raise DemoError(f"port {port} is in use (a demo still running?); set {variable}")
        WORKDIR.mkdir(parents=True, exist_ok=True)
        say(f"Odoo {self.odoo.version}; logs in {WORKDIR}")
        first, last = demo_data.last_month()
        sandbox_url = self.start_sandbox()
        self.create_database(first, last)
        self.start_odoo()
        self.connect(sandbox_url)
        run_id, manager = self.export(first, last)
        self.summary(manager, run_id, sandbox_url)
        self.serve(sandbox_url)
        return 0

    def start_sandbox(self):
        log = open(WORKDIR / "sandbox.log", "w")  # noqa: SIM115 - the child's stdout
        process, url = demo_sandbox.start_sandbox(SANDBOX_PORT, log=log, start_new_session=True)
        self.processes["qbo_sandbox"] = process
        say(f"[{self.elapsed():>5}] qbo_sandbox serving the demo company on {url}")
        return url

    def create_database(self, first, last):
        dropped = subprocess.run(
            ["dropdb", "--if-exists", "--force", *self.odoo.pg_args, DATABASE],
            capture_output=True,
            text=True,
        )
        if dropped.returncode:
            raise DemoError(f"dropdb {DATABASE} failed: {dropped.stderr.strip()}")
        shutil.rmtree(self.data_dir / "filestore" / DATABASE, ignore_errors=True)
        write_config(
            self.config,
            self.odoo,
            DATABASE,
            data_dir=self.data_dir,
            http_port=HTTP_PORT,
            options={
                "workers": 0,  # threaded: queue_job's runner runs in a thread of the server
                "max_cron_threads": 1,
                "log_level": "info",
                "logfile": self.odoo_log,
            },
            sections={"queue_job": {"channels": "root:2,root.noko_qbo:1"}},
        )
        self.odoo_log.unlink(missing_ok=True)
        say(f"[{self.elapsed():>5}] creating database {DATABASE} with noko_qbo (about a minute)")
        install_log = WORKDIR / "install.log"
        install = subprocess.run(
            [
                *odoo_command(self.odoo),
                "-c",
                str(self.config),
                "-i",
                "noko_qbo",
                "--stop-after-init",
                f"--logfile={install_log}",
            ],
            cwd=ROOT,
            env=self.odoo.environ(),
            capture_output=True,
            text=True,
        )
        errors = [
            line
            for line in install_log.read_text(errors="replace").splitlines()
            if " ERROR " in line or " CRITICAL " in line
        ]
        if install.returncode or errors:
            raise DemoError(
                f"installing noko_qbo failed (see {install_log}):\n"
                + "\n".join(errors[:5] or [install.stderr[-2000:]])
            )
        script = (
            f"import sys, datetime\nsys.path.insert(0, {str(TOOLS)!r})\nimport demo_data\n"
            f"count = demo_data.load(env, datetime.date.fromisoformat({first.isoformat()!r}), "
            f"datetime.date.fromisoformat({last.isoformat()!r}), {ODOO_URL!r})\n"
            "env.cr.commit()\nprint('DEMO_LINES', count)\n"
        )
        shell = subprocess.run(
            [
                *odoo_command(self.odoo),
                "shell",
                "-c",
                str(self.config),
                "-d",
                DATABASE,
                "--no-http",
                f"--logfile={WORKDIR / 'data.log'}",
            ],
            cwd=ROOT,
            env=self.odoo.environ(),
            input=script,
            capture_output=True,
            text=True,
        )
        found = re.search(r"DEMO_LINES (\d+)", shell.stdout)
        if shell.returncode or not found:
            raise DemoError(
                f"loading the demo data failed:\n{(shell.stderr or shell.stdout)[-3000:]}"
            )
        say(
            f"[{self.elapsed():>5}] demo data: {len(demo_data.PROJECTS)} projects, "
            f"{len(demo_data.EMPLOYEES)} employees, {found[1]} timesheet lines "
            f"({first:%d %b} - {last:%d %b %Y}, weekdays)"
        )

    def start_odoo(self, restart=False):
        console = open(WORKDIR / "odoo.console.log", "a" if restart else "w")  # noqa: SIM115
        process = subprocess.Popen(
            [*odoo_command(self.odoo), "-c", str(self.config), "-d", DATABASE],
            cwd=ROOT,
            env=self.odoo.environ(),
            stdout=console,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.processes["odoo"] = process
        self.odoo_started = time.monotonic()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DemoError(f"Odoo exited with {process.returncode}: see {self.odoo_log}")
            try:
                if requests.get(f"{ODOO_URL}/web/login", timeout=5).status_code == 200:
                    say(f"[{self.elapsed():>5}] Odoo serving on {ODOO_URL} (log: {self.odoo_log})")
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise DemoError(f"Odoo did not answer {ODOO_URL}/web/login within 120 s")

    def connect(self, sandbox_url):
        """Settings > QuickBooks Online as the admin: Connect, consent, callback, sync."""
        admin = OdooSession(ODOO_URL, DATABASE)
        admin.login("admin", "admin")
        settings = admin.call(
            "res.config.settings",
            "create",
            [
                {
                    "qbo_environment": "custom",
                    "qbo_base_url": sandbox_url,
                    "qbo_client_id": CLIENT_ID,
                    "qbo_new_client_secret": CLIENT_SECRET,
                }
            ],
        )
        settings = settings[0] if isinstance(settings, list) else settings
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
        say(
            f"[{self.elapsed():>5}] connected (Connect → consent → callback): "
            f"{company['qbo_last_message']}"
        )
        synced = admin.button("res.config.settings", "action_qbo_sync_lists", [settings])
        say(f"[{self.elapsed():>5}] {synced['params']['message']}")
        demo_data.map_after_sync(admin)
        return admin

    def export(self, first, last):
        """As the manager: All Timesheets, last month selected, Action > Export, Confirm."""
        manager = OdooSession(ODOO_URL, DATABASE)
        manager.login("manager", "manager")
        domain = [
            ("project_id", "!=", False),
            ("date", ">=", first.isoformat()),
            ("date", "<=", last.isoformat()),
        ]
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
        preview = manager.call(
            "qbo.export.preview",
            "read",
            [
                [preview_id],
                [
                    "count_lines",
                    "count_ready",
                    "count_warning",
                    "count_blocked",
                    "count_skipped",
                    "hours_total",
                    "connection_problem",
                ],
            ],
        )[0]
        say(
            f"[{self.elapsed():>5}] export preview (as manager): {preview['count_lines']} lines, "
            f"{preview['count_ready']} ready, {preview['count_warning']} with warnings, "
            f"{preview['count_blocked']} will not be sent, {preview['count_skipped']} skipped, "
            f"{preview['hours_total']:.2f} h"
        )
        if preview["connection_problem"]:
            raise DemoError(preview["connection_problem"])
        confirmed = manager.button("qbo.export.preview", "action_confirm", [preview_id])
        run_id = confirmed["res_id"]
        say(f"[{self.elapsed():>5}] confirmed; waiting for queue_job's runner to send the lines")
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline:
            run = manager.call("qbo.export", "read", [[run_id], ["state"]])[0]
            if run["state"] in ("done", "done_with_errors", "failed"):
                return run_id, manager
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise DemoError(f"{name} exited with {process.returncode}")
            time.sleep(1)
        raise DemoError(
            f"the export run stayed '{run['state']}' for {JOB_TIMEOUT} s: is queue_job's runner "
            f"running? (grep -i jobrunner {self.odoo_log})"
        )

    def summary(self, manager, run_id, sandbox_url):
        run = manager.call(
            "qbo.export",
            "read",
            [
                [run_id],
                [
                    "name",
                    "state",
                    "count_total",
                    "count_exported",
                    "count_skipped",
                    "count_failed",
                    "count_pending",
                    "failure_message",
                ],
            ],
        )[0]
        say(f"[{self.elapsed():>5}] {run['name']}: {run['state']}")
        say(
            f"    {run['count_exported']} exported, {run['count_failed']} need attention "
            f"(still approved, waiting), {run['count_skipped']} skipped, "
            f"{run['count_pending']} pending, out of {run['count_total']}"
        )
        if run["failure_message"]:
            say(f"    failure: {run['failure_message']}")
        failed = manager.call(
            "qbo.export.result",
            "search_read",
            [[("export_id", "=", run_id), ("state", "=", "failed")]],
            fields=["date", "employee_id", "project_id", "message"],
        )
        reasons = Counter(result["message"] for result in failed)
        for reason, count in reasons.most_common():
            example = next(result for result in failed if result["message"] == reason)
            say(
                f"    {count:>3} × {reason}\n"
                f"          e.g. {example['date']}, {example['employee_id'][1]}, "
                f"{example['project_id'][1]}"
            )
        activities = requests.get(f"{sandbox_url}/_sandbox/entities/TimeActivity", timeout=10)
        stats = requests.get(f"{sandbox_url}/_sandbox/stats", timeout=10).json()["result"]
        say(
            f"    qbo_sandbox now holds {len(activities.json()['result'])} TimeActivities "
            f"({stats.get('requests')} API requests, {stats.get('batch_requests')} batches)"
        )
        # the run's summary note (the email to the manager is a message of its own)
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
            if run["count_failed"]:
                say("      followed by the lines that need attention, each with its reason")

    def serve(self, sandbox_url):
        odoo_pid, sandbox_pid = self.processes["odoo"].pid, self.processes["qbo_sandbox"].pid
        say(
            f"""
Ready in {self.elapsed()}. Odoo: {ODOO_URL}  (database {DATABASE})
  admin / admin        settings, Settings > QuickBooks Online (connected to the sandbox)
  manager / manager    QuickBooks manager: Timesheets > All Timesheets, QuickBooks > Exports
  employee / employee  Emily Platt, a timesheet user (her lines are exported: locked)
qbo_sandbox: {sandbox_url}  (curl {sandbox_url}/_sandbox/stats)

What to try, as manager:
  - Export again (All Timesheets, select all, Action > Export to QuickBooks Online):
    the exported lines are skipped, nothing is sent twice.
  - Project "Harborview Hotel Website" > Integrations: choose a QuickBooks customer;
    employee "Jordan Blake": choose a QuickBooks employee; then export again.
  - Edit an exported line (as employee or manager): refused, it is locked.
  - curl -X POST {sandbox_url}/_sandbox/revoke_tokens, then export: the run fails with
    a reconnect message; reconnect as admin in Settings.
  - Kill Odoo mid-export (kill -9 <Odoo pid>): the demo restarts it, queue_job requeues the
    interrupted job, and the run ends without sending any line twice.
Pids: Odoo {odoo_pid}, qbo_sandbox {sandbox_pid}. Logs: {WORKDIR}.
Ctrl-C stops both (the database stays; the next make demo drops it)."""
        )
        while True:
            time.sleep(1)
            sandbox, odoo = self.processes["qbo_sandbox"], self.processes["odoo"]
            if sandbox.poll() is not None:
                raise DemoError(f"qbo_sandbox exited with {sandbox.returncode}")
            if odoo.poll() is not None:
                if time.monotonic() - self.odoo_started < 30:
                    raise DemoError(
                        f"Odoo exited with {odoo.returncode} again: see {self.odoo_log}"
                    )
                say(
                    f"\nOdoo exited with {odoo.returncode}: restarting it (queue_job's runner "
                    "requeues the jobs it was running)."
                )
                self.start_odoo(restart=True)
                say(f"Odoo pid {self.processes['odoo'].pid}.")

    def stop(self):
        for process in reversed(self.processes.values()):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in reversed(self.processes.values()):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self.processes:
            say("\nStopped Odoo and qbo_sandbox.")
        self.processes = {}


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
