"""Run the Odoo suite (noko_qbo/tests) against a throw-away database.

``--runner odoo`` (default) is Odoo's own runner, what OCA CI runs:
``odoo -i noko_qbo --test-tags /noko_qbo --stop-after-init`` (at_install tests during
the install, post_install tests after it, in the server process). ``--runner pytest``
installs the addon, then runs ``pytest --odoo-database``. ``--runner both`` does both on
one database (the dependencies are installed once).

Exit 0 only when every runner reported at least one test and no failure. One line
``ODOO SUITE SKIPPED: <reason>`` (exit 0) when there is no Odoo at all; an Odoo that
cannot run the suite (no queue_job, wrong version, PostgreSQL, no browser for the tours:
``tools/browser.py``...) is a failure:
``ODOO SUITE FAILED: <reason>`` (exit 2). A run past its time limit is killed (thread
stacks in its log) and fails.
"""

import argparse
import ast
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from browser import BrowserMissing, ensure_browser  # noqa: E402
from odoo_env import (  # noqa: E402
    OdooNotFound,
    OdooRunFailed,
    OdooUnusable,
    check_postgres,
    drop_database,
    find_odoo,
    install_addon,
    stop_process_group,
    write_config,
)

ROOT = Path(__file__).resolve().parent.parent
ADDON = "noko_qbo"
#: seconds each runner may take (the target is under 5 minutes on 2 cores)
RUN_TIMEOUT = int(os.environ.get("ODOO_SUITE_TIMEOUT", "900"))
PYTEST_SUMMARY = re.compile(r"=+ (.*(passed|failed|error).*) in [\d.]+s")


def say(text):
    print(text, flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runner", choices=("odoo", "pytest", "both"), default="odoo")
    parser.add_argument("--keep-db", action="store_true", help="keep the database and logs")
    args = parser.parse_args(argv)
    try:
        odoo = find_odoo()
        check_postgres(odoo)
        # Odoo skips the tours without a browser: fail before, not green without them
        browser = ensure_browser(install=False)
    except OdooNotFound as exc:
        say(f"ODOO SUITE SKIPPED: {exc}")
        return 0
    except (OdooUnusable, BrowserMissing) as exc:
        say(f"ODOO SUITE FAILED: {exc}")
        return 2
    say(f"tours run in {browser}")
    suite = Suite(odoo, keep=args.keep_db)
    try:
        return suite.run(["odoo", "pytest"] if args.runner == "both" else [args.runner])
    except OdooRunFailed as exc:
        say(f"ODOO SUITE FAILED: {exc}")
        suite.keep_logs = True
        return 1
    finally:
        suite.cleanup()


class Suite:
    def __init__(self, odoo, keep=False):
        self.odoo = odoo
        self.keep = keep
        self.database = f"noko_qbo_test_{os.getpid()}"
        self.workdir = Path(tempfile.mkdtemp(prefix="noko_qbo_odoo_"))
        self.config = write_config(
            self.workdir / "odoo.conf",
            odoo,
            self.database,
            data_dir=self.workdir / "data",
            options={"log_level": "info", "max_cron_threads": 0},
        )
        self.installed = False
        self.keep_logs = False  # a failed run's logs stay (its database goes)

    def run(self, runners):
        say(f"{self.odoo.describe()}; database {self.database}; logs in {self.workdir}")
        self.install_dependencies()
        failed = []
        for runner in runners:
            started = time.monotonic()
            ok, summary = self.run_native() if runner == "odoo" else self.run_pytest()
            verdict = "passed" if ok else "FAILED"
            say(f"{runner} runner: {summary} ({time.monotonic() - started:.0f} s) {verdict}")
            if not ok:
                failed.append(runner)
        if failed:
            say(f"ODOO SUITE FAILED under {', '.join(failed)} (logs: {self.workdir})")
            self.keep_logs = True  # the evidence
            return 1
        return 0

    # ------------------------------------------------------------------ steps

    def install_dependencies(self):
        """The addon's dependencies first (most of the install time), as OCA CI does."""
        started = time.monotonic()
        depends = _manifest(ROOT / ADDON)["depends"]
        install_addon(
            self.odoo,
            self.config,
            self.database,
            self.workdir / "install-dependencies.log",
            modules=",".join(depends),
            timeout=RUN_TIMEOUT,
        )
        say(f"installed {', '.join(depends)} in {time.monotonic() - started:.0f} s")

    def run_native(self):
        """Odoo's runner: install the addon with its tests (at_install, then post_install)."""
        log_path = self.workdir / "odoo-runner.log"
        try:
            run = install_addon(
                self.odoo,
                self.config,
                self.database,
                log_path,
                modules=ADDON,
                args=["--test-tags", f"/{ADDON}"],
                timeout=RUN_TIMEOUT,
                echo=_echo_failures,
            )
        except OdooRunFailed as exc:
            _print_failures(log_path)
            return False, str(exc)
        self.installed = True
        failed, errors, ran = run.tests
        return True, f"{ran} tests, {failed} failed, {errors} error(s)"

    def run_pytest(self):
        """pytest-odoo against the database (the addon installed first if need be)."""
        if not self.installed:
            install_addon(
                self.odoo,
                self.config,
                self.database,
                self.workdir / "install.log",
                modules=ADDON,
                timeout=RUN_TIMEOUT,
            )
            self.installed = True
        command = [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--odoo-config={self.config}",
            f"--odoo-database={self.database}",
            "--odoo-http",
            f"{ADDON}/tests",
        ]
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.odoo.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        try:
            output, _ = process.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            stop_process_group(process)
            output = (process.stdout.read() if process.stdout else "") or ""
            say(output[-20000:])
            return False, f"timed out after {RUN_TIMEOUT} s (killed)"
        (self.workdir / "pytest.log").write_text(output)
        say(output[-20000:] if process.returncode else _tail_summary(output))
        summary = PYTEST_SUMMARY.findall(output)
        summary = summary[-1][0] if summary else f"no pytest summary (exit {process.returncode})"
        if process.returncode == 5:  # pytest: no test collected
            return False, "0 tests ran"
        return process.returncode == 0, summary

    def cleanup(self):
        if self.keep:
            say(f"kept database {self.database} and {self.workdir}")
            return
        drop_database(self.odoo, self.database, self.workdir / "data")
        if self.keep_logs:
            say(f"logs kept in {self.workdir}")
        else:
            shutil.rmtree(self.workdir, ignore_errors=True)


def _manifest(addon_dir):
    return ast.literal_eval((addon_dir / "__manifest__.py").read_text())


def _echo_failures(line):
    """While Odoo's runner runs: the FAIL/ERROR headlines as they come."""
    if re.search(r" (ERROR|CRITICAL) .*(FAIL|ERROR): ", line):
        print(line.rstrip()[:300], flush=True)


def _print_failures(log_path, limit=40):
    """Each failing test's record and traceback (first ``limit`` lines each)."""
    lines = Path(log_path).read_text(errors="replace").splitlines()
    for index, line in enumerate(lines):
        if re.search(r" (ERROR|CRITICAL) \S+ \S+: (FAIL|ERROR|Failed)", line):
            block = [line]
            for follow in lines[index + 1 : index + limit]:
                if re.match(r"^\d{4}-\d\d-\d\d ", follow):
                    break
                block.append(follow)
            say("\n".join(block))


def _tail_summary(output):
    return "\n".join(output.splitlines()[-3:])


if __name__ == "__main__":
    sys.exit(main())
