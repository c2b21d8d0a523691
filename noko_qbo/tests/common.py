"""Shared setup for the Odoo tests: a company connected to an in-process ``qbo_sandbox``.

``QboCase`` starts one ``SandboxServer`` per test class, connects the current
company to it (custom environment, tokens issued by the sandbox), and syncs the
QBO lists into the cache. The registry is in test mode, so the separate cursors
the token source opens share the test transaction (and are rolled back with it).
"""

from contextlib import contextmanager
from unittest.mock import patch
from urllib.parse import urlsplit

import odoo
from odoo.tests import TransactionCase, new_test_user
from odoo.tests.common import HOST, _super_send, release_test_lock

# qbo_sandbox is a test dependency (test-requirements.txt), installed like any other
from qbo_sandbox import Limits as SandboxLimits  # noqa: F401 - for the test modules
from qbo_sandbox import SandboxServer

from ..qbo.client import QboClient
from ..qbo.oauth import Tokens
from ..qbo.pacing import MemoryWindowStore

# the client id the sandbox binds issue_tokens() grants to
CLIENT_ID = "sandbox-test-client"
CLIENT_SECRET = "noko-qbo-test-secret"  # noqa: S105 - the sandbox's, not a real secret


class QboSetupMixin:
    """What ``QboCase`` does, for test classes that need another base (``HttpCase``)."""

    #: Hook: a company dict for ``SandboxServer(company=...)`` (None: the shipped demo company)
    sandbox_company = None
    #: Hook: extra ``SandboxServer`` keyword arguments
    sandbox_options = {}
    #: Hook: connect the company and sync the lists in ``setUpClass``
    qbo_connect_on_setup = True

    @classmethod
    def _request_handler(cls, s, r, /, **kw):
        # Loopback (the sandbox) goes through untouched: Odoo's handler cannot
        # compare a (connect, read) timeout tuple, which the QBO client uses.
        if urlsplit(r.url).hostname in (HOST, "localhost", "127.0.0.1"):
            return _super_send(s, r, **kw)
        return super()._request_handler(s, r, **kw)

    @classmethod
    def _qbo_setup_class(cls):
        cls.sandbox = SandboxServer(
            company=cls.sandbox_company,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            **cls.sandbox_options,
        ).start()
        cls.addClassCleanup(cls.sandbox.stop)
        cls._qbo_pace_in_memory()
        cls._qbo_release_test_lock_while_sending()
        cls.company = cls.env.company
        cls.qbo_configure(cls.company)
        if cls.qbo_connect_on_setup:
            with cls._qbo_test_cursor_allowed():
                cls.qbo_connect(cls.company)
                cls.company._qbo_sync_lists(force=True)

    @classmethod
    def _qbo_pace_in_memory(cls):
        """One in-memory pacing state per class, like the class's sandbox.

        In test mode the realm's pacing row (PostgreSQL) is written in the test's
        transaction and rolled back after each test, while the sandbox keeps
        counting: the client would forget requests QBO remembers. The shared
        PostgreSQL state is tested with real connections (test_concurrency).
        """
        cls.window_store = MemoryWindowStore()
        Company = type(cls.env["res.company"])
        options = Company._qbo_client_options

        def client_options(company):
            return {"window_store": cls.window_store, **options(company)}

        cls.classPatch(Company, "_qbo_client_options", client_options)

    @classmethod
    def _qbo_release_test_lock_while_sending(cls):
        """Let the sender's threads open cursors while the test waits for them.

        Each request takes its slot in the realm's pacing row (PostgreSQL) in a
        cursor of its own; in test mode that is a test cursor, behind the
        registry test lock this thread holds for the whole test. Odoo releases
        it around an HttpCase request the same way.
        """
        send = QboClient.send_time_activities

        def send_time_activities(client, *args, **kwargs):
            with release_test_lock():
                return send(client, *args, **kwargs)

        cls.classPatch(QboClient, "send_time_activities", send_time_activities)

    @classmethod
    @contextmanager
    def _qbo_test_cursor_allowed(cls):
        """Let ``setUpClass`` open test cursors when the runner has not set ``current_test``.

        Odoo's own runner sets it before ``setUpClass``; pytest-odoo only
        before each test.
        """
        if odoo.modules.module.current_test:
            yield
            return
        stand_in = cls.__new__(cls)
        with patch.object(odoo.modules.module, "current_test", stand_in):
            yield

    @classmethod
    def qbo_configure(cls, company):
        """Point ``company`` at the sandbox (custom environment, the sandbox's app credentials)."""
        company.write(
            {
                "qbo_environment": "custom",
                "qbo_base_url": cls.sandbox.base_url,
                "qbo_client_id": CLIENT_ID,
                "qbo_client_secret": CLIENT_SECRET,
            }
        )

    @classmethod
    def qbo_connect(cls, company, realm_id=None):
        """Connect ``company`` without the browser: tokens straight from the sandbox."""
        answer = cls.sandbox.issue_tokens(realm_id)
        realm = realm_id or cls.sandbox.realm_id
        tokens = Tokens.from_response(answer, realm_id=realm)
        company.sudo()._qbo_token_source().store(tokens)
        company.sudo().write({"qbo_realm_id": realm})
        company.env.invalidate_all()
        return tokens

    # ------------------------------------------------------------------ helpers

    def qbo_add(self, entity, entry, realm_id=None):
        """Add a Customer/Employee/Vendor/Item/Class to the sandbox's company (as seeding does)."""
        from qbo_sandbox import company as sandbox_company  # noqa: PLC0415 - test-only helper

        realm = self.sandbox.realms[realm_id or self.sandbox.realm_id]
        return sandbox_company._add(realm, entity, dict(entry))

    def qbo_touch(self, entity, qbo_id, realm_id=None, **changes):
        """Change a sandbox record the way an edit in QBO would (new LastUpdatedTime)."""
        realm = self.sandbox.realms[realm_id or self.sandbox.realm_id]
        with realm.lock:
            record = realm.get(entity, qbo_id)
            record.update(changes)
            record["MetaData"] = {
                **record["MetaData"],
                "LastUpdatedTime": realm.metadata()["LastUpdatedTime"],
            }
        return record

    def assertRaisesCommitted(self, exception, func, *args, **kwargs):
        """Like ``assertRaises``, without the savepoint Odoo's version rolls back."""
        try:
            func(*args, **kwargs)
        except exception as exc:
            return exc
        self.fail(f"{exception.__name__} not raised")

    @classmethod
    def qbo_user(cls, login, groups, company=None):
        company = company or cls.env.company
        return new_test_user(
            cls.env,
            login=login,
            groups=groups,
            company_id=company.id,
            company_ids=[(6, 0, company.ids)],
        )


class QboCase(QboSetupMixin, TransactionCase):
    """A company connected to a class-level ``qbo_sandbox``, its lists synced."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not cls._registry_patched:
            cls.registry_enter_test_mode_cls()
        cls._qbo_setup_class()


# ---------------------------------------------------------------------- mappings


def project_mapping(project, company=None):
    """The ``qbo.project.mapping`` row of ``project`` (created on first use)."""
    company = company or project.company_id or project.env.company
    return project._qbo_mappings(company)[project.id]


def map_project(project, company=None, **values):
    """Set ``project``'s QuickBooks mapping (``customer_id``, ``without_customer``...)."""
    mapping = project_mapping(project, company)
    mapping.write(values)
    return mapping


def employee_mapping(employee):
    """The ``qbo.employee.mapping`` row of ``employee`` (created on first use)."""
    return employee._qbo_mappings()[employee.id]


def map_employee(employee, payee):
    mapping = employee_mapping(employee)
    mapping.payee_id = payee
    return mapping
