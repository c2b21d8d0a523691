"""Find Odoo 19 on this machine and describe how to run it (shared by the suite and the demo).

Odoo is found as an importable ``odoo``, else through ``ODOO_SRC`` (a source checkout with
``odoo-bin``); anything else raises ``OdooNotFound`` with a message naming what to install.
"""

import getpass
import importlib
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUEUE_JOB_PIN = next(
    line.strip()
    for line in (ROOT / "requirements-odoo.txt").read_text().splitlines()
    if line.startswith("odoo-addon-queue-job")
)


class OdooNotFound(Exception):
    pass


@dataclass
class Odoo:
    version: str
    addons_paths: list
    pythonpath: list = field(default_factory=list)
    db_host: str = os.environ.get("PGHOST", "")
    db_port: str = os.environ.get("PGPORT", "")
    db_user: str = os.environ.get("PGUSER", "") or getpass.getuser()

    @property
    def pg_args(self):
        args = ["-U", self.db_user]
        if self.db_host:
            args += ["-h", self.db_host]
        if self.db_port:
            args += ["-p", self.db_port]
        return args

    def environ(self):
        env = dict(os.environ)
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join([*self.pythonpath, env.get("PYTHONPATH", "")])
        return env


def find_odoo():
    if getpass.getuser() == "postgres" or os.environ.get("PGUSER") == "postgres":
        raise OdooNotFound("Odoo refuses to run as the PostgreSQL role 'postgres'")
    try:
        release = importlib.import_module("odoo.release")
    except ImportError as exc:
        src = os.environ.get("ODOO_SRC")
        if not src:
            raise OdooNotFound(
                f"`import odoo` failed ({exc}); install Odoo 19.0 into {sys.executable} "
                "or set ODOO_SRC=/path/to/odoo-19.0-source"
            ) from exc
        return _odoo_from_source(Path(src))
    if not release.version.startswith("19.0"):
        raise OdooNotFound(f"found Odoo {release.version}, noko_qbo needs 19.0")
    odoo_addons = importlib.import_module("odoo.addons")
    try:
        importlib.import_module("odoo.addons.queue_job")
    except ImportError as exc:
        raise OdooNotFound(
            f"Odoo is importable but queue_job is not: pip install {QUEUE_JOB_PIN}"
        ) from exc
    return Odoo(release.version, [str(ROOT), *odoo_addons.__path__])


def _odoo_from_source(src):
    """An Odoo checkout that is not installed: queue_job goes into a folder of its own."""
    if not (src / "odoo-bin").exists():
        raise OdooNotFound(f"ODOO_SRC={src} has no odoo-bin: point it at an Odoo 19.0 checkout")
    target = ROOT / ".odoo-deps"
    if not (target / "odoo" / "addons" / "queue_job").exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(target),
                QUEUE_JOB_PIN,
            ],
            check=True,
        )
    version = {}
    exec((src / "odoo" / "release.py").read_text(), version)  # Odoo's own release file
    return Odoo(
        version["version"],
        [
            str(ROOT),
            str(src / "addons"),
            str(src / "odoo" / "addons"),
            str(target / "odoo" / "addons"),
        ],
        pythonpath=[str(src)],
    )


def odoo_command(odoo):
    return [sys.executable, "-m", "odoo"]


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(path, odoo, database, data_dir, http_port=None, options=None, sections=None):
    """An Odoo config file; ``options`` override or add ``[options]`` keys, ``sections``
    (``{name: {key: value}}``) add sections such as ``[queue_job]``."""
    lines = [
        f"addons_path = {','.join(odoo.addons_paths)}",
        f"data_dir = {data_dir}",
        f"db_name = {database}",
        f"db_user = {odoo.db_user}",
        *([f"db_host = {odoo.db_host}"] if odoo.db_host else []),
        *([f"db_port = {odoo.db_port}"] if odoo.db_port else []),
        "list_db = False",
        "log_level = warn",
        "server_wide_modules = base,web,queue_job",
        "http_interface = 127.0.0.1",
        f"http_port = {http_port or free_port()}",
    ]
    values = dict(line.split(" = ", 1) for line in lines)
    values.update({key: str(value) for key, value in (options or {}).items()})
    text = "[options]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
    for name, section in (sections or {}).items():
        text += f"\n[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in section.items())
    Path(path).write_text(text)
    return path
