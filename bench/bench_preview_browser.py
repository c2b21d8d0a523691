"""Browser benchmark: a QuickBooks manager opens the export preview of N lines in Chromium.

Not a timed test: it prints figures, never pass/fail. A real Odoo server
(``bench_workers.OdooServer``, one worker) and a ``qbo_sandbox`` process; N draft
lines made by ``bench_export.Bench`` (mapped projects and employees); then
Chromium headless at 1366x768 (DevTools protocol), logged in as a QuickBooks
manager, on All Timesheets, runs the list's "Export to QuickBooks
Online" on the whole filter (``active_domain``, as "Select all" does) and
measures with the page's clock:

1. **open**: from the click until the preview dialog shows its summary (the
   server builds the preview, the dialog renders its problems and summary);
2. **all lines**: the All lines tab until its first page (80 rows) is shown.

Issue 12's target: the preview of 10,000 lines opens in under 3 s.
``--screenshot FILE`` saves the dialog (All lines tab) as a PNG, to check the
columns are readable at 1366 px.

Usage: ``python3 bench/bench_preview_browser.py [--lines 10000] [--screenshot FILE]
[--keep-db]``; needs Odoo 19, Debian's ``chromium`` and ``websocket-client``.
"""

from __future__ import annotations

import argparse
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "tools")]

import bench_export  # noqa: E402
import bench_workers  # noqa: E402
from odoo_env import find_odoo, free_port, install_addon  # noqa: E402

TARGET_SECONDS = 3.0
WINDOW = (1366, 768)
PREVIEW_ACTION = "noko_qbo.qbo_export_preview_action_from_timesheets"
TIMESHEETS_URL = "/odoo/action-hr_timesheet.timesheet_action_all"

#: Runs in the page: the list's Export on the whole filter, timed by the page's clock.
MEASURE = """
(async () => {
    const env = odoo.__WOWL_DEBUG__.root.env;
    const wait = async (selector) => {
        const started = performance.now();
        while (!document.querySelector(selector)) {
            if (performance.now() - started > 120000) throw new Error("timeout: " + selector);
            await new Promise((resolve) => setTimeout(resolve, 5));
        }
        return document.querySelector(selector);
    };
    const t0 = performance.now();
    performance.clearResourceTimings();
    env.services.action.doAction(%(action)s, {
        additionalContext: {
            active_model: "account.analytic.line", active_ids: [], active_domain: %(domain)s,
        },
    });
    await wait(".modal .o_qbo_preview_summary");
    const opened = performance.now() - t0;
    // where the time went: the requests of the opening, by route
    const requests = {};
    for (const entry of performance.getEntriesByType("resource")) {
        const route = new URL(entry.name).pathname.replace("/web/dataset/call_kw/", "");
        if (route.startsWith("/web/action") || route.includes("qbo.export.preview")) {
            requests[route] = (requests[route] || 0) + entry.duration / 1000;
        }
    }
    const tab = [...document.querySelectorAll(".modal .o_notebook .nav-link")].find(
        (link) => link.textContent.trim() === "All lines"
    );
    const t1 = performance.now();
    tab.click();
    await wait(".modal .o_field_widget[name=timesheet_ids] .o_data_row");
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve)));
    const lines = performance.now() - t1;
    const pager = document.querySelector(".modal .o_field_widget[name=timesheet_ids] .o_pager");
    return {
        opened: opened / 1000,
        requests,
        lines: lines / 1000,
        rows: document.querySelectorAll(".modal [name=timesheet_ids] .o_data_row").length,
        pager: pager ? pager.textContent.replace(/\\s+/g, " ").trim() : "",
        selected: document.querySelector(".modal [name=count_lines]").textContent.trim(),
    };
})()
"""


def log(message):
    bench_export.log(message)


class Chromium:
    """Chromium headless driven over the DevTools protocol (one page)."""

    def __init__(self, workdir):
        import websocket  # noqa: PLC0415 - Odoo's own browser tests need it too

        binary = shutil.which("chromium") or shutil.which("chromium-browser")
        if not binary:
            raise SystemExit("bench_preview_browser needs Chromium: apt-get install chromium")
        port = free_port()
        self.process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={workdir / 'chromium'}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                targets = requests.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
                page = next(t for t in targets if t["type"] == "page")
                break
            except (requests.RequestException, StopIteration):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        self.socket = websocket.create_connection(page["webSocketDebuggerUrl"], timeout=180)
        self.ids = 0

    def send(self, method, **params):
        self.ids += 1
        self.socket.send(json.dumps({"id": self.ids, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv())
            if message.get("id") == self.ids:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message["result"]

    def evaluate(self, expression):
        result = self.send(
            "Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(json.dumps(result["exceptionDetails"])[:500])
        return result["result"].get("value")

    def wait_for(self, selector, timeout=120):
        deadline = time.monotonic() + timeout
        while not self.evaluate(f"!!document.querySelector({json.dumps(selector)})"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{selector} not shown in {timeout} s")
            time.sleep(0.2)

    def stop(self):
        self.socket.close()
        self.process.terminate()
        self.process.wait(10)


def prepare(server, sandbox, database, args):
    """Lines, mappings, the admin's password; the ids the page needs."""
    from odoo import sql_db  # noqa: PLC0415
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(["-c", str(server.config), "-d", database, "--log-level=warn"])
    registry = Registry(database)
    bench = bench_export.Bench(registry, sandbox, args)
    bench.setup()
    # a QuickBooks manager, not the admin: an admin's login moves web.base.url, which
    # makes the connection look copied to another server (its tokens stay unused)
    bench.make_user(*bench_workers.MANAGER)
    _ids, domain = bench.make_lines(args.lines, date(2024, 1, 1))
    with bench.cursor() as cr:
        action_id = bench.env(cr).ref(PREVIEW_ACTION).id
    sql_db.close_all()  # the server's workers get the connections
    return action_id, json.loads(json.dumps(domain, default=str))


def measure(server, database, action_id, domain, args, workdir):
    session = requests.post(
        f"{server.url}/web/session/authenticate",
        json={
            "jsonrpc": "2.0",
            "method": "call",
            "params": {
                "db": database,
                "login": bench_workers.MANAGER[0],
                "password": bench_workers.MANAGER[1],
            },
        },
        timeout=60,
    ).cookies["session_id"]
    browser = Chromium(workdir)
    try:
        browser.send("Network.enable")
        browser.send("Network.setCookie", name="session_id", value=session, url=server.url)
        browser.send("Page.navigate", url=server.url + TIMESHEETS_URL)
        browser.wait_for(".o_list_view .o_data_row")
        script = MEASURE % {"action": action_id, "domain": json.dumps(domain)}
        figures = browser.evaluate(script)  # the first opening: the workers' caches are cold
        browser.evaluate("document.querySelector('.modal .btn-close').click()")
        browser.wait_for("body:not(:has(.modal))")
        figures["again"] = browser.evaluate(script)
        if args.screenshot:
            png = browser.send("Page.captureScreenshot")["data"]
            Path(args.screenshot).write_bytes(base64.b64decode(png))
            log(f"screenshot: {args.screenshot}")
        return figures
    finally:
        browser.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--screenshot", help="save the dialog as this PNG")
    parser.add_argument("--time-scale", type=float, default=60.0)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    odoo = find_odoo()
    workdir = Path(tempfile.mkdtemp(prefix="noko_qbo_bench_browser_"))
    database = f"noko_qbo_bench_browser_{free_port()}"
    sandbox = server = None
    try:
        sandbox = bench_workers.SandboxProcess(
            args.time_scale,
            bench_export.CLIENT_ID,
            bench_export.CLIENT_SECRET,
            workdir / "sandbox.log",
        )
        # one worker: the second opening meets the caches the first one filled
        server = bench_workers.OdooServer(odoo, workdir, database, workers=1)
        log(f"creating database {database} (noko_qbo)...")
        install_addon(odoo, server.config, database, workdir / "install.log", modules="noko_qbo")
        action_id, domain = prepare(server, sandbox, database, args)
        server.start()
        figures = measure(server, database, action_id, domain, args, workdir)
    finally:
        bench_workers._cleanup(server, sandbox, odoo, database, workdir, args.keep_db)
    print(
        f"\nnoko_qbo preview in Chromium {WINDOW[0]}x{WINDOW[1]}: {figures['selected']} lines "
        "selected (whole filter)"
    )
    for label, run in (("first opening", figures), ("second opening", figures["again"])):
        verdict = "within" if run["opened"] < TARGET_SECONDS else "OVER"
        print(
            f"  {label}: click -> dialog with problems and summary {run['opened']:.2f} s "
            f"({verdict} {TARGET_SECONDS:g} s); All lines tab {run['rows']} rows "
            f"({run['pager']}) in {run['lines']:.2f} s"
        )
        for route, seconds in sorted(run["requests"].items(), key=lambda item: -item[1]):
            print(f"    request {route}: {seconds:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
