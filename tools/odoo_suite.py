"""Run the Odoo suite (noko_qbo/tests) with pytest-odoo against a throw-away database.

Prints one loud ``ODOO SUITE SKIPPED: <reason>`` line and exits 0 when Odoo cannot be
imported, so the pure suite still gates a machine without Odoo. Any other failure
(install error, failing test) exits non-zero.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from odoo_env import OdooNotFound, find_odoo, odoo_command, write_config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main():
    try:
        odoo = find_odoo()
    except OdooNotFound as exc:
        print(f"ODOO SUITE SKIPPED: {exc}", flush=True)
        return 0
    database = f"noko_qbo_test_{os.getpid()}"
    workdir = Path(tempfile.mkdtemp(prefix="noko_qbo_odoo_"))
    config = write_config(workdir / "odoo.conf", odoo, database, data_dir=workdir / "data")
    try:
        print(f"Odoo {odoo.version}: installing noko_qbo in {database}", flush=True)
        install = subprocess.run(
            [*odoo_command(odoo), "-c", str(config), "-i", "noko_qbo", "--stop-after-init"],
            cwd=ROOT,
            env=odoo.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if install.returncode != 0 or _install_errors(install.stdout):
            print(install.stdout[-20000:])
            print("Installing noko_qbo failed", file=sys.stderr)
            return 1
        tests = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-p",
                "no:cacheprovider",
                f"--odoo-config={config}",
                f"--odoo-database={database}",
                "--odoo-http",
                "noko_qbo/tests",
            ],
            cwd=ROOT,
            env=odoo.environ(),
        )
        return tests.returncode
    finally:
        subprocess.run(["dropdb", "--if-exists", *odoo.pg_args, database], check=False)
        shutil.rmtree(workdir, ignore_errors=True)


def _install_errors(log):
    """Odoo exits 0 even when a data file fails to load: read the log."""
    return any(" ERROR " in line or " CRITICAL " in line for line in log.splitlines())


if __name__ == "__main__":
    sys.exit(main())
