"""Find Odoo 19 on this machine and run it (shared by the suite, the demo and the benchmarks).

Layouts (an explicit ``ODOO_SRC`` wins over an importable Odoo):

(d) ``ODOO_ADDONS_PATH``: an explicit addons path (comma separated), Odoo itself found
    as below (Odoo 19 reads the same variable: its children get it with the repository
    added);
(a) packaged (nightly sdist/deb, ``pip install odoo``): ``import odoo`` works and every
    addon is inside ``odoo/addons``;
(b) a source checkout installed editable (``pip install -e``): ``import odoo`` works, the
    community addons are in ``addons/`` beside ``odoo/`` (derived from ``odoo.release``);
(c) ``ODOO_SRC``: a checkout with ``odoo-bin``, not installed (its Python dependencies
    must be importable); queue_job is then put in ``.odoo-deps/``.

queue_job is looked up by its manifest on the addons path, never imported: in layout (b)
``import odoo.addons.queue_job`` fails (it imports ``base_sparse_field``, which is on
``odoo.addons`` only in the packaged layout).

``OdooNotFound``: there is no Odoo at all (callers may skip). ``OdooUnusable``: there is
an Odoo but it cannot run the addon (wrong version, queue_job missing, PostgreSQL role
``postgres`` or unreachable...): callers fail, the message says what to do.
"""

import ast
import contextlib
import getpass
import importlib.metadata
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUEUE_JOB_PIN = next(
    line.strip()
    for line in (ROOT / "requirements-odoo.txt").read_text().splitlines()
    if line.startswith("odoo-addon-queue-job")
)
#: addons noko_qbo needs on the addons path besides Odoo's base (manifest name: what to do)
REQUIRED_ADDONS = ("hr_timesheet", "mail", "queue_job")
#: an ERROR or CRITICAL record of Odoo's log format (time pid LEVEL db logger: message)
LOG_ERROR = re.compile(r"^\S+ \S+ \d+ (ERROR|CRITICAL) (\S+) (\S+): ")
#: Odoo's test report, logged at the end of a run with tests
TEST_REPORT = re.compile(r"(\d+) failed, (\d+) error\(s\) of (\d+) tests when loading database")


class OdooNotFound(Exception):
    """No Odoo on this machine (neither importable nor ``ODOO_SRC``)."""


class OdooUnusable(Exception):
    """An Odoo is there, but noko_qbo cannot run on it: the message says why and what to do."""


class OdooRunFailed(Exception):
    """An Odoo run (install, tests) failed: the message names the log and its first errors."""


@dataclass
class Odoo:
    version: str
    layout: str
    addons_paths: list
    #: how to start the server: the console script or odoo-bin (re-execs on restart)
    command: list
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
        # Odoo 19 reads ODOO_<OPTION> variables and prefers them to the config file:
        # the addons path it gets must be ours (the repository first), not the user's.
        if "ODOO_ADDONS_PATH" in env:
            env["ODOO_ADDONS_PATH"] = ",".join(self.addons_paths)
        if self.pythonpath:
            env["PYTHONPATH"] = os.pathsep.join([*self.pythonpath, env.get("PYTHONPATH", "")])
        return env

    def describe(self):
        return f"Odoo {self.version} ({self.layout}: {' '.join(self.command)})"


# ---------------------------------------------------------------------- finding Odoo


def find_odoo():
    """The Odoo to run, checked (version, addons, PostgreSQL role); see the module doc."""
    found = _odoo_from_source() or _importable_odoo()  # an explicit ODOO_SRC wins
    if found is None:
        raise OdooNotFound(
            f"`import odoo` fails in {sys.executable} and ODOO_SRC is not set: install "
            "Odoo 19.0 into this python, or set ODOO_SRC=/path/to/odoo-19.0-checkout"
        )
    version, layout, addons, command, pythonpath = found
    if not version.startswith("19.0"):
        raise OdooUnusable(f"found Odoo {version} ({layout}); noko_qbo needs Odoo 19.0")
    explicit = os.environ.get("ODOO_ADDONS_PATH")
    if explicit:
        addons, layout = [p for p in explicit.split(",") if p], f"{layout}, ODOO_ADDONS_PATH"
    addons = _unique([str(ROOT), *addons])
    _check_addons(addons, layout)
    odoo = Odoo(version, layout, addons, command, pythonpath)
    _check_role(odoo)
    _check_starts(odoo)
    return odoo


def _importable_odoo():
    """Layouts (a) and (b): Odoo installed into this python (packaged or editable)."""
    try:
        import odoo.release  # noqa: PLC0415 - only when asked: tools run without Odoo too
    except ImportError:
        return None
    root = Path(odoo.release.__file__).resolve().parent.parent
    import odoo.addons  # noqa: PLC0415

    addons = [str(Path(path)) for path in odoo.addons.__path__ if Path(path).is_dir()]
    if (root / "addons" / "hr_timesheet" / "__manifest__.py").exists():
        layout = "source checkout, installed"
        addons.append(str(root / "addons"))
    else:
        layout = "packaged"
    return odoo.release.version, layout, addons, _console_script(), []


def _console_script():
    """The ``odoo`` script installed with this python: it re-execs itself on a restart,
    where ``python -m odoo`` fails (``attempted relative import``)."""
    candidates = [Path(sys.executable).parent / "odoo"]
    on_path = shutil.which("odoo")
    if on_path:
        candidates.append(Path(on_path))
    for script in candidates:
        if script.is_file() and _script_imports_odoo_cli(script):
            return [sys.executable, str(script)]
    raise OdooUnusable(
        f"Odoo is importable in {sys.executable} but its `odoo` console script is missing "
        "(looked beside the interpreter and on PATH): reinstall Odoo with pip"
    )


def _script_imports_odoo_cli(script):
    """An ``odoo`` script Odoo's setup installed (not a pyenv shim or another tool)."""
    with contextlib.suppress(OSError, UnicodeDecodeError):
        return "odoo.cli" in script.read_text()[:2000]
    return False


def _odoo_from_source():
    """Layout (c): a checkout with ``odoo-bin`` that is not installed (``ODOO_SRC``)."""
    src = os.environ.get("ODOO_SRC")
    if not src:
        return None
    src = Path(src).resolve()
    if not (src / "odoo-bin").exists():
        raise OdooUnusable(f"ODOO_SRC={src} has no odoo-bin: point it at an Odoo 19.0 checkout")
    version = _release_version(src / "odoo" / "release.py")
    addons = [str(src / "odoo" / "addons"), str(src / "addons")]
    if not _find_addon(addons, "queue_job"):
        addons.append(str(_queue_job_in_deps()))
    # pythonpath: for pytest-odoo, which imports odoo in the suite's own python
    return version, "ODOO_SRC", addons, [sys.executable, str(src / "odoo-bin")], [str(src)]


def _release_version(release_py):
    """``version`` from Odoo's release.py, read without running it."""
    text = release_py.read_text()
    info = re.search(r"^version_info\s*=\s*\((\d+),\s*(\d+)", text, re.MULTILINE)
    if not info:
        raise OdooUnusable(f"{release_py}: no version_info, not an Odoo checkout?")
    return f"{info[1]}.{info[2]}"


def _queue_job_in_deps():
    """queue_job's addon from PyPI in ``.odoo-deps`` (``--no-deps``: it would pull in the
    ``odoo`` distribution), and its own Python dependencies into this python, as
    ``pip install odoo-addon-queue-job`` does where Odoo is installed."""
    target = ROOT / ".odoo-deps"
    addon_dir = target / "odoo" / "addons"
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    if not (addon_dir / "queue_job" / "__manifest__.py").exists():
        done = subprocess.run([*pip, "--no-deps", "--target", str(target), QUEUE_JOB_PIN])
        if done.returncode:
            raise OdooUnusable(f"could not install {QUEUE_JOB_PIN} into {target} with pip")
    manifest = ast.literal_eval((addon_dir / "queue_job" / "__manifest__.py").read_text())
    missing = [
        name
        for name in manifest.get("external_dependencies", {}).get("python", [])
        if not _distribution_installed(name)
    ]
    if missing and subprocess.run([*pip, *missing]).returncode:
        raise OdooUnusable(f"queue_job needs {', '.join(missing)}: pip install them")
    return addon_dir


def _distribution_installed(name):
    """What Odoo checks for a manifest's external Python dependency."""
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _find_addon(addons_paths, name):
    for path in addons_paths:
        if (Path(path) / name / "__manifest__.py").exists():
            return Path(path) / name
    return None


def _check_addons(addons_paths, layout):
    missing = [name for name in REQUIRED_ADDONS if not _find_addon(addons_paths, name)]
    if "queue_job" in missing:
        raise OdooUnusable(
            f"Odoo found ({layout}) but no queue_job on its addons path "
            f"({', '.join(addons_paths)}): pip install {QUEUE_JOB_PIN} (make test does), "
            "or add its folder to ODOO_ADDONS_PATH"
        )
    if missing:
        raise OdooUnusable(
            f"Odoo found ({layout}) but {', '.join(missing)} not on its addons path "
            f"({', '.join(addons_paths)}): set ODOO_ADDONS_PATH to include Odoo's addons"
        )


def _check_starts(odoo):
    """``odoo --version`` imports the server: missing Python dependencies show here."""
    try:
        probe = subprocess.run(
            [*odoo.command, "--version"],
            env=odoo.environ(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise OdooUnusable(f"{' '.join(odoo.command)} --version failed: {exc}") from exc
    if probe.returncode or "19.0" not in probe.stdout:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        raise OdooUnusable(
            f"Odoo ({odoo.layout}) does not start: `{' '.join(odoo.command)} --version` says "
            f"{last!r}; install Odoo's Python dependencies into {sys.executable} "
            "(pip install -r <odoo checkout>/requirements.txt)"
        )


def _check_role(odoo):
    if odoo.db_user == "postgres":
        raise OdooUnusable(
            "Odoo refuses to run as the PostgreSQL role 'postgres': set PGUSER to another "
            "role (createuser -s $USER as postgres)"
        )


def check_postgres(odoo):
    """PostgreSQL answers and the role may create databases; ``OdooUnusable`` otherwise."""
    if not shutil.which("psql"):
        raise OdooUnusable("psql not found: install PostgreSQL's client tools (postgresql-client)")
    probe = subprocess.run(
        [
            "psql",
            "-X",
            "-At",
            *odoo.pg_args,
            "-d",
            "postgres",
            "-c",
            "SELECT rolcreatedb OR rolsuper FROM pg_roles WHERE rolname = current_user",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    where = f"{odoo.db_host or 'local socket'}:{odoo.db_port or 5432} as {odoo.db_user}"
    if probe.returncode:
        raise OdooUnusable(
            f"PostgreSQL unreachable ({where}): {probe.stderr.strip()}; start it, or set "
            "PGHOST/PGPORT/PGUSER"
        )
    if probe.stdout.strip() != "t":
        raise OdooUnusable(f"PostgreSQL role {odoo.db_user} may not create databases ({where})")


def _unique(paths):
    seen, result = set(), []
    for path in paths:
        key = os.path.realpath(path)
        if key not in seen:
            seen.add(key)
            result.append(path)
    return result


# ---------------------------------------------------------------------- running Odoo


def odoo_command(odoo):
    """The command that starts ``odoo`` (the console script or odoo-bin, never ``-m odoo``)."""
    return list(odoo.command)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def write_config(path, odoo, database, data_dir, http_port=None, options=None, sections=None):
    """An Odoo config file; ``options`` override or add ``[options]`` keys, ``sections``
    (``{name: {key: value}}``) add sections such as ``[queue_job]``."""
    values = {
        "addons_path": ",".join(odoo.addons_paths),
        "data_dir": data_dir,
        "db_name": database,
        "db_user": odoo.db_user,
        **({"db_host": odoo.db_host} if odoo.db_host else {}),
        **({"db_port": odoo.db_port} if odoo.db_port else {}),
        "list_db": "False",
        "log_level": "info",
        "server_wide_modules": "base,web,queue_job",
        "http_interface": "127.0.0.1",
        "http_port": http_port or free_port(),
    }
    values.update(options or {})
    text = "[options]\n" + "".join(f"{key} = {value}\n" for key, value in values.items())
    for name, section in (sections or {}).items():
        text += f"\n[{name}]\n" + "".join(f"{key} = {value}\n" for key, value in section.items())
    Path(path).write_text(text)
    return path


@dataclass
class OdooRun:
    """What one ``odoo ... --stop-after-init`` run left: exit code, log, errors, tests."""

    returncode: int
    timed_out: bool
    log_path: Path
    errors: list
    tests: tuple = None  # (failed, errors, ran) from Odoo's test report, None without one
    timeout: float = None

    def problems(self, tests=False):
        """Why the run failed, as sentences ([] when it did not)."""
        found = []
        if self.timed_out:
            found.append(f"timed out after {self.timeout:.0f} s (killed; stacks in the log)")
        elif self.returncode:
            found.append(f"exited with {self.returncode}")
        if self.errors:
            found.append(f"{len(self.errors)} ERROR/CRITICAL log lines")
        if tests:
            if self.tests is None:
                found.append("no test report in the log (the run did not finish?)")
            elif self.tests[0] or self.tests[1]:
                found.append(f"{self.tests[0]} failed, {self.tests[1]} error(s)")
            elif not self.tests[2]:
                found.append("0 tests ran")
        return found


def run_odoo(odoo, config, args, log_path, *, timeout, echo=None):
    """Run ``odoo -c config ARGS`` to its end (its output in ``log_path``).

    Past ``timeout`` seconds: SIGQUIT (Odoo dumps every thread's stack into the log),
    then SIGTERM, then SIGKILL for the whole process group. ``echo(line)`` sees each
    line as it comes.
    """
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [*odoo_command(odoo), "-c", str(config), *args],
            cwd=ROOT,
            env=odoo.environ(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=True,  # its own group: a timeout kills every child too
        )
        timed_out = _pump(process, log, echo, timeout)
    text = Path(log_path).read_text(errors="replace")
    return OdooRun(process.returncode, timed_out, Path(log_path), *scan_log(text), timeout)


def _pump(process, log, echo, timeout):
    """Copy the process's output to ``log`` until it ends; True when it had to be killed."""

    def copy():
        for line in process.stdout:
            log.write(line)
            if echo:
                echo(line)

    reader = threading.Thread(target=copy, name="odoo-log", daemon=True)
    reader.start()
    try:
        process.wait(timeout=timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        stop_process_group(process)
        timed_out = True
    reader.join(30)  # bounded: a stray child may hold the pipe open
    return timed_out


def stop_process_group(process, grace=10, dump_stacks=True):
    """(Odoo's stack dump,) then SIGTERM, then SIGKILL, for ``process``'s whole group."""
    steps = [(signal.SIGTERM, grace), (signal.SIGKILL, grace)]
    if dump_stacks:
        steps.insert(0, (signal.SIGQUIT, 2))
    for sig, wait in steps:
        if process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)


def scan_log(text):
    """``(error lines, test report)`` of an Odoo log.

    Error lines are ERROR/CRITICAL records: Odoo exits 0 even when a data file fails
    to load. When the log has a test report, ERROR records a test provoked on purpose
    (failed queries of the concurrency tests, the tests' own FAIL records, judged by
    the report) are the report's business; CRITICAL records always count.
    """
    report = None
    for found in TEST_REPORT.finditer(text):
        report = tuple(int(value) for value in found.groups())
    errors = []
    for line in text.splitlines():
        record = LOG_ERROR.match(line)
        if not record:
            continue
        level, _db, logger = record.groups()
        if report is not None and level == "ERROR" and _test_noise(logger, line):
            continue
        errors.append(line)
    return errors, report


def _test_noise(logger, line):
    return (
        logger.startswith(("odoo.tests", "odoo.sql_db"))
        or ".tests." in logger
        or logger.endswith(".tests")
        or "when loading database" in line
    )


def install_addon(odoo, config, database, log_path, *, modules="noko_qbo", args=(), **kwargs):
    """``odoo -i MODULES --stop-after-init`` into ``database``, its log scanned.

    Raises ``OdooRunFailed`` naming the log and its first error lines when Odoo failed,
    logged an error or (with ``--test-tags`` in ``args``) reported failing tests or none.
    Returns the ``OdooRun``.
    """
    kwargs.setdefault("timeout", 900)
    command = ["-d", database, "-i", modules, "--stop-after-init", *args]
    run = run_odoo(odoo, config, command, log_path, **kwargs)
    problems = run.problems(tests="--test-tags" in args)
    if problems:
        evidence = run.errors[:8] or run.log_path.read_text(errors="replace").splitlines()[-5:]
        shown = "\n".join(f"    {line[:300]}" for line in evidence)
        raise OdooRunFailed(
            f"odoo -i {modules} ({database}): {'; '.join(problems)}. Log: {log_path}"
            + (f"\n{shown}" if shown else "")
        )
    return run


def drop_database(odoo, database, data_dir=None):
    """Drop ``database`` (closing its connections) and its filestore; never raises."""
    subprocess.run(
        ["dropdb", "--if-exists", "--force", *odoo.pg_args, database],
        capture_output=True,
        check=False,
    )
    if data_dir:
        shutil.rmtree(Path(data_dir) / "filestore" / database, ignore_errors=True)
