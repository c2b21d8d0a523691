"""Exactly-once export and serialized token refresh, with real, separate database connections.

The other tests run in one transaction: in test mode every cursor shares one
PostgreSQL connection, so the ``SELECT ... FOR UPDATE [NOWAIT]`` row locks the
export and the token source rely on are never contended. These tests do not
enter test mode: their data is committed (a company of their own, deleted
with everything it owns when the class ends), and each "worker" is a thread
with its own ``registry.cursor()`` (its own connection, under PostgreSQL's
REPEATABLE READ like Odoo's workers). A job is run the way queue_job runs it:
one transaction, committed on success, rolled back and run again later after a
``RetryableJobError`` or a PostgreSQL concurrency error (lock not available,
serialization failure, deadlock).

Hooks on the QBO client (``send_time_activities``), the line lock and the
OAuth refresh hold a worker at the critical point, so each dangerous
interleaving happens every time, not by chance.

Both test runners: Odoo's own runner runs the tests inside
``ThreadedServer.run``, whose main thread holds ``Registry._lock`` for the
whole run, and every ``api.Environment`` on a new cursor looks its registry up
under that lock (``Registry(cr.dbname)``): a worker thread would wait for the
run to end while holding row locks the other workers wait on (the 2026-12
hang). The class swaps in a lock of its own for that lookup (test mode swaps
in a dummy one for the same reason). Nothing a worker does may outlive the
test: the threads are daemons joined against one deadline, and a hung
worker's PostgreSQL backends are terminated so the class cleanup can run.
"""

import sys
import threading
import time
import traceback
from datetime import date, timedelta

import psycopg2
from psycopg2 import errorcodes

from odoo import SUPERUSER_ID, api
from odoo.exceptions import UserError
from odoo.modules.registry import Registry
from odoo.service.model import PG_CONCURRENCY_ERRORS_TO_RETRY
from odoo.sql_db import Cursor
from odoo.tests import TransactionCase, tagged

from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.tests.common import trap_jobs

from ..models.qbo_rate_window import RealmWindowStore
from ..qbo import payloads
from ..qbo.client import QboClient
from ..qbo.limits import Limits as ClientLimits
from ..qbo.oauth import OAuthClient
from ..qbo.oauth import utcnow as oauth_utcnow
from ..qbo.pacing import RealmPacer
from .common import CLIENT_ID, CLIENT_SECRET, QboSetupMixin, SandboxLimits, SandboxServer

DAY = date(2025, 3, 3)
#: how long a worker held at a critical point waits for the other one (seconds)
HOLD = 10
#: how long all the workers of one ``run_workers`` may take together (seconds)
WORKERS_DEADLINE = 90
#: no statement of the class cleanup waits longer than this on a row lock
CLEANUP_LOCK_TIMEOUT = "20s"


class CommittedQboCase(QboSetupMixin, TransactionCase):
    """A committed company connected to a class-level sandbox, outside test mode.

    Everything the class creates belongs to its company and is deleted (and
    committed) in a class cleanup, so the database is left as it was.
    """

    sandbox_options = {}
    #: Hook: ``QboClient`` keyword arguments for the company's client
    client_options = {"time_scale": 1000.0}
    #: a test may set ``after_attempt(outcomes)``: called by :meth:`perform` after a failed attempt
    after_attempt = None
    #: the test whose workers hung (they may still hold locks: later tests fail at once)
    hung_in = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cursor = cls.registry.cursor()
        cursor.close()
        if cls._registry_patched or not isinstance(cursor, Cursor):
            raise AssertionError("The registry is in test mode: cursors would share a connection")
        # Odoo's runner holds Registry._lock around the whole run (see the module doc)
        cls.classPatch(Registry, "_lock", threading.RLock())
        cls._check_a_worker_can_run()
        cls.sandbox = SandboxServer(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, **cls.sandbox_options
        ).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls._patch_client_options()
        name = f"QBO concurrency {cls.__name__}"
        with cls.registry.cursor() as cr:
            # a run killed before its class cleanup left its company (names are unique)
            env = api.Environment(cr, SUPERUSER_ID, {})
            leftover = env["res.company"].search([("name", "=", name)]).id
        if leftover:
            cls._delete_company(leftover)
        with cls.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cls.company_id = env["res.company"].create({"name": name}).id
        cls.addClassCleanup(cls._delete_company, cls.company_id)
        with cls.registry.cursor() as cr:
            env = cls._env(cr)
            company = env["res.company"].browse(cls.company_id)
            cls.qbo_configure(company)
            cr.commit()  # pylint: disable=invalid-commit
            cls.qbo_connect(company)
            cr.commit()  # pylint: disable=invalid-commit
            company._qbo_read_company(company._qbo_client())
            company._qbo_sync_lists(force=True)
            company.qbo_default_item_id = env["qbo.item"].search(
                [("company_id", "=", company.id), ("name", "=", "Hours")]
            )
            partner = env["res.partner"].create({"name": "Cool Cars Inc."})
            project = env["project.project"].create(
                {
                    "name": "Cool Cars",
                    "partner_id": partner.id,
                    "allow_timesheets": True,
                    "company_id": company.id,
                }
            )
            employees = env["hr.employee"].create(
                [
                    {"name": "Emily Platt", "hourly_cost": 80, "company_id": company.id},
                    {"name": "John Johnson", "company_id": company.id},
                ]
            )
            cls.partner_id, cls.project_id, cls.employee_ids = partner.id, project.id, employees.ids

    @classmethod
    def _check_a_worker_can_run(cls):
        """Fail the class at once, not each test after a deadline, when a thread cannot
        open an environment of its own (a lock held by the test runner)."""

        def probe():
            with cls.registry.cursor() as cr:
                api.Environment(cr, SUPERUSER_ID, {})["res.company"].search([], limit=1)

        thread = threading.Thread(target=probe, name="probe", daemon=True)
        thread.start()
        thread.join(HOLD)
        if thread.is_alive():
            raise AssertionError(
                f"a worker thread cannot open an environment within {HOLD} s:\n"
                + cls._stacks([thread])
            )

    def setUp(self):
        super().setUp()
        if self.hung_in:
            self.fail(f"not run: the workers of {self.hung_in} still hang")

    @classmethod
    def _patch_client_options(cls):
        options = cls.client_options
        patcher_target = type(cls.env["res.company"])
        original = patcher_target._qbo_client_options

        def client_options(company):
            return {**original(company), **options}

        cls.classPatch(patcher_target, "_qbo_client_options", client_options)

    @classmethod
    def _env(cls, cr):
        return api.Environment(cr, SUPERUSER_ID, {"allowed_company_ids": [cls.company_id]})

    @classmethod
    def _delete_company(cls, company_id):
        """Delete what the class committed: the company and everything it owns."""
        if cls.hung_in:
            cls._unstick_workers()
        with cls.registry.cursor() as cr:
            # a row a hung worker still locks fails the cleanup loudly, never hangs it
            cr.execute("SET LOCAL lock_timeout = %s", [CLEANUP_LOCK_TIMEOUT])
            env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
            company = env["res.company"].browse(company_id).exists()
            if not company:
                return
            owned = [("company_id", "=", company.id)]
            env["account.analytic.line"].search(owned)._qbo_internal().unlink()
            env["qbo.export"].search(owned).unlink()
            env["project.project"].search(owned).unlink()  # with its tasks
            env["account.analytic.account"].search(owned).unlink()
            employees = env["hr.employee"].search(owned)
            versions = env["hr.version"].search([("employee_id", "in", employees.ids)])
            contacts = employees.work_contact_id
            employees.unlink()
            versions.exists().unlink()
            for model in ("qbo.class", "qbo.item", "qbo.payee", "qbo.customer", "qbo.token"):
                env[model].search(owned).unlink()
            calendars = env["resource.calendar"].search(owned)
            partners = contacts | company.partner_id
            partners |= env["res.partner"].browse(getattr(cls, "partner_id", []))
            company.unlink()
            calendars.unlink()
            partners.exists().unlink()

    # ------------------------------------------------------------------ workers

    def perform(self, func, *, retry_on=(RetryableJobError,), attempts=40, pause=0.1):
        """Run ``func(env)`` as queue_job runs a job, in a cursor (a connection) of its own.

        Commit on success; after ``retry_on`` or a PostgreSQL concurrency error, roll
        back and run it again in a new transaction (after ``pause`` seconds, not the
        job's own delay: the test does not wait a minute). The list of attempts' outcomes:
        ``("retry", message)``, ``("pg", pgcode)``, then ``("done", value)``.
        """
        outcomes = []
        for _attempt in range(attempts):
            cr = self.registry.cursor()
            try:
                env = self._env(cr)
                value = func(env)
                env.flush_all()
                cr.commit()  # pylint: disable=invalid-commit
                outcomes.append(("done", value))
                return outcomes
            except retry_on as exc:
                cr.rollback()
                outcomes.append(("retry", str(exc)))
            except psycopg2.OperationalError as exc:
                cr.rollback()
                if exc.pgcode not in PG_CONCURRENCY_ERRORS_TO_RETRY:
                    raise
                outcomes.append(("pg", exc.pgcode))
            finally:
                cr.close()
            if self.after_attempt:
                self.after_attempt(outcomes)
            time.sleep(pause)
        self.fail(f"still not done after {attempts} attempts: {outcomes}")

    def run_workers(self, **workers):
        """Run ``name=callable`` in threads released together; ``{name: return value}``.

        Daemon threads joined against one deadline: a hung worker fails the test
        (with its stack) and never keeps the test process alive.
        """
        barrier = threading.Barrier(len(workers))
        results, errors = {}, []

        def target(name, worker):
            try:
                barrier.wait(HOLD)
                results[name] = worker()
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append((name, exc))

        threads = [
            threading.Thread(target=target, args=item, name=item[0], daemon=True)
            for item in workers.items()
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + WORKERS_DEADLINE
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        hung = [thread for thread in threads if thread.is_alive()]
        if hung:
            stacks = self._stacks(hung)
            type(self).hung_in = self._testMethodName
            self._unstick_workers()
            self.fail(f"workers still running after {WORKERS_DEADLINE} s:\n{stacks}")
        if errors:
            raise AssertionError(f"workers failed: {errors}") from errors[0][1]
        return results

    @staticmethod
    def _stacks(threads):
        """The current stack of each of ``threads`` (where a hung worker waits)."""
        frames = sys._current_frames()  # noqa: SLF001 - where each hung worker waits
        return "\n".join(
            f"--- {thread.name}\n" + "".join(traceback.format_stack(frames[thread.ident]))
            for thread in threads
            if thread.ident in frames
        )

    @classmethod
    def _unstick_workers(cls):
        """Terminate this process's backends that wait on a lock or hold a transaction open.

        Those are the hung workers' (the test's own cursor is left alone): their
        statements fail, their row locks go. A worker stuck on a Python lock stays
        stuck (a daemon thread): the class's next tests fail at once (``setUp``).
        """
        cls.cr.execute("SELECT pg_backend_pid()")
        own = cls.cr.fetchone()[0]
        with cls.registry.cursor() as cr:
            cr.execute(
                """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                    WHERE datname = current_database() AND pid NOT IN (pg_backend_pid(), %s)
                      AND application_name = current_setting('application_name')
                      AND (wait_event_type = 'Lock' OR state LIKE 'idle in transaction%%')""",
                [own],
            )

    # ------------------------------------------------------------------ data

    def make_lines(self, count):
        """``count`` committed draft timesheet lines (ids): 20 a day, so in chunk order."""
        with self.registry.cursor() as cr:
            env = self._env(cr)
            return (
                env["account.analytic.line"]
                .create(
                    [
                        {
                            "name": f"{self._testMethodName} {index}",
                            "project_id": self.project_id,
                            "employee_id": self.employee_ids[index % 2],
                            "unit_amount": 0.25 * (1 + index % 4),
                            "date": DAY + timedelta(days=index // 20),
                        }
                        for index in range(count)
                    ]
                )
                .ids
            )

    def start(self, env, line_ids, trap):
        """``_qbo_start`` (what confirming a preview does): ``(run id, [chunk result ids])``."""
        run = env["qbo.export"]._qbo_start(
            env["account.analytic.line"].browse(line_ids),
            env["res.company"].browse(self.company_id),
        )
        run.flush_recordset()
        chunks = [
            job.args[0].ids
            for job in trap.enqueued_jobs
            if job.method_name == "_qbo_export_chunk" and job.recordset.id == run.id
        ]
        # the chain's order: results are created in (date, id) order, chunks cut in it
        return run.id, sorted(chunks, key=min)

    def start_committed(self, line_ids, trap):
        return self.perform(lambda env: self.start(env, line_ids, trap))[-1][1]

    @staticmethod
    def chunk_job(run_id, result_ids):
        """A chunk job of run ``run_id``, as ``func(env)`` for :meth:`perform`."""

        def job(env):
            run = env["qbo.export"].browse(run_id)
            return run._qbo_export_chunk(env["qbo.export.result"].browse(result_ids))

        return job

    def in_cursor(self, func):
        """``func(env)`` in a cursor (a connection) of its own, committed at the end."""
        with self.registry.cursor() as cr:
            return func(self._env(cr))

    def key_of(self, line_ids):
        return self.in_cursor(
            lambda env: {
                line.id: line._qbo_request_key()
                for line in env["account.analytic.line"].browse(line_ids)
            }
        )

    def assertExportedOnce(self, line_ids):
        """Each line is in QBO exactly once, bound to that TimeActivity, and to no other."""
        keys = self.key_of(line_ids)
        copies = {}
        for activity in self.sandbox.entities("TimeActivity"):
            tag = payloads.marker_in(activity.get("Description"))
            copies.setdefault(tag, []).append(activity["Id"])
        lines = self.in_cursor(
            lambda env: {
                line.id: (line.qbo_state, line.qbo_time_activity_id)
                for line in env["account.analytic.line"].browse(line_ids)
            }
        )
        bound = []
        for line_id in line_ids:
            sent = copies.get(payloads.marker(keys[line_id]), [])
            self.assertEqual(len(sent), 1, f"line {line_id} is {len(sent)} times in QBO")
            self.assertEqual(lines[line_id], ("exported", sent[0]), f"line {line_id}")
            bound.append(sent[0])
        self.assertEqual(len(set(bound)), len(line_ids))

    def result_states(self, run_id):
        return self.in_cursor(
            lambda env: {
                result.line_id.id: (result.state, result.message or "")
                for result in env["qbo.export"].browse(run_id).result_ids
            }
        )

    def hook_send(self, before_send):
        """Call ``before_send(keys)`` in the sending thread before the client sends."""
        calls = []
        original = QboClient.send_time_activities

        def send_time_activities(client, sent_payloads, keys, **kwargs):
            calls.append((threading.current_thread().name, list(keys)))
            before_send(keys)
            return original(client, sent_payloads, keys, **kwargs)

        self.patch(QboClient, "send_time_activities", send_time_activities)
        return calls

    def hook_lock(self, before_lock):
        """Call ``before_lock(line ids)`` in the locking thread before the lines are locked."""
        Line = type(self.env["account.analytic.line"])
        original = Line._qbo_lock_rows

        def _qbo_lock_rows(lines):
            before_lock(lines.ids)
            return original(lines)

        self.patch(Line, "_qbo_lock_rows", _qbo_lock_rows)

    @staticmethod
    def backend_pid(env):
        env.cr.execute("SELECT pg_backend_pid()")
        return env.cr.fetchone()[0]


@tagged("post_install", "-at_install")
class TestConcurrentExport(CommittedQboCase):
    # Limits out of the way (the client's waits are shrunk 1000 times, not the sandbox's):
    # these tests are about locks and exactly-once, TestThrottledExport about limits.
    sandbox_options = {
        "limits": SandboxLimits(
            requests_per_minute=5000,
            batch_per_minute=1000,
            concurrent=20,
            requests_per_second=1000,
            realm_batch_per_minute=10000,
        )
    }

    def test_same_chunk_twice_at_once_sends_once(self):
        """A requeued "stuck" chunk job runs while the original still runs: one sends."""
        line_ids = self.make_lines(40)
        with trap_jobs() as trap:
            run_id, chunks = self.start_committed(line_ids, trap)
        self.assertEqual(len(chunks), 1)
        first_failed = threading.Event()
        # the sender waits until the other worker has tried: the two really overlap
        calls = self.hook_send(lambda keys: first_failed.wait(HOLD))
        self.after_attempt = lambda outcomes: first_failed.set()
        pids = {}

        def worker(name):
            def job(env):
                pids.setdefault(name, self.backend_pid(env))
                return self.chunk_job(run_id, chunks[0])(env)

            return lambda: self.perform(job)

        outcomes = self.run_workers(original=worker("original"), requeued=worker("requeued"))
        self.assertNotEqual(pids["original"], pids["requeued"], "one connection per worker")
        self.assertEqual(len(calls), 1, "exactly one worker sent the chunk")
        sender = calls[0][0]
        other = ({"original", "requeued"} - {sender}).pop()
        self.assertEqual(outcomes[sender][0][0], "done")
        # the other one found the lines locked (NOWAIT), was retried, found nothing to send
        self.assertEqual(outcomes[other][0][0], "retry")
        self.assertIn("being sent", outcomes[other][0][1])
        self.assertEqual(outcomes[other][-1], ("done", "Nothing left to send."))
        self.assertExportedOnce(line_ids)
        self.assertEqual({state for state, _m in self.result_states(run_id).values()}, {"exported"})

    def test_overlapping_runs_chunks_at_the_same_moment(self):
        """Run B took over lines of run A; both runs' chunk jobs send at the same time."""
        line_ids = self.make_lines(90)
        with trap_jobs() as trap:
            run_a, chunks_a = self.start_committed(line_ids[:60], trap)
            run_b, chunks_b = self.start_committed(line_ids[40:], trap)
        both_sending = threading.Barrier(2)
        calls = self.hook_send(lambda keys: both_sending.wait(HOLD))
        outcomes = self.run_workers(
            a=lambda: self.perform(self.chunk_job(run_a, chunks_a[0])),
            b=lambda: self.perform(self.chunk_job(run_b, chunks_b[0])),
        )
        self.assertEqual(len(outcomes["a"]), 1)
        self.assertEqual(len(outcomes["b"]), 1)
        keys = self.key_of(line_ids)
        sent = {name: set(sent_keys) for name, sent_keys in calls}
        self.assertEqual(sent["a"], {keys[line_id] for line_id in line_ids[:40]})
        self.assertEqual(sent["b"], {keys[line_id] for line_id in line_ids[40:]})
        self.assertExportedOnce(line_ids)
        handed = self.result_states(run_a)
        for line_id in line_ids[40:60]:
            self.assertEqual(handed[line_id][0], "skipped")
            self.assertIn("Handed over", handed[line_id][1])

    def test_hand_over_while_a_job_is_between_reading_and_locking(self):
        """Run A's job has read its lines; run B takes some over and sends them; A locks."""
        line_ids = self.make_lines(90)
        with trap_jobs() as trap:
            run_a, chunks_a = self.start_committed(line_ids[:60], trap)
            a_has_read, b_done = threading.Event(), threading.Event()
            a_attempts = []

            def before_lock(ids):
                if threading.current_thread().name == "a" and not a_attempts:
                    a_attempts.append(ids)
                    a_has_read.set()  # A's snapshot is taken: it saw every line as its own
                    b_done.wait(HOLD)

            self.hook_lock(before_lock)

            def run_b():
                a_has_read.wait(HOLD)
                run_b, chunks_b = self.start_committed(line_ids[40:], trap)
                outcomes = self.perform(self.chunk_job(run_b, chunks_b[0]))
                b_done.set()
                return run_b, outcomes

            outcomes = self.run_workers(
                a=lambda: self.perform(self.chunk_job(run_a, chunks_a[0])), b=run_b
            )
        # A's lock met rows changed after its snapshot: a serialization failure, retried
        self.assertEqual(outcomes["a"][0], ("pg", errorcodes.SERIALIZATION_FAILURE))
        self.assertEqual(outcomes["a"][-1][0], "done")
        run_b, outcomes_b = outcomes["b"]
        self.assertEqual([outcome for outcome, _value in outcomes_b], ["done"])
        self.assertExportedOnce(line_ids)
        states_a, states_b = self.result_states(run_a), self.result_states(run_b)
        for line_id in line_ids[:40]:
            self.assertEqual(states_a[line_id][0], "exported")
        for line_id in line_ids[40:60]:
            self.assertEqual(states_a[line_id][0], "skipped")
        self.assertEqual({state for state, _m in states_b.values()}, {"exported"})

    def test_new_run_while_a_job_sends_its_lines(self):
        """Confirming run B while run A's job sends overlapping lines: refused, then skips them."""
        line_ids = self.make_lines(90)
        with trap_jobs() as trap:
            run_a, chunks_a = self.start_committed(line_ids[:60], trap)
            a_sending, b_refused = threading.Event(), threading.Event()

            def before_send(keys):
                a_sending.set()
                b_refused.wait(HOLD)  # A holds its line locks while B tries

            self.hook_send(before_send)

            def confirm_b():
                a_sending.wait(HOLD)
                self.after_attempt = lambda outcomes: b_refused.set()
                return self.perform(
                    lambda env: self.start(env, line_ids[40:], trap), retry_on=(UserError,)
                )

            outcomes = self.run_workers(
                a=lambda: self.perform(self.chunk_job(run_a, chunks_a[0])), b=confirm_b
            )
            self.after_attempt = None
            self.assertEqual(outcomes["b"][0][0], "retry")
            self.assertIn("being sent", outcomes["b"][0][1])
            run_b, chunks_b = outcomes["b"][-1][1]
            self.perform(self.chunk_job(run_b, chunks_b[0]))
        self.assertEqual([outcome for outcome, _value in outcomes["a"]], ["done"])
        self.assertExportedOnce(line_ids)
        states_b = self.result_states(run_b)
        for line_id in line_ids[40:60]:  # exported by A before B could approve them
            self.assertEqual(states_b[line_id][0], "skipped")
            self.assertIn("Already in QuickBooks", states_b[line_id][1])
        for line_id in line_ids[60:]:
            self.assertEqual(states_b[line_id][0], "exported")

    def test_two_runs_chains_free_running(self):
        """No hold points: run A's chain of chunk jobs runs while run B is confirmed and runs.

        B is confirmed during A's first, second or third chunk. Whatever the interleaving
        (B refused while A holds a chunk's lines, B taking over lines of A's later chunks,
        A's chunk meeting rows B changed), each line is sent once and exactly one run
        records it as exported.
        """
        self.patch(type(self.env["qbo.export"]), "_qbo_chunk_size", lambda run: 20)
        self.hook_send(lambda keys: time.sleep(0.2))  # QBO's latency: the windows overlap
        for delay in (0.1, 0.35, 0.6):
            with self.subTest(delay=delay):
                self._two_runs_chains(delay)

    def _two_runs_chains(self, delay):
        line_ids = self.make_lines(90)
        with trap_jobs() as trap:
            run_a, chunks_a = self.start_committed(line_ids[:60], trap)
            self.assertEqual(len(chunks_a), 3)

            def chain_a():
                return [self.perform(self.chunk_job(run_a, chunk)) for chunk in chunks_a]

            def chain_b():
                time.sleep(delay)
                started = self.perform(
                    lambda env: self.start(env, line_ids[30:], trap), retry_on=(UserError,)
                )
                run_b, chunks_b = started[-1][1]
                return run_b, [self.perform(self.chunk_job(run_b, chunk)) for chunk in chunks_b]

            outcomes = self.run_workers(a=chain_a, b=chain_b)
        run_b = outcomes["b"][0]
        self.assertExportedOnce(line_ids)
        states_a, states_b = self.result_states(run_a), self.result_states(run_b)
        self.assertLessEqual(
            {state for state, _m in [*states_a.values(), *states_b.values()]},
            {"exported", "skipped"},
        )
        for line_id in line_ids:
            exported_by = [
                run
                for run, states in ((run_a, states_a), (run_b, states_b))
                if states.get(line_id, ("",))[0] == "exported"
            ]
            self.assertEqual(len(exported_by), 1, f"line {line_id}: {exported_by}")
        return outcomes


@tagged("post_install", "-at_install")
class TestConcurrentTokenRefresh(CommittedQboCase):
    def setUp(self):
        super().setUp()
        with self.registry.cursor() as cr:
            self.qbo_connect(self._env(cr)["res.company"].browse(self.company_id))
        self.refreshes = []
        original = OAuthClient.refresh

        def refresh(client, refresh_token, **kwargs):
            self.refreshes.append(refresh_token)
            time.sleep(0.3)  # the other workers meanwhile queue on the token row lock
            return original(client, refresh_token, **kwargs)

        self.patch(OAuthClient, "refresh", refresh)

    def stored(self):
        def tokens(env):
            token = env["qbo.token"].search([("company_id", "=", self.company_id)])
            return token.access_token, token.refresh_token

        return self.in_cursor(tokens)

    def grant_of(self, refresh_token):
        return self.sandbox.oauth._refresh[refresh_token].grant

    def newest_refresh_token(self, grant):
        tokens = self.sandbox.oauth._refresh
        return [token for token in grant.refresh_tokens if tokens[token].stale_at is None]

    def source(self):
        return self.in_cursor(
            lambda env: env["res.company"].browse(self.company_id)._qbo_token_source()
        )

    def test_two_workers_refresh_at_once_one_rotation(self):
        sources = [self.source(), self.source()]
        stale = sources[0].current()
        sources[1].current()
        grant = self.grant_of(stale.refresh_token)
        self.assertEqual(len(grant.refresh_tokens), 1)
        results = self.run_workers(
            first=lambda: sources[0].refresh(stale), second=lambda: sources[1].refresh(stale)
        )
        self.assertEqual(self.refreshes, [stale.refresh_token], "one refresh reached QBO")
        self.assertEqual(len(grant.refresh_tokens), 2)
        self.assertEqual(sum(source.refresh_count for source in sources), 1)
        first, second = results["first"], results["second"]
        self.assertEqual(first.access_token, second.access_token)
        self.assertEqual(first.refresh_token, second.refresh_token)
        self.assertNotEqual(first.refresh_token, stale.refresh_token)
        # what is committed is the newest refresh token, not the stale one (valid 24 h more)
        self.assertEqual(self.newest_refresh_token(grant), [first.refresh_token])
        self.assertEqual(self.stored(), (first.access_token, first.refresh_token))
        for source in sources:
            self.assertEqual(source.current().access_token, first.access_token)
        self.assertTrue(self.in_cursor(self.company_info))

    def test_workers_with_an_expired_access_token_refresh_once(self):
        def expire(env):
            token = env["qbo.token"].search([("company_id", "=", self.company_id)])
            token.access_expires_at = oauth_utcnow().replace(tzinfo=None) - timedelta(minutes=5)

        self.perform(expire)
        _access, refresh_token = self.stored()
        grant = self.grant_of(refresh_token)
        # four export jobs starting at once, each building its client in its own cursor
        results = self.run_workers(
            **{f"job{n}": lambda: self.in_cursor(self.company_info) for n in range(4)}
        )
        self.assertEqual(self.refreshes, [refresh_token])
        self.assertEqual(len(grant.refresh_tokens), 2)
        self.assertTrue(all(info.get("CompanyName") for info in results.values()))
        access, stored_refresh = self.stored()
        self.assertEqual(self.newest_refresh_token(grant), [stored_refresh])
        self.assertIn(access, grant.access_tokens)

    def company_info(self, env):
        return env["res.company"].browse(self.company_id)._qbo_client().company_info()


@tagged("post_install", "-at_install")
class TestThrottledExport(CommittedQboCase):
    """QBO's limits, shrunk: 2 batch requests a minute, and a minute lasts one second."""

    sandbox_options = {
        "limits": SandboxLimits(requests_per_minute=6, batch_per_minute=2, concurrent=10),
        "time_scale": 60.0,
    }
    client_options = {"time_scale": 60.0}

    def export_throttled(self, client_limits):
        self.patch(
            type(self.env["res.company"]),
            "_qbo_client_options",
            lambda company: {"time_scale": 60.0, "limits": client_limits},
        )
        line_ids = self.make_lines(120)  # 4 batches of 30: past the limit mid-run
        with trap_jobs() as trap:
            run_id, chunks = self.start_committed(line_ids, trap)
        throttled_before = self.sandbox.stats()["throttled"]
        outcomes = []
        for chunk in chunks:
            outcomes += self.perform(self.chunk_job(run_id, chunk), pause=1.0, attempts=10)
        self.assertExportedOnce(line_ids)
        self.assertEqual({state for state, _m in self.result_states(run_id).values()}, {"exported"})
        return outcomes, self.sandbox.stats()["throttled"] - throttled_before

    def test_throttled_mid_run_nothing_lost_nothing_twice(self):
        # the client believes QBO's published limits: QBO answers 429 mid-run
        outcomes, throttled = self.export_throttled(ClientLimits())
        self.assertGreater(throttled, 0, "the run crossed the limit")
        self.assertEqual(outcomes[-1][0], "done")

    def test_paced_under_known_limits_no_429(self):
        outcomes, throttled = self.export_throttled(
            ClientLimits(requests_per_minute=6, batch_per_minute=2, concurrent=10)
        )
        self.assertEqual(throttled, 0)
        self.assertEqual([outcome for outcome, _value in outcomes], ["done"])


@tagged("post_install", "-at_install")
class TestSharedPacing(CommittedQboCase):
    """Two workers (two connections), one realm: the PostgreSQL pacing row is their one state."""

    #: 6 requests a minute, a minute lasting one second
    limits = ClientLimits(requests_per_minute=6, batch_per_minute=2, concurrent=10)
    time_scale = 60.0

    def setUp(self):
        super().setUp()
        self.key = ("bench://shared-pacing", self._testMethodName)
        self.addCleanup(self.in_cursor, self._drop_row)

    def _drop_row(self, env):
        env.cr.execute("DELETE FROM qbo_rate_window WHERE key = %s", ["|".join(self.key)])

    def pacer(self):
        """What each worker's client builds: its own store object on the shared row."""
        store = RealmWindowStore(self.registry, *self.key)
        return RealmPacer(self.limits, store=store, time_scale=self.time_scale)

    def test_two_workers_together_stay_under_the_limit(self):
        admitted = []

        def worker(name):
            pacer = self.pacer()
            for _n in range(6):
                permit = pacer.acquire()
                admitted.append((time.monotonic(), name))
                pacer.release(permit)

        started = time.monotonic()
        self.run_workers(a=lambda: worker("a"), b=lambda: worker("b"))
        times = sorted(moment for moment, _name in admitted)
        self.assertEqual({name for _moment, name in admitted}, {"a", "b"})
        window = 60.0 / self.time_scale
        busiest = max(sum(1 for t in times if start <= t < start + window) for start in times)
        self.assertLessEqual(busiest, self.limits.requests_per_minute)
        self.assertGreaterEqual(times[-1] - started, window * 0.9, "the 7th request waited")

    def test_a_throttle_pause_holds_for_the_other_worker(self):
        first, second = self.pacer(), self.pacer()
        first.pause(60.0)  # a 429 seen by one worker: QBO asks for a minute (1 s here)
        paused_at = time.monotonic()
        second.release(second.acquire())
        self.assertGreaterEqual(time.monotonic() - paused_at, 0.9)
