"""Attacks from the outside: real HTTP, as each kind of user, through every RPC interface.

Each attempt is one call (model, method, ids, arguments, context) made as one
user through the web client's JSON-RPC (``/web/dataset/call_kw``, a session
cookie), XML-RPC (``/xmlrpc/2/object``, an API key) and Odoo 19's JSON-2
(``/json/2/<model>/<method>``, the API key as a bearer token). An attempt is
either *refused* (an access, user or validation error, and a fingerprint of
every table the addon guards is unchanged, read back on the test's own
cursor: nothing was written, not even through a separate cursor) or *allowed*
(a positive control proving the refused calls were well formed, with a check
of what changed). Every attempt runs in a savepoint that is rolled back, so
each one starts from the same data.

The rights checked here are the table in ``readme/SECURITY.md``.
"""

import json
import logging
import os
import re
import xmlrpc.client
from collections import namedtuple
from contextlib import contextmanager
from datetime import datetime, timedelta
from urllib.parse import parse_qs, quote, urlsplit

import requests

from odoo import Command
from odoo.tests import HttpCase, get_db_name, new_test_user, tagged
from odoo.tools import mute_logger

from .common import QboSetupMixin

_logger = logging.getLogger(__name__)

REFUSED = "refused"
ALLOWED = "allowed"
TRANSPORTS = ("jsonrpc", "xmlrpc", "json2")

#: What a refusal looks like, whatever the interface; anything else is a broken attempt.
REFUSALS = {
    "odoo.exceptions.AccessError",
    "odoo.exceptions.AccessDenied",
    "odoo.exceptions.UserError",
    "odoo.exceptions.ValidationError",
    "odoo.exceptions.MissingError",
    "odoo.exceptions.RedirectWarning",
    "werkzeug.exceptions.NotFound",  # the mail routes' answer for a thread one cannot read
}
_XMLRPC_REFUSALS = {2: "odoo.exceptions.UserError", 3: "odoo.exceptions.AccessDenied"}
_XMLRPC_REFUSALS[4] = "odoo.exceptions.AccessError"

#: Logs a refused call writes (the request log, the RPC dispatchers, the ORM's access log).
NOISY_LOGGERS = (
    "odoo.http",
    "odoo.addons.rpc.controllers.xmlrpc",
    "odoo.addons.rpc.controllers.json2",
    "odoo.addons.base.models.ir_rule",
    "odoo.addons.base.models.ir_model",
    "odoo.orm.models",
    "odoo.models",
    "odoo.models.unlink",
    "odoo.sql_db",
    "werkzeug",
)

#: Tables the addon guards: a refused attempt leaves every row of them as it was.
FINGERPRINT = {
    "account_analytic_line": "TRUE",
    "qbo_export": "TRUE",
    "qbo_export_result": "TRUE",
    "qbo_project_mapping": "TRUE",
    "qbo_employee_mapping": "TRUE",
    "qbo_token": "TRUE",
    "qbo_oauth_state": "TRUE",
    "res_company": "TRUE",
    "project_project": "TRUE",
    "project_task": "TRUE",
    "hr_employee": "TRUE",
    "mail_message": "model IN ('qbo.export', 'project.project', 'hr.employee', 'project.task')",
    "mail_followers": "res_model IN ('qbo.export', 'project.project', 'hr.employee')",
    "mail_activity": "TRUE",
    "ir_attachment": "res_model IN ('qbo.export', 'project.project', 'hr.employee')",
}


class Attempt(
    namedtuple("Attempt", "label login model method ids kwargs context expect check transports")
):
    """One call to make; ``ids`` None calls a model method (``@api.model``)."""


def attempt(
    label,
    login,
    model,
    method,
    ids=None,
    kwargs=None,
    context=None,
    expect=REFUSED,
    check=None,
    transports=None,
):
    """``check(case, answer)``: a problem to report, or None; ``answer`` is the value an
    allowed attempt returned, or the message of a refused one."""
    return Attempt(
        label, login, model, method, ids, kwargs or {}, context, expect, check, transports
    )


Outcome = namedtuple("Outcome", "ok value error message")


class _Undo(Exception):
    def __init__(self, problem):
        super().__init__(problem)
        self.problem = problem


class SecurityHttpMixin(QboSetupMixin):
    """Users of two companies, timesheet lines in every state, runs, mappings, tokens.

    Company A (the main company) is connected to the sandbox; company B is not.
    Users (password = login):

    - ``sec_ts``: timesheet user of A, with an employee and own lines;
    - ``sec_qbo``: QuickBooks manager only (no timesheet, project or HR right);
    - ``sec_mgr``: QuickBooks manager and timesheet approver of A (exports);
    - ``sec_admin``: settings administrator of A;
    - ``sec_plain``: an internal user without any right of ours (a baseline);
    - ``sec_approver``: timesheet approver of A, not a QuickBooks manager;
    - ``sec_b_mgr``, ``sec_b_admin``: the same roles, of company B only;
    - ``sec_ab_mgr``: QuickBooks manager and approver of A and B, working in B.
    """

    @classmethod
    def _security_setup_connected(cls):
        """The class's sandbox with company A connected and read, then the users and data."""
        cls._qbo_setup_class()
        with cls._qbo_test_cursor_allowed():
            cls.company.sudo()._qbo_read_company(cls.company.sudo()._qbo_client())
        cls._security_setup()

    @classmethod
    def _security_setup(cls):
        env = cls.env
        cls.company_a = cls.company
        cls.company_b = env["res.company"].create({"name": "Noko Security B"})
        both = cls.company_a | cls.company_b
        a_only, b_only = cls.company_a, cls.company_b
        manager = "noko_qbo.group_qbo_manager,hr_timesheet.group_hr_timesheet_approver"
        cls.users = {}
        for login, groups, companies, current in (
            ("sec_ts", "hr_timesheet.group_hr_timesheet_user", a_only, a_only),
            ("sec_qbo", "noko_qbo.group_qbo_manager", a_only, a_only),
            ("sec_mgr", manager, a_only, a_only),
            ("sec_admin", "base.group_system", a_only, a_only),
            ("sec_plain", "base.group_user", a_only, a_only),
            ("sec_approver", "hr_timesheet.group_hr_timesheet_approver", a_only, a_only),
            ("sec_b_mgr", manager, b_only, b_only),
            ("sec_b_admin", "base.group_system", b_only, b_only),
            ("sec_ab_mgr", manager, both, b_only),
        ):
            cls.users[login] = new_test_user(
                env,
                login=login,
                groups=groups,
                company_id=current.id,
                company_ids=[Command.set(companies.ids)],
                email=f"{login}@example.com",
            )
        cls.users["admin"] = env.ref("base.user_admin")
        cls.keys = {
            login: env["res.users.apikeys"]
            .with_user(user)
            ._generate("rpc", "security test", datetime.now() + timedelta(days=1))
            for login, user in cls.users.items()
        }
        cls._security_data()

    @classmethod
    def _security_data(cls):
        env = cls.env
        A, B = cls.company_a, cls.company_b
        Customer = env["qbo.customer"].sudo()
        cls.customer_a = Customer.search(
            [("company_id", "=", A.id), ("active_in_qbo", "=", True)], limit=1
        )
        cls.customer_b = Customer.create({"company_id": B.id, "qbo_id": "b-1", "name": "B Cust"})
        cls.payee_a = env["qbo.payee"].search([("company_id", "=", A.id)], limit=1)
        cls.payee_b = env["qbo.payee"].create(
            {"company_id": B.id, "qbo_id": "b-2", "name": "B Payee", "payee_type": "vendor"}
        )
        cls.item_b = env["qbo.item"].create({"company_id": B.id, "qbo_id": "b-3", "name": "B Item"})
        cls.partner_a = env["res.partner"].create({"name": "Security Customer A"})
        cls.partner_a2 = env["res.partner"].create({"name": "Security Customer A2"})
        Project = env["project.project"]
        cls.project_a = Project.create(
            {
                "name": "Security Project A",
                "company_id": A.id,
                "partner_id": cls.partner_a.id,
                "allow_timesheets": True,
                "privacy_visibility": "employees",
            }
        )
        cls.project_a2 = Project.create(
            {"name": "Security Project A2", "company_id": A.id, "allow_timesheets": True}
        )
        cls.project_a3 = Project.create(  # no mapping row yet
            {"name": "Security Project A3", "company_id": A.id, "allow_timesheets": True}
        )
        cls.project_b = Project.create(
            {"name": "Security Project B", "company_id": B.id, "allow_timesheets": True}
        )
        cls.task_a = env["project.task"].create(
            {"name": "Security Task", "project_id": cls.project_a.id}
        )
        Employee = env["hr.employee"]
        cls.emp_ts = Employee.create(
            {"name": "Sec Timesheet Person", "company_id": A.id, "user_id": cls.users["sec_ts"].id}
        )
        cls.emp_other = Employee.create({"name": "Sec Other Person", "company_id": A.id})
        cls.emp_b = Employee.create({"name": "Sec B Person", "company_id": B.id})
        cls.emp_unmapped = Employee.create({"name": "Sec Unmapped Person", "company_id": A.id})
        cls.hr_attachment = env["ir.attachment"].create(
            {
                "name": "contract.pdf",
                "res_model": "hr.employee",
                "res_id": cls.emp_ts.id,
                "raw": b"%PDF",
            }
        )

        def line(name, employee, project, task=None):
            return env["account.analytic.line"].create(
                {
                    "name": name,
                    "employee_id": employee.id,
                    "project_id": project.id,
                    "task_id": task.id if task else False,
                    "unit_amount": 2.0,
                    "date": "2025-03-03",
                }
            )

        cls.line_draft = line("sec draft", cls.emp_ts, cls.project_a, cls.task_a)
        cls.line_approved = line("sec approved", cls.emp_ts, cls.project_a, cls.task_a)
        cls.line_exported = line("sec exported", cls.emp_ts, cls.project_a, cls.task_a)
        cls.line_other = line("sec other draft", cls.emp_other, cls.project_a)
        cls.line_b = line("sec b approved", cls.emp_b, cls.project_b)
        Export = env["qbo.export"]
        mgr, b_mgr = cls.users["sec_mgr"], cls.users["sec_b_mgr"]
        cls.run_a = (
            Export.with_user(mgr)
            ._qbo_start((cls.line_approved | cls.line_exported).with_user(mgr), A)
            .sudo()
        )
        exported = cls.run_a.result_ids.filtered(lambda r: r.line_id == cls.line_exported)
        exported._qbo_set_exported("9001", "created")
        cls.run_a._qbo_notify()
        cls.summary = cls.run_a.message_ids.filtered(
            lambda m: m.subtype_id == env.ref("noko_qbo.mt_qbo_export_done")
        )
        cls.run_b = Export.with_user(b_mgr)._qbo_start(cls.line_b.with_user(b_mgr), B).sudo()
        cls.run_qbo = Export.sudo().create({"company_id": A.id, "user_id": cls.users["sec_qbo"].id})
        cls.run_qbo.message_post(body="own run of the QuickBooks-only manager")
        cls.pm_a = env["qbo.project.mapping"]._qbo_for(cls.project_a, A)[cls.project_a.id]
        cls.pm_a2 = env["qbo.project.mapping"]._qbo_for(cls.project_a2, A)[cls.project_a2.id]
        cls.pm_b = env["qbo.project.mapping"]._qbo_for(cls.project_b, B)[cls.project_b.id]
        em = env["qbo.employee.mapping"]._qbo_for(cls.emp_ts | cls.emp_other | cls.emp_b)
        cls.em_ts, cls.em_other, cls.em_b = (
            em[cls.emp_ts.id],
            em[cls.emp_other.id],
            em[cls.emp_b.id],
        )
        cls.company_a.sudo().qbo_last_message = "Connected (before the attacks)."
        env.flush_all()

    # ------------------------------------------------------------------ sessions

    def setUp(self):
        super().setUp()
        self.sids = {}

    def _sid(self, login):
        if login not in self.sids:
            self.authenticate(login, login if login != "admin" else "admin")
            self.sids[login] = self.session.sid
            self.session = None  # keep it in the store: the next authenticate() would drop it
        return self.sids[login]

    # ------------------------------------------------------------------ transports

    def rpc(self, transport, login, model, method, ids=None, kwargs=None, context=None):
        """Call ``model.method`` as ``login`` through ``transport``: an ``Outcome``."""
        kwargs = dict(kwargs or {})
        args = [] if ids is None else [list(ids)]
        if method == "create" and transport != "json2":
            args.append(kwargs.pop("vals_list"))  # call_kw reads create's values positionally
        user = self.users[login]
        if model.startswith("/"):  # a JSON-RPC route of the web client: ``kwargs`` are its params
            return self._route(login, model, kwargs)
        if transport == "jsonrpc":
            sid = self._sid(login)
            self.opener.cookies.clear()
            payload = {
                "jsonrpc": "2.0",
                "method": "call",
                "id": 1,
                "params": {
                    "model": model,
                    "method": method,
                    "args": args,
                    "kwargs": {**kwargs, "context": context or {}},
                },
            }
            response = self.opener.post(
                f"{self.base_url()}/web/dataset/call_kw/{model}/{method}",
                json=payload,
                cookies={"session_id": sid},
                timeout=60,
            )
            body = response.json()
            if "error" in body:
                data = body["error"].get("data") or {}
                return Outcome(False, None, data.get("name"), data.get("message", ""))
            return Outcome(True, body.get("result"), None, "")
        if transport == "xmlrpc":
            if context:
                kwargs["context"] = context
            try:
                value = self.xmlrpc_object.execute_kw(
                    get_db_name(), user.id, self.keys[login], model, method, args, kwargs
                )
            except xmlrpc.client.Fault as fault:
                if "cannot marshal None" in str(fault.faultString):
                    return Outcome(True, None, None, "")
                name = _XMLRPC_REFUSALS.get(fault.faultCode, "xmlrpc application error")
                return Outcome(False, None, name, str(fault.faultString))
            return Outcome(True, value, None, "")
        body = dict(kwargs)
        if ids is not None:
            body["ids"] = list(ids)
        if context:
            body["context"] = context
        self.opener.cookies.clear()
        response = self.opener.post(
            f"{self.base_url()}/json/2/{model}/{method}",
            data=json.dumps(body),
            headers={
                "Authorization": f"Bearer {self.keys[login]}",
                "Content-Type": "application/json",
            },
            timeout=60,
        )
        if response.status_code == 200:
            return Outcome(True, response.json(), None, "")
        try:
            error = response.json()
        except ValueError:
            return Outcome(False, None, f"HTTP {response.status_code}", response.text[:300])
        return Outcome(False, None, error.get("name"), error.get("message", ""))

    def _route(self, login, route, params):
        sid = self._sid(login)  # first: authenticate() replaces the opener
        self.opener.cookies.clear()
        response = self.opener.post(
            f"{self.base_url()}{route}",
            json={"jsonrpc": "2.0", "method": "call", "id": 1, "params": params},
            cookies={"session_id": sid},
            timeout=60,
        )
        body = response.json()
        if "error" in body:
            data = body["error"].get("data") or {}
            return Outcome(False, None, data.get("name"), data.get("message", ""))
        return Outcome(True, body.get("result"), None, "")

    # ------------------------------------------------------------------ the table

    def fingerprint(self):
        """One digest per guarded table, read on the test's cursor (what any later read sees)."""
        self.env.flush_all()
        digests = ", ".join(
            f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) "
            f"FROM {table} t WHERE {where})"
            for table, where in FINGERPRINT.items()
        )
        self.env.cr.execute(f"SELECT ARRAY[{digests}]")  # noqa: S608 - constants only
        return dict(zip(FINGERPRINT, self.env.cr.fetchone()[0], strict=True))

    def run_attempts(self, attempts, every_transport=False):
        """Make every attempt; fail listing every deviation.

        Each attempt goes through its own ``transports``, else through all three
        when ``every_transport`` (or ``NOKO_QBO_SECURITY_ALL_TRANSPORTS`` is set),
        else through one of them in turn: every interface sees every kind of
        attempt, and the table stays fast.
        """
        baseline = self._baseline = self.fingerprint()
        every_transport = every_transport or os.environ.get("NOKO_QBO_SECURITY_ALL_TRANSPORTS")
        problems, count = [], 0
        for index, item in enumerate(attempts):
            transports = item.transports or (
                TRANSPORTS if every_transport else (TRANSPORTS[index % len(TRANSPORTS)],)
            )
            for transport in transports:
                count += 1
                problem = self._run_one(item, transport, baseline)
                if problem:
                    problems.append(f"- {item.label} [{item.login} via {transport}]: {problem}")
        self.assertEqual(self.fingerprint(), baseline)
        self.assertFalse(problems, f"{len(problems)} of {count} attempts:\n" + "\n".join(problems))
        _logger.info("%s: %s attempts, %s calls", self._testMethodName, len(attempts), count)
        return count

    def _run_one(self, item, transport, baseline):
        try:
            with self.env.cr.savepoint(), mute_logger(*NOISY_LOGGERS):
                outcome = self.rpc(
                    transport,
                    item.login,
                    item.model,
                    item.method,
                    item.ids,
                    item.kwargs,
                    item.context,
                )
                self.env.invalidate_all()
                _logger.debug("%s [%s via %s]: %s", item.label, item.login, transport, outcome)
                raise _Undo(self._judge(item, outcome, baseline))
        except _Undo as undo:
            return undo.problem
        finally:
            self.env.invalidate_all()

    def _judge(self, item, outcome, baseline):
        if item.expect == REFUSED:
            if outcome.ok:
                return f"ALLOWED, answered {str(outcome.value)[:200]}"
            if outcome.error not in REFUSALS:
                return f"broken attempt: {outcome.error}: {outcome.message[:300]}"
            changed = self.changed_tables(baseline)
            if changed:
                return f"refused, yet changed {changed}"
            return item.check(self, outcome.message) if item.check else None
        if not outcome.ok:
            return f"refused ({outcome.error}: {outcome.message[:200]}), expected allowed"
        return item.check(self, outcome.value) if item.check else None

    # ------------------------------------------------------------------ checks

    def changed_tables(self, baseline=None):
        baseline = baseline or self._baseline
        return [table for table, digest in self.fingerprint().items() if baseline[table] != digest]

    @staticmethod
    def no_change(case, answer):
        """An allowed attempt's check: it answered, and changed nothing (a silent refusal)."""
        changed = case.changed_tables()
        return f"changed {changed}" if changed else None

    @staticmethod
    def changed(record, **expected):
        """An allowed attempt's check: ``record`` now has these values."""

        def check(case, value):
            record.invalidate_recordset()
            actual = {name: record.sudo()[name] for name in expected}
            normalized = {
                name: getattr(v, "id", v) if hasattr(v, "_name") else v
                for name, v in actual.items()
            }
            if normalized != expected:
                return f"expected {expected}, found {normalized}"
            return None

        return check

    @staticmethod
    def unchanged_answer(predicate, why):
        """An allowed attempt's check on the answer itself."""

        def check(case, value):
            return None if predicate(value) else f"{why}: {str(value)[:300]}"

        return check


@tagged("post_install", "-at_install")
class TestSecurityHttp(SecurityHttpMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._security_setup_connected()

    # ------------------------------------------------------------------ 1. entry points

    def test_entry_points_check_the_caller_and_the_records(self):
        """Every button, wizard method and server action: group, record access, company."""
        L = "account.analytic.line"
        approved, exported, b_line = self.line_approved.id, self.line_exported.id, self.line_b.id
        unlock = self.env.ref("noko_qbo.account_analytic_line_action_qbo_unlock").id
        preview_action = self.env.ref("noko_qbo.qbo_export_preview_action_from_timesheets").id
        in_a = {"allowed_company_ids": [self.company_a.id]}
        in_b = {"allowed_company_ids": [self.company_b.id]}

        def server_action(action_id, ids, context=None):
            return {
                **(context or {}),
                "active_model": L,
                "active_ids": ids,
                "active_id": ids[0],
            }

        Preview = self.env["qbo.export.preview"]
        PreviewLine = self.env["qbo.export.preview.line"]
        mgr, b_mgr, qbo = self.users["sec_mgr"], self.users["sec_b_mgr"], self.users["sec_qbo"]
        own_preview = Preview.with_user(mgr).create({"company_id": self.company_a.id})
        own_preview._qbo_build(self.line_draft.with_user(mgr))
        forged_a = Preview.with_user(b_mgr).create({"company_id": self.company_a.id})
        forged_b = Preview.with_user(b_mgr).create({"company_id": self.company_b.id})
        forged_qbo = Preview.with_user(qbo).create({"company_id": self.company_a.id})
        for preview in (forged_a, forged_b, forged_qbo):
            preview.write({"count_ready": 1})
            PreviewLine.with_user(preview.create_uid).create(
                {"preview_id": preview.id, "line_id": self.line_draft.id, "status": "ready"}
            )
        forged_fix = PreviewLine.with_user(b_mgr).create(
            {
                "preview_id": forged_b.id,
                "status": "blocked",
                "fix_model": "qbo.project.mapping",
                "fix_res_id": self.pm_a.id,
            }
        )
        forged_fix_run = PreviewLine.with_user(qbo).create(
            {
                "preview_id": forged_qbo.id,
                "status": "blocked",
                "fix_model": "qbo.export",
                "fix_res_id": self.run_a.id,
            }
        )
        Settings = self.env["res.config.settings"]
        settings_b_on_a = Settings.with_user(self.users["sec_b_admin"]).create(
            {"company_id": self.company_a.id, "qbo_new_client_secret": "stolen"}
        )
        settings_a = Settings.with_user(self.users["sec_admin"]).create(
            {"company_id": self.company_a.id}
        )
        self.env.flush_all()
        evil = "http://attacker.invalid"
        draft_now = self.changed(self.line_approved, qbo_state="draft")
        attempts = [
            # Unlock: a manager of another company, by id, by context, by server action
            attempt("unlock A's line", "sec_b_mgr", L, "action_qbo_unlock", [approved]),
            attempt(
                "unlock A's line, A in context",
                "sec_b_mgr",
                L,
                "action_qbo_unlock",
                [approved],
                context=in_a,
            ),
            attempt(
                "unlock A's line, B selected",
                "sec_ab_mgr",
                L,
                "action_qbo_unlock",
                [approved],
                context=in_b,
            ),
            attempt(
                "unlock A and B lines, B selected",
                "sec_ab_mgr",
                L,
                "action_qbo_unlock",
                [approved, b_line],
                context=in_b,
            ),
            attempt(
                "unlock server action on A's line",
                "sec_b_mgr",
                "ir.actions.server",
                "run",
                [unlock],
                context=server_action(unlock, [approved]),
            ),
            attempt(
                "unlock server action, A in context",
                "sec_b_mgr",
                "ir.actions.server",
                "run",
                [unlock],
                context=server_action(unlock, [approved], in_a),
            ),
            attempt(
                "unlock server action, B selected",
                "sec_ab_mgr",
                "ir.actions.server",
                "run",
                [unlock],
                context=server_action(unlock, [approved], in_b),
            ),
            attempt("unlock own approved line", "sec_ts", L, "action_qbo_unlock", [approved]),
            attempt(
                "unlock server action on own line",
                "sec_ts",
                "ir.actions.server",
                "run",
                [unlock],
                context=server_action(unlock, [approved]),
            ),
            attempt(
                "unlock without timesheet rights", "sec_qbo", L, "action_qbo_unlock", [approved]
            ),
            attempt(
                "unlock server action without timesheet rights",
                "sec_qbo",
                "ir.actions.server",
                "run",
                [unlock],
                context=server_action(unlock, [approved]),
            ),
            attempt("unlock B's line from A", "sec_mgr", L, "action_qbo_unlock", [b_line]),
            attempt("unlock an exported line", "sec_mgr", L, "action_qbo_unlock", [exported]),
            attempt("unlock as a plain employee", "sec_plain", L, "action_qbo_unlock", [approved]),
            attempt(
                "unlock, control",
                "sec_mgr",
                L,
                "action_qbo_unlock",
                [approved],
                expect=ALLOWED,
                check=draft_now,
            ),
            attempt(
                "unlock server action, control",
                "sec_mgr",
                "ir.actions.server",
                "run",
                [unlock],
                context=server_action(unlock, [approved]),
                expect=ALLOWED,
                check=draft_now,
            ),
            # the web client's own route for server actions
            *[
                attempt(
                    f"unlock through /web/action/run{label}",
                    login,
                    "/web/action/run",
                    "",
                    kwargs={"action_id": unlock, "context": server_action(unlock, ids, context)},
                    transports=("jsonrpc",),
                )
                for login, ids, context, label in (
                    ("sec_b_mgr", [approved], None, ""),
                    ("sec_b_mgr", [approved], in_a, ", A in context"),
                    ("sec_ab_mgr", [approved], in_b, ", B selected"),
                    ("sec_ts", [approved], None, ", own line"),
                    ("sec_qbo", [approved], None, ", no timesheet rights"),
                )
            ],
            attempt(
                "unlock through /web/action/run, control",
                "sec_mgr",
                "/web/action/run",
                "",
                kwargs={"action_id": unlock, "context": server_action(unlock, [approved])},
                expect=ALLOWED,
                check=draft_now,
                transports=("jsonrpc",),
            ),
            attempt(
                "unlock, both companies selected, control",
                "sec_ab_mgr",
                L,
                "action_qbo_unlock",
                [approved],
                context={"allowed_company_ids": [self.company_b.id, self.company_a.id]},
                expect=ALLOWED,
                check=draft_now,
            ),
            # Export preview (server action of the timesheet list)
            attempt(
                "preview A's lines",
                "sec_b_mgr",
                "qbo.export.preview",
                "action_open_from_timesheets",
                context={"active_model": L, "active_ids": [self.line_draft.id]},
            ),
            attempt(
                "preview A's lines, B selected",
                "sec_ab_mgr",
                "qbo.export.preview",
                "action_open_from_timesheets",
                context={"active_model": L, "active_ids": [self.line_draft.id], **in_b},
            ),
            attempt(
                "preview server action",
                "sec_b_mgr",
                "ir.actions.server",
                "run",
                [preview_action],
                context=server_action(preview_action, [self.line_draft.id]),
            ),
            attempt(
                "preview as timesheet user",
                "sec_ts",
                "qbo.export.preview",
                "action_open_from_timesheets",
                context={"active_model": L, "active_ids": [self.line_draft.id]},
            ),
            attempt(
                "preview server action as timesheet user",
                "sec_ts",
                "ir.actions.server",
                "run",
                [preview_action],
                context=server_action(preview_action, [self.line_draft.id]),
            ),
            attempt(
                "preview without timesheet rights",
                "sec_qbo",
                "qbo.export.preview",
                "action_open_from_timesheets",
                context={"active_model": L, "active_ids": [self.line_draft.id]},
            ),
            attempt(
                "preview the whole filter from B",
                "sec_b_mgr",
                "qbo.export.preview",
                "action_open_from_timesheets",
                context={"active_model": L, "active_ids": [], "active_domain": []},
                expect=ALLOWED,
                check=self._preview_holds_no_line_of_a,
            ),
            # Someone else's preview, forged previews
            attempt(
                "confirm another manager's preview",
                "sec_b_mgr",
                "qbo.export.preview",
                "action_confirm",
                own_preview.ids,
            ),
            attempt(
                "confirm another manager's preview, same company",
                "sec_ab_mgr",
                "qbo.export.preview",
                "action_confirm",
                own_preview.ids,
                context={"allowed_company_ids": [self.company_a.id, self.company_b.id]},
            ),
            attempt(
                "refresh another manager's preview",
                "sec_qbo",
                "qbo.export.preview",
                "action_refresh",
                own_preview.ids,
            ),
            attempt(
                "confirm a forged preview of company A",
                "sec_b_mgr",
                "qbo.export.preview",
                "action_confirm",
                forged_a.ids,
            ),
            attempt(
                "refresh a forged preview of company A",
                "sec_b_mgr",
                "qbo.export.preview",
                "action_refresh",
                forged_a.ids,
            ),
            attempt(
                "confirm a forged preview listing A's line",
                "sec_b_mgr",
                "qbo.export.preview",
                "action_confirm",
                forged_b.ids,
            ),
            attempt(
                "confirm a forged preview without line access",
                "sec_qbo",
                "qbo.export.preview",
                "action_confirm",
                forged_qbo.ids,
            ),
            attempt(
                "open a fix pointing to A's mapping",
                "sec_b_mgr",
                "qbo.export.preview.line",
                "action_open_fix",
                forged_fix.ids,
            ),
            attempt(
                "open a fix pointing to another's run",
                "sec_qbo",
                "qbo.export.preview.line",
                "action_open_fix",
                forged_fix_run.ids,
                expect=ALLOWED,
                check=self.unchanged_answer(lambda answer: answer is False, "opened something"),
            ),
            attempt(
                "confirm, control",
                "sec_mgr",
                "qbo.export.preview",
                "action_confirm",
                own_preview.ids,
                expect=ALLOWED,
                check=self.changed(self.line_draft, qbo_state="approved"),
            ),
            # Mapping screens and buttons
            attempt(
                "project mapping screen", "sec_ts", "qbo.project.mapping", "action_qbo_open_screen"
            ),
            attempt(
                "employee mapping screen",
                "sec_ts",
                "qbo.employee.mapping",
                "action_qbo_open_screen",
            ),
            attempt(
                "project mapping screen, A in context",
                "sec_b_mgr",
                "qbo.project.mapping",
                "action_qbo_open_screen",
                context=in_a,
            ),
            attempt(
                "employee mapping screen, A in context",
                "sec_b_mgr",
                "qbo.employee.mapping",
                "action_qbo_open_screen",
                context=in_a,
            ),
            attempt(
                "open A's project mapping",
                "sec_b_mgr",
                "project.project",
                "action_qbo_open_mapping",
                self.project_a.ids,
            ),
            attempt(
                "open A's project mapping, B selected",
                "sec_ab_mgr",
                "project.project",
                "action_qbo_open_mapping",
                self.project_a.ids,
                context=in_b,
            ),
            attempt(
                "open a project mapping",
                "sec_ts",
                "project.project",
                "action_qbo_open_mapping",
                self.project_a.ids,
            ),
            attempt(
                "open A's employee mapping",
                "sec_b_mgr",
                "hr.employee",
                "action_qbo_open_mapping",
                self.emp_ts.ids,
            ),
            attempt(
                "open A's employee mapping, B selected",
                "sec_ab_mgr",
                "hr.employee",
                "action_qbo_open_mapping",
                self.emp_ts.ids,
                context=in_b,
            ),
            attempt(
                "open an employee mapping",
                "sec_ts",
                "hr.employee",
                "action_qbo_open_mapping",
                self.emp_ts.ids,
            ),
            attempt(
                "open a project mapping, control",
                "sec_qbo",
                "project.project",
                "action_qbo_open_mapping",
                self.project_a.ids,
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda a: a["res_id"] == self.pm_a.id, "not the mapping"
                ),
            ),
            attempt(
                "project mapping screen, control",
                "sec_qbo",
                "qbo.project.mapping",
                "action_qbo_open_screen",
                expect=ALLOWED,
            ),
            attempt(
                "open an employee mapping, control",
                "admin",
                "hr.employee",
                "action_qbo_open_mapping",
                self.emp_ts.ids,
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda a: a["res_id"] == self.em_ts.id, "not the mapping"
                ),
            ),
            attempt(
                "rewrite another manager's preview summary",
                "sec_ab_mgr",
                "qbo.export.preview",
                "write",
                own_preview.ids,
                {"vals": {"summary_html": "<img src=x onerror=alert(1)>"}},
                context={"allowed_company_ids": [self.company_a.id]},
            ),
            attempt(
                "read another manager's preview",
                "sec_ab_mgr",
                "qbo.export.preview.line",
                "search_read",
                kwargs={"domain": [("preview_id", "=", own_preview.id)], "fields": ["problem"]},
                context={"allowed_company_ids": [self.company_a.id]},
                expect=ALLOWED,
                check=self.unchanged_answer(lambda v: v == [], "read another's preview"),
            ),
            # A run's timesheets
            attempt(
                "open another company's run",
                "sec_b_mgr",
                "qbo.export",
                "action_open_timesheets",
                self.run_a.ids,
            ),
            attempt(
                "open another manager's run",
                "sec_qbo",
                "qbo.export",
                "action_open_timesheets",
                self.run_a.ids,
            ),
            attempt("open a run", "sec_ts", "qbo.export", "action_open_timesheets", self.run_a.ids),
            attempt(
                "open a run, B selected",
                "sec_ab_mgr",
                "qbo.export",
                "action_open_timesheets",
                self.run_a.ids,
                context=in_b,
            ),
            attempt(
                "open a run, control",
                "sec_mgr",
                "qbo.export",
                "action_open_timesheets",
                self.run_a.ids,
                expect=ALLOWED,
            ),
            # Settings buttons
            attempt(
                "disconnect A from B's settings",
                "sec_b_admin",
                "res.config.settings",
                "action_qbo_disconnect",
                settings_b_on_a.ids,
            ),
            attempt(
                "connect A from B's settings",
                "sec_b_admin",
                "res.config.settings",
                "action_qbo_connect",
                settings_b_on_a.ids,
            ),
            attempt(
                "sync A's lists from B's settings",
                "sec_b_admin",
                "res.config.settings",
                "action_qbo_sync_lists",
                settings_b_on_a.ids,
            ),
            attempt(
                "test A's connection from B's settings",
                "sec_b_admin",
                "res.config.settings",
                "action_qbo_test_connection",
                settings_b_on_a.ids,
            ),
            attempt(
                "point A at another server from B's settings",
                "sec_b_admin",
                "res.config.settings",
                "write",
                settings_b_on_a.ids,
                {"vals": {"qbo_base_url": evil}},
            ),
            attempt(
                "new settings of A pointing elsewhere",
                "sec_b_admin",
                "res.config.settings",
                "create",
                kwargs={"vals_list": [{"company_id": self.company_a.id, "qbo_base_url": evil}]},
            ),
            attempt(
                "save a new secret for A from B's settings",
                "sec_b_admin",
                "res.config.settings",
                "execute",
                settings_b_on_a.ids,
            ),
            attempt(
                "disconnect from another admin's settings",
                "sec_qbo",
                "res.config.settings",
                "action_qbo_disconnect",
                settings_a.ids,
            ),
            attempt(
                "disconnect as manager",
                "sec_mgr",
                "res.config.settings",
                "action_qbo_disconnect",
                settings_a.ids,
            ),
            attempt(
                "new settings as manager",
                "sec_mgr",
                "res.config.settings",
                "create",
                kwargs={"vals_list": [{"qbo_base_url": evil}]},
            ),
            attempt(
                "settings control",
                "sec_admin",
                "res.config.settings",
                "write",
                settings_a.ids,
                {"vals": {"qbo_base_url": "http://127.0.0.1:1"}},
                expect=ALLOWED,
                check=self.changed(self.company_a, qbo_base_url="http://127.0.0.1:1"),
            ),
            # The company's connection fields, written directly
            attempt(
                "point A at another server",
                "sec_b_admin",
                "res.company",
                "write",
                self.company_a.ids,
                {"vals": {"qbo_base_url": evil}},
            ),
            attempt(
                "swap A's environment",
                "sec_b_admin",
                "res.company",
                "write",
                self.company_a.ids,
                {"vals": {"qbo_environment": "sandbox"}},
            ),
            attempt(
                "swap A's app",
                "sec_b_admin",
                "res.company",
                "write",
                self.company_a.ids,
                {"vals": {"qbo_client_id": "attacker-app", "qbo_client_secret": "attacker"}},
            ),
            attempt(
                "swap A's app, B selected",
                "sec_b_admin",
                "res.company",
                "web_save",
                self.company_a.ids,
                {"vals": {"qbo_client_id": "attacker-app"}, "specification": {}},
            ),
            attempt(
                "A's default item from B",
                "sec_admin",
                "res.company",
                "write",
                self.company_a.ids,
                {"vals": {"qbo_default_item_id": self.item_b.id}},
            ),
            attempt(
                "connection fields as manager",
                "sec_mgr",
                "res.company",
                "write",
                self.company_a.ids,
                {"vals": {"qbo_base_url": evil}},
            ),
            attempt(
                "connection fields, control",
                "sec_admin",
                "res.company",
                "write",
                self.company_a.ids,
                {"vals": {"qbo_base_url": "http://127.0.0.1:2"}},
                expect=ALLOWED,
                check=self.changed(self.company_a, qbo_base_url="http://127.0.0.1:2"),
            ),
            # The cached QuickBooks lists, tokens and authorization states: written by the code only
            *[
                attempt(f"{operation} {model}", login, model, operation, ids, kwargs)
                for model, ids in (
                    ("qbo.customer", self.customer_a.ids),
                    ("qbo.payee", self.payee_a.ids),
                    (
                        "qbo.item",
                        self.env["qbo.item"]
                        .search([("company_id", "=", self.company_a.id)], limit=1)
                        .ids,
                    ),
                    ("qbo.token", self.company_a.sudo()._qbo_token_record().ids),
                )
                for login in ("sec_mgr", "sec_admin", "sec_b_admin")
                for operation, kwargs in (
                    ("write", {"vals": {"name" if model != "qbo.token" else "realm_id": "x"}}),
                    ("unlink", {}),
                )
            ],
            attempt(
                "create a cached customer",
                "sec_admin",
                "qbo.customer",
                "create",
                kwargs={
                    "vals_list": [{"company_id": self.company_a.id, "qbo_id": "x", "name": "x"}]
                },
            ),
            attempt(
                "forge an authorization state",
                "sec_admin",
                "qbo.oauth.state",
                "create",
                kwargs={
                    "vals_list": [
                        {
                            "state_hash": "x",
                            "user_id": self.users["sec_admin"].id,
                            "company_id": self.company_a.id,
                            "expires_at": "2030-01-01 00:00:00",
                        }
                    ]
                },
            ),
            # Private methods are never reachable
            attempt(
                "private disconnect",
                "sec_admin",
                "res.company",
                "_qbo_disconnect",
                self.company_a.ids,
            ),
            attempt(
                "private start",
                "sec_mgr",
                "qbo.export",
                "_qbo_start",
                kwargs={"lines": [self.line_draft.id], "company": self.company_a.id},
            ),
            attempt(
                "private bind",
                "sec_mgr",
                L,
                "_qbo_mark_exported",
                [self.line_draft.id],
                {"qbo_id": "1"},
            ),
        ]
        # The caller's records and context travel differently through each interface:
        # unlocks, server actions and previews go through all three, the rest in turn.
        everywhere = ("action_qbo_unlock", "run", "action_open_from_timesheets")
        self.run_attempts(
            [a._replace(transports=TRANSPORTS) if a.method in everywhere else a for a in attempts]
        )

    def _preview_holds_no_line_of_a(self, case, action):
        preview = self.env["qbo.export.preview"].browse(action["res_id"])
        foreign = preview.line_ids.line_id.filtered(lambda line: line.company_id == self.company_a)
        return f"preview lists A's lines {foreign.ids}" if foreign else None

    def test_quickbooks_side_entry_points_check_the_caller_and_the_records(self):
        """After the export: Remove, Export again, Re-link, Sync from QuickBooks."""
        L, R = "account.analytic.line", "qbo.export.result"
        exported = self.line_exported
        mgr = self.users["sec_mgr"]
        gone = self.line_other.copy({"name": "sec deleted in QBO"})
        run = self.env["qbo.export"].with_user(mgr)._qbo_start(gone.with_user(mgr), self.company_a)
        run.sudo().result_ids._qbo_set_exported("9002", "created")
        gone._qbo_mark_deleted({})
        result = self.run_a.result_ids.filtered(lambda r: r.line_id == exported)
        relink_a = self.env["qbo.relink"].create({"company_id": self.company_a.id})
        Settings = self.env["res.config.settings"]
        settings_a = Settings.with_user(self.users["sec_admin"]).create(
            {"company_id": self.company_a.id}
        )
        settings_b_on_a = Settings.with_user(self.users["sec_b_admin"]).create(
            {"company_id": self.company_a.id}
        )
        self.env.flush_all()
        self.assertEqual(gone.qbo_state, "deleted")
        attempts = [
            # Remove from QuickBooks: the line's action and the run's results
            *(
                attempt(f"remove A's exported line as {login}", login, L, "action_qbo_remove", ids)
                for login in ("sec_ts", "sec_qbo", "sec_plain", "sec_approver", "sec_b_mgr")
                for ids in ([exported.id],)
            ),
            attempt(
                "remove A's line with A in context",
                "sec_b_mgr",
                L,
                "action_qbo_remove",
                [exported.id],
                context={"allowed_company_ids": [self.company_a.id]},
            ),
            attempt("remove a result of A's run", "sec_b_mgr", R, "action_qbo_remove", result.ids),
            attempt(
                "remove a result as a timesheet user", "sec_ts", R, "action_qbo_remove", result.ids
            ),
            attempt(
                "remove A's exported line",
                "sec_mgr",
                L,
                "action_qbo_remove",
                [exported.id],
                expect=ALLOWED,
                check=self.changed(exported, qbo_state="draft", qbo_time_activity_id=False),
            ),
            attempt(
                "remove from the run's results",
                "sec_mgr",
                R,
                "action_qbo_remove",
                result.ids,
                expect=ALLOWED,
                check=self.changed(exported, qbo_state="draft"),
            ),
            # Export again what QuickBooks deleted
            *(
                attempt(
                    f"export again A's deleted line as {login}",
                    login,
                    L,
                    "action_qbo_export_again",
                    gone.ids,
                    context=context,
                )
                for login, context in (
                    ("sec_ts", None),
                    ("sec_qbo", None),
                    ("sec_approver", None),
                    ("sec_b_mgr", None),
                    ("sec_ab_mgr", {"allowed_company_ids": [self.company_b.id]}),  # working in B
                )
            ),
            attempt(
                "export again A's deleted line",
                "sec_mgr",
                L,
                "action_qbo_export_again",
                gone.ids,
                expect=ALLOWED,
                check=self.changed(gone, qbo_state="draft"),
            ),
            # Re-link (the uninstall's undo), an administrator's tool of the company
            *(
                attempt(f"re-link A as {login}", login, "qbo.relink", "action_relink", relink_a.ids)
                for login in ("sec_ts", "sec_plain", "sec_b_mgr", "sec_b_admin")
            ),
            # Sync from QuickBooks (Settings): administrators of the company only
            attempt(
                "sync A's time from A's settings as a non-admin",
                "sec_mgr",
                "res.config.settings",
                "action_qbo_sync_time_activities",
                settings_a.ids,
            ),
            attempt(
                "sync A's time from B's settings",
                "sec_b_admin",
                "res.config.settings",
                "action_qbo_sync_time_activities",
                settings_b_on_a.ids,
            ),
            attempt(
                "sync A's time",
                "sec_admin",
                "res.config.settings",
                "action_qbo_sync_time_activities",
                settings_a.ids,
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda answer: answer.get("tag") == "display_notification", "no notification"
                ),
            ),
        ]
        self.run_attempts(attempts)

    # ------------------------------------------------------------------ 2. mapping grant

    def test_mapping_rows_grant_nothing_on_projects_and_employees(self):
        """QuickBooks managers map through rows of their own: no right on projects/employees."""
        P, E = "project.project", "hr.employee"
        project, employee = self.project_a.ids, self.emp_ts.ids
        other_partner = self.users["sec_ts"].partner_id.ids
        todo = {"act_type_xmlid": "mail.mail_activity_data_todo", "summary": "x"}
        attach = lambda model, res_id: {  # noqa: E731
            "vals_list": [{"name": "x.txt", "res_model": model, "res_id": res_id, "raw": "x"}]
        }
        attempts = []
        for login in ("sec_qbo", "sec_mgr", "sec_b_mgr"):
            attempts += [
                attempt("post on a project", login, P, "message_post", project, {"body": "x"}),
                attempt("post on an employee", login, E, "message_post", employee, {"body": "x"}),
                attempt(
                    "log a note on an employee",
                    login,
                    E,
                    "message_post",
                    employee,
                    {"body": "x", "message_type": "comment", "subtype_xmlid": "mail.mt_note"},
                ),
                attempt(
                    "subscribe someone to a project",
                    login,
                    P,
                    "message_subscribe",
                    project,
                    {"partner_ids": other_partner},
                ),
                attempt(
                    "subscribe someone to an employee",
                    login,
                    E,
                    "message_subscribe",
                    employee,
                    {"partner_ids": other_partner},
                ),
                attempt(
                    "schedule an activity on a project",
                    login,
                    P,
                    "activity_schedule",
                    project,
                    todo,
                ),
                attempt(
                    "schedule an activity on an employee",
                    login,
                    E,
                    "activity_schedule",
                    employee,
                    todo,
                ),
                attempt(
                    "attach to a project",
                    login,
                    "ir.attachment",
                    "create",
                    kwargs=attach(P, self.project_a.id),
                ),
                attempt(
                    "attach to an employee",
                    login,
                    "ir.attachment",
                    "create",
                    kwargs=attach(E, self.emp_ts.id),
                ),
                attempt(
                    "read an HR attachment",
                    login,
                    "ir.attachment",
                    "read",
                    self.hr_attachment.ids,
                    {"fields": ["name", "datas"]},
                ),
                attempt(
                    "read an employee's private email",
                    login,
                    E,
                    "read",
                    employee,
                    {"fields": ["private_email"]},
                ),
                attempt(
                    "read an employee's private address",
                    login,
                    E,
                    "read",
                    employee,
                    {"fields": ["private_street", "private_phone"]},
                ),
                attempt(
                    "read an employee's notes", login, E, "read", employee, {"fields": ["notes"]}
                ),
                attempt(
                    "web_read an employee's private fields",
                    login,
                    E,
                    "web_read",
                    employee,
                    {"specification": {"private_email": {}, "ssnid": {}}},
                ),
                attempt("rename a project", login, P, "write", project, {"vals": {"name": "x"}}),
                attempt(
                    "set a project's partner",
                    login,
                    P,
                    "write",
                    project,
                    {"vals": {"partner_id": other_partner[0]}},
                ),
                attempt("rename an employee", login, E, "write", employee, {"vals": {"name": "x"}}),
            ]
        attempts += [
            attempt(
                "self-follow a readable project (Odoo's standard for employees)",
                login,
                P,
                "message_subscribe",
                project,
                {"partner_ids": self.users[login].partner_id.ids},
                expect=ALLOWED,
            )
            for login in ("sec_plain", "sec_qbo")
        ]
        attempts += [
            attempt(
                "follow an employee",
                "sec_qbo",
                E,
                "message_subscribe",
                employee,
                {"partner_ids": self.users["sec_qbo"].partner_id.ids},
                expect=ALLOWED,
                check=self._not_following_employee,
            ),
        ]
        self.run_attempts(attempts)

    def _not_following_employee(self, case, value):
        partner = self.users["sec_qbo"].partner_id
        followers = self.env["mail.followers"].search(
            [
                ("res_model", "=", "hr.employee"),
                ("res_id", "=", self.emp_ts.id),
                ("partner_id", "=", partner.id),
            ]
        )
        return "follows the employee" if followers else None

    def test_mappings_stay_within_their_company(self):
        """A mapping points to its own company's QBO records, and keeps its project or employee."""
        PM, EM = "qbo.project.mapping", "qbo.employee.mapping"
        spec = {"customer_id": {}}
        attempts = [
            attempt(
                "A's project to B's customer",
                "sec_mgr",
                PM,
                "write",
                self.pm_a.ids,
                {"vals": {"customer_id": self.customer_b.id}},
            ),
            attempt(
                "A's project to B's customer (web_save)",
                "sec_mgr",
                PM,
                "web_save",
                self.pm_a.ids,
                {"vals": {"customer_id": self.customer_b.id}, "specification": spec},
            ),
            attempt(
                "A's project to B's customer, both selected",
                "sec_ab_mgr",
                PM,
                "write",
                self.pm_a.ids,
                {"vals": {"customer_id": self.customer_b.id}},
                context={"allowed_company_ids": [self.company_a.id, self.company_b.id]},
            ),
            attempt(
                "A's project to B's item",
                "sec_mgr",
                PM,
                "write",
                self.pm_a.ids,
                {"vals": {"item_id": self.item_b.id}},
            ),
            attempt(
                "A's employee to B's payee",
                "sec_mgr",
                EM,
                "write",
                self.em_ts.ids,
                {"vals": {"payee_id": self.payee_b.id}},
            ),
            attempt(
                "B's mapping moved onto A's project",
                "sec_b_mgr",
                PM,
                "write",
                self.pm_b.ids,
                {
                    "vals": {
                        "project_id": self.project_a3.id,
                        "company_id": self.company_a.id,
                        "customer_id": self.customer_a.id,
                    }
                },
            ),
            attempt(
                "B's mapping moved onto A's employee",
                "sec_b_mgr",
                EM,
                "write",
                self.em_b.ids,
                {"vals": {"employee_id": self.emp_unmapped.id, "payee_id": self.payee_a.id}},
            ),
            attempt(
                "B's mapping moved to company A",
                "sec_b_mgr",
                PM,
                "write",
                self.pm_b.ids,
                {"vals": {"company_id": self.company_a.id}},
            ),
            attempt(
                "a mapping moved onto another company's project",
                "sec_mgr",
                PM,
                "write",
                self.pm_a2.ids,
                {"vals": {"project_id": self.project_b.id}},
            ),
            attempt(
                "a mapping moved onto another project",
                "sec_mgr",
                PM,
                "write",
                self.pm_a2.ids,
                {"vals": {"project_id": self.project_a3.id}},
            ),
            attempt(
                "a mapping moved onto another employee",
                "sec_mgr",
                EM,
                "web_save",
                self.em_other.ids,
                {"vals": {"employee_id": self.emp_unmapped.id}, "specification": {}},
            ),
            attempt(
                "a mapping moved onto another company's employee",
                "sec_mgr",
                EM,
                "write",
                self.em_other.ids,
                {"vals": {"employee_id": self.emp_b.id}},
            ),
            attempt(
                "read A's mapping",
                "sec_b_mgr",
                PM,
                "read",
                self.pm_a.ids,
                {"fields": ["customer_id"]},
            ),
            attempt(
                "read A's mapping, B selected",
                "sec_ab_mgr",
                PM,
                "read",
                self.pm_a.ids,
                {"fields": ["customer_id"]},
                context={"allowed_company_ids": [self.company_b.id]},
            ),
            attempt(
                "map as a timesheet user",
                "sec_ts",
                PM,
                "write",
                self.pm_a.ids,
                {"vals": {"customer_id": self.customer_a.id}},
            ),
            attempt(
                "read a mapping as a timesheet user",
                "sec_ts",
                EM,
                "read",
                self.em_ts.ids,
                {"fields": ["payee_id"]},
            ),
            attempt(
                "create a mapping",
                "sec_mgr",
                PM,
                "create",
                kwargs={
                    "vals_list": [
                        {"project_id": self.project_a2.id, "company_id": self.company_a.id}
                    ]
                },
            ),
            attempt("delete a mapping", "sec_mgr", EM, "unlink", self.em_ts.ids),
            attempt(
                "map, control",
                "sec_qbo",
                PM,
                "write",
                self.pm_a.ids,
                {"vals": {"customer_id": self.customer_a.id}},
                expect=ALLOWED,
                check=self.changed(self.pm_a, customer_id=self.customer_a.id),
            ),
            attempt(
                "map an employee, control",
                "sec_qbo",
                EM,
                "write",
                self.em_ts.ids,
                {"vals": {"payee_id": self.payee_a.id}},
                expect=ALLOWED,
                check=self.changed(self.em_ts, payee_id=self.payee_a.id),
            ),
        ]
        self.run_attempts(attempts)

    # ------------------------------------------------------------------ 4. create guard

    def test_bookkeeping_values_are_set_by_the_export_only(self):
        L = "account.analytic.line"
        base = {
            "name": "forged",
            "project_id": self.project_a.id,
            "employee_id": self.emp_ts.id,
            "unit_amount": 1.0,
            "date": "2025-03-05",
        }
        forged = [
            {"qbo_state": "approved"},
            {"qbo_state": "exported"},
            {"qbo_time_activity_id": "draft"},
            {"qbo_time_activity_id": "9001"},
            {"qbo_realm_id": self.sandbox.realm_id},
            {"qbo_export_id": self.run_a.id},
            {"qbo_error": "made up"},
            {"qbo_state": "draft", "qbo_time_activity_id": "77"},
        ]
        attempts = []
        for login in ("sec_ts", "sec_mgr", "admin"):
            for values in forged:
                label = ", ".join(f"{k}={v}" for k, v in values.items())
                attempts += [
                    attempt(
                        f"create with {label}",
                        login,
                        L,
                        "create",
                        kwargs={"vals_list": [{**base, **values}]},
                    ),
                    attempt(
                        f"web_save new with {label}",
                        login,
                        L,
                        "web_save",
                        [],
                        {"vals": {**base, **values}, "specification": {}},
                    ),
                    attempt(
                        f"copy with {label}",
                        login,
                        L,
                        "copy",
                        self.line_draft.ids,
                        {"default": values},
                    ),
                    attempt(
                        f"write {label}", login, L, "write", self.line_draft.ids, {"vals": values}
                    ),
                ]
            attempts += [
                attempt(
                    "draft from exported",
                    login,
                    L,
                    "write",
                    self.line_exported.ids,
                    {"vals": {"qbo_state": "draft"}},
                ),
                attempt(
                    "forget the TimeActivity",
                    login,
                    L,
                    "write",
                    self.line_exported.ids,
                    {"vals": {"qbo_time_activity_id": False}},
                ),
                attempt(
                    "edit an exported line",
                    login,
                    L,
                    "web_save",
                    self.line_exported.ids,
                    {"vals": {"unit_amount": 9}, "specification": {}},
                ),
                attempt("delete an exported line", login, L, "unlink", self.line_exported.ids),
                attempt(
                    "create inside a task",
                    login,
                    "project.task",
                    "write",
                    self.task_a.ids,
                    {"vals": {"timesheet_ids": [(0, 0, {**base, "qbo_state": "exported"})]}},
                ),
                attempt(
                    "import a line",
                    login,
                    L,
                    "load",
                    kwargs={
                        "fields": [
                            "name",
                            "project_id/.id",
                            "employee_id/.id",
                            "unit_amount",
                            "qbo_state",
                        ],
                        "data": [
                            [
                                "imported",
                                str(self.project_a.id),
                                str(self.emp_ts.id),
                                "1",
                                "exported",
                            ]
                        ],
                    },
                    expect=ALLOWED,
                    check=self._nothing_imported,
                ),
                attempt(
                    "create a draft line, control",
                    login,
                    L,
                    "create",
                    kwargs={"vals_list": [{**base, "qbo_state": "draft"}]},
                    expect=ALLOWED,
                ),
                attempt(
                    "copy an exported line, control",
                    login,
                    L,
                    "copy",
                    self.line_exported.ids,
                    expect=ALLOWED,
                    check=self._copy_is_draft,
                )
                if login != "sec_ts"
                else attempt(
                    "copy, control",
                    login,
                    L,
                    "copy",
                    self.line_draft.ids,
                    expect=ALLOWED,
                    check=self._copy_is_draft,
                ),
            ]
        self.run_attempts(attempts)

    def _nothing_imported(self, case, answer):
        found = self.env["account.analytic.line"].search([("name", "=", "imported")])
        if found:
            return f"imported {found.mapped('qbo_state')}"
        return None if answer.get("messages") else "no error reported"

    def _copy_is_draft(self, case, ids):
        copy = self.env["account.analytic.line"].browse(ids)
        values = copy.read(
            ["qbo_state", "qbo_time_activity_id", "qbo_realm_id", "qbo_export_id", "qbo_error"]
        )[0]
        if values["qbo_state"] != "draft" or any(
            values[k] for k in values if k not in ("id", "qbo_state")
        ):
            return f"copy carries {values}"
        return None

    # ------------------------------------------------------------------ 5. export history

    def test_export_history_is_written_by_the_export_only(self):
        """Runs, results and their system messages: nobody edits them, whatever the role."""
        run, result = self.run_a.ids, self.run_a.result_ids[:1].ids
        summary = self.summary.ids
        roles = (
            "sec_ts",
            "sec_qbo",
            "sec_mgr",
            "sec_approver",
            "sec_admin",
            "sec_b_mgr",
            "sec_b_admin",
            "admin",
        )
        attempts = []
        for login in roles:
            attempts += [
                attempt(
                    "write a run", login, "qbo.export", "write", run, {"vals": {"state": "done"}}
                ),
                attempt(
                    "web_save a run",
                    login,
                    "qbo.export",
                    "web_save",
                    run,
                    {"vals": {"failure_message": "x"}, "specification": {}},
                ),
                attempt("copy a run", login, "qbo.export", "copy", run),
                attempt(
                    "create a run",
                    login,
                    "qbo.export",
                    "create",
                    kwargs={"vals_list": [{"company_id": self.company_a.id}]},
                ),
                attempt("delete a run", login, "qbo.export", "unlink", run),
                attempt(
                    "write a result",
                    login,
                    "qbo.export.result",
                    "write",
                    result,
                    {"vals": {"state": "exported"}},
                ),
                attempt(
                    "create a result",
                    login,
                    "qbo.export.result",
                    "create",
                    kwargs={"vals_list": [{"export_id": self.run_a.id, "state": "exported"}]},
                ),
                attempt("delete a result", login, "qbo.export.result", "unlink", result),
                attempt("copy a result", login, "qbo.export.result", "copy", result),
                attempt(
                    "rewrite the run's summary",
                    login,
                    "mail.message",
                    "write",
                    summary,
                    {"vals": {"body": "all fine"}},
                ),
                attempt("delete the run's summary", login, "mail.message", "unlink", summary),
                attempt(
                    "attach to a run",
                    login,
                    "ir.attachment",
                    "create",
                    kwargs={
                        "vals_list": [
                            {
                                "name": "x",
                                "res_model": "qbo.export",
                                "res_id": self.run_a.id,
                                "raw": "x",
                            }
                        ]
                    },
                ),
            ]
        for login in ("sec_ts", "sec_qbo", "sec_b_mgr", "sec_plain", "sec_approver"):
            attempts.append(
                attempt(
                    "comment on a run one cannot read",
                    login,
                    "qbo.export",
                    "message_post",
                    run,
                    {"body": "x"},
                )
            )
        for login in ("sec_mgr", "sec_admin"):
            attempts.append(
                attempt(
                    "comment on a run (readers may)",
                    login,
                    "qbo.export",
                    "message_post",
                    run,
                    {"body": "mapping fixed"},
                    expect=ALLOWED,
                )
            )
        self.run_attempts(attempts)

    # ------------------------------------------------------------------ 6. who reads runs

    def test_runs_results_and_their_chatter_are_read_by_their_readers_only(self):
        run = self.run_a.ids
        X, R, M, L = "qbo.export", "qbo.export.result", "mail.message", "account.analytic.line"
        on_runs = [("model", "=", X)]
        empty = self.unchanged_answer(
            lambda v: v in ([], 0, {"length": 0, "groups": []}), "read something"
        )
        only_own = self.unchanged_answer(lambda v: v == self.run_qbo.ids, "not only own runs")
        attempts = []
        for login in ("sec_ts", "sec_plain"):
            attempts += [
                attempt("read a run", login, X, "read", run, {"fields": ["name"]}),
                attempt(
                    "web_read a run", login, X, "web_read", run, {"specification": {"name": {}}}
                ),
                attempt("search runs", login, X, "search", kwargs={"domain": []}),
                attempt(
                    "read results",
                    login,
                    R,
                    "search_read",
                    kwargs={"domain": [], "fields": ["message"]},
                ),
                attempt(
                    "read a run's summary", login, M, "read", self.summary.ids, {"fields": ["body"]}
                ),
                attempt(
                    "read the line's run",
                    login,
                    L,
                    "read",
                    self.line_approved.ids,
                    {"fields": ["qbo_export_id"]},
                ),
                attempt(
                    "web_read the line's run",
                    login,
                    L,
                    "web_read",
                    self.line_approved.ids,
                    {"specification": {"qbo_export_id": {"fields": {"display_name": {}}}}},
                ),
                attempt(
                    "search lines by run",
                    login,
                    L,
                    "search",
                    kwargs={"domain": [("qbo_export_id", "!=", False)]},
                ),
                attempt(
                    "search lines by run name",
                    login,
                    L,
                    "search",
                    kwargs={"domain": [("qbo_export_id.name", "ilike", "export")]},
                ),
                attempt(
                    "group lines by run",
                    login,
                    L,
                    "formatted_read_group",
                    kwargs={
                        "domain": [],
                        "groupby": ["qbo_export_id"],
                        "aggregates": ["unit_amount:sum"],
                    },
                ),
                attempt(
                    "export lines' run",
                    login,
                    L,
                    "export_data",
                    self.line_approved.ids,
                    {"fields_to_export": ["qbo_export_id/name"]},
                ),
                attempt(
                    "search run messages",
                    login,
                    M,
                    "search_read",
                    kwargs={"domain": on_runs, "fields": ["body"]},
                    expect=ALLOWED,
                    check=empty,
                ),
                attempt(
                    "count run messages",
                    login,
                    M,
                    "search_count",
                    kwargs={"domain": on_runs},
                    expect=ALLOWED,
                    check=empty,
                ),
            ]
        attempts.append(
            attempt(
                "read the run of one's own line",
                "sec_ts",
                L,
                "read",
                self.line_approved.ids,
                {"fields": ["qbo_state", "name"]},
                expect=ALLOWED,
            )
        )
        thread = {"thread_model": X, "thread_id": self.run_a.id}
        of_run = set(self.run_a.message_ids.ids)
        no_message = self.unchanged_answer(
            lambda v: not set(v["messages"]) & of_run, "run messages came back"
        )
        route = ("jsonrpc",)
        for login in ("sec_ts", "sec_qbo", "sec_b_mgr", "sec_approver", "sec_plain"):
            attempts += [
                attempt("read a run", login, X, "read", run, {"fields": ["name"]})
                if login in ("sec_qbo", "sec_b_mgr", "sec_approver")
                else None,
                attempt(
                    "a run's chatter (route)",
                    login,
                    "/mail/thread/messages",
                    "",
                    kwargs=thread,
                    expect=ALLOWED,
                    check=no_message,
                    transports=route,
                ),
                attempt(
                    "post on a run (route)",
                    login,
                    "/mail/message/post",
                    "",
                    kwargs={**thread, "post_data": {"body": "x", "message_type": "comment"}},
                    transports=route,
                ),
                attempt(
                    "follow a run (route)",
                    login,
                    "/mail/thread/subscribe",
                    "",
                    kwargs={
                        "res_model": X,
                        "res_id": self.run_a.id,
                        "partner_ids": self.users[login].partner_id.ids,
                    },
                    transports=route,
                ),
                attempt(
                    "follow a run",
                    login,
                    X,
                    "message_subscribe",
                    run,
                    {"partner_ids": self.users[login].partner_id.ids},
                    expect=ALLOWED,
                    check=self.no_change,
                ),
            ]
        attempts = [item for item in attempts if item]
        attempts += [
            attempt(
                "a run's chatter, control (route)",
                "sec_mgr",
                "/mail/thread/messages",
                "",
                kwargs=thread,
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda v: self.summary.id in v["messages"], "no summary"
                ),
                transports=route,
            ),
            attempt(
                "subscribe a timesheet user to a run",
                "sec_mgr",
                X,
                "message_subscribe",
                run,
                {"partner_ids": self.users["sec_ts"].partner_id.ids},
            ),
            attempt(
                "subscribe a timesheet user to a run (route)",
                "sec_mgr",
                "/mail/thread/subscribe",
                "",
                kwargs={
                    "res_model": X,
                    "res_id": self.run_a.id,
                    "partner_ids": self.users["sec_ts"].partner_id.ids,
                },
                transports=route,
            ),
            attempt(
                "unsubscribe the run's manager",
                "sec_admin",
                X,
                "message_unsubscribe",
                run,
                {"partner_ids": self.users["sec_mgr"].partner_id.ids},
            ),
        ]
        for login, runs_b in (("sec_b_mgr", self.run_b.ids), ("sec_qbo", self.run_qbo.ids)):
            attempts += [
                attempt("read another's run", login, X, "read", run, {"fields": ["name"]}),
                attempt(
                    "read another's run's results",
                    login,
                    R,
                    "read",
                    self.run_a.result_ids.ids,
                    {"fields": ["message"]},
                ),
                attempt(
                    "read another's run's summary",
                    login,
                    M,
                    "read",
                    self.summary.ids,
                    {"fields": ["body"]},
                ),
                attempt(
                    "search another's run messages",
                    login,
                    M,
                    "search",
                    kwargs={"domain": [("model", "=", X), ("res_id", "=", self.run_a.id)]},
                    expect=ALLOWED,
                    check=empty,
                ),
                attempt(
                    "search runs: own only",
                    login,
                    X,
                    "search",
                    kwargs={"domain": []},
                    expect=ALLOWED,
                    check=self.unchanged_answer(
                        lambda v, own=runs_b: v == own, "not only own runs"
                    ),
                ),
            ]
        attempts += [
            attempt(
                "results of own runs only",
                "sec_qbo",
                R,
                "search",
                kwargs={"domain": []},
                expect=ALLOWED,
                check=empty,
            ),
            attempt(
                "search runs: own only (B selected)",
                "sec_ab_mgr",
                X,
                "search",
                kwargs={"domain": [("company_id", "=", self.company_a.id)]},
                context={"allowed_company_ids": [self.company_b.id]},
                expect=ALLOWED,
                check=empty,
            ),
            attempt(
                "QBO-only manager reads own run",
                "sec_qbo",
                X,
                "search",
                kwargs={"domain": [("company_id", "=", self.company_a.id)]},
                expect=ALLOWED,
                check=only_own,
            ),
            attempt(
                "approver reads every run of A",
                "sec_mgr",
                X,
                "search",
                kwargs={"domain": []},
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda v: set(v) == set((self.run_a | self.run_qbo).ids), "not every run of A"
                ),
            ),
            attempt(
                "approver reads the summary",
                "sec_mgr",
                M,
                "read",
                self.summary.ids,
                {"fields": ["body"]},
                expect=ALLOWED,
            ),
            attempt(
                "admin reads every run of A",
                "sec_admin",
                X,
                "search",
                kwargs={"domain": []},
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda v: set(v) == set((self.run_a | self.run_qbo).ids), "not every run of A"
                ),
            ),
        ]
        self.run_attempts(attempts)

    # ------------------------------------------------------------------ tokens and secrets

    def test_tokens_and_secrets_stay_with_the_companys_admins(self):
        C, T = "res.company", "qbo.token"
        a = self.company_a.ids
        secrets = ["qbo_client_secret", "qbo_access_token", "qbo_refresh_token"]
        values = [self.company_a.sudo()[name] for name in secrets]
        self.assertTrue(all(values))

        def no_secret(value):
            text = json.dumps(value, default=str)
            return not any(secret in text for secret in values)

        clean = self.unchanged_answer(no_secret, "a secret came back")
        attempts = []
        for login in (
            "sec_ts",
            "sec_qbo",
            "sec_mgr",
            "sec_plain",
            "sec_b_mgr",
            "sec_b_admin",
            "sec_ab_mgr",
        ):
            for name in secrets:
                attempts += [
                    attempt(f"read {name}", login, C, "read", a, {"fields": [name]}),
                    attempt(
                        f"search_read {name}",
                        login,
                        C,
                        "search_read",
                        kwargs={"domain": [("id", "=", a[0])], "fields": [name]},
                    ),
                    attempt(
                        f"web_read {name}", login, C, "web_read", a, {"specification": {name: {}}}
                    ),
                    attempt(
                        f"export {name}", login, C, "export_data", a, {"fields_to_export": [name]}
                    ),
                ]
            attempts += [
                attempt(
                    "group by the client secret",
                    login,
                    C,
                    "formatted_read_group",
                    kwargs={"domain": [], "groupby": ["qbo_client_secret"]},
                ),
                attempt(
                    "search by the client secret",
                    login,
                    C,
                    "search",
                    kwargs={"domain": [("qbo_client_secret", "=like", values[0][:1] + "%")]},
                ),
                attempt("read every field", login, C, "read", a, expect=ALLOWED, check=clean)
                if login not in ("sec_b_mgr",)
                else attempt(
                    "read another company",
                    login,
                    C,
                    "read",
                    a,
                    {"fields": ["name", "qbo_realm_id"]},
                ),
                attempt(
                    "search_read every field",
                    login,
                    C,
                    "search_read",
                    kwargs={"domain": []},
                    expect=ALLOWED,
                    check=clean,
                ),
                attempt(
                    "describe the fields",
                    login,
                    C,
                    "fields_get",
                    kwargs={"attributes": ["type", "string", "default"]},
                    expect=ALLOWED,
                    check=self.unchanged_answer(
                        lambda v: not set(v) & set(secrets), "secrets described"
                    ),
                ),
                attempt(
                    "token rows, no secret asked",
                    login,
                    T,
                    "search_read",
                    kwargs={"domain": [], "fields": ["company_id", "realm_id", "needs_reconnect"]},
                )
                if login != "sec_b_admin"
                else attempt(
                    "token rows, no secret asked",
                    login,
                    T,
                    "search",
                    kwargs={"domain": []},
                    expect=ALLOWED,
                    check=self.unchanged_answer(lambda v: v == [], "another company's token row"),
                ),
                attempt(
                    "token rows",
                    login,
                    T,
                    "search_read",
                    kwargs={"domain": [], "fields": ["access_token", "refresh_token"]},
                    expect=REFUSED,
                )
                if login != "sec_b_admin"
                else attempt(
                    "token rows",
                    login,
                    T,
                    "search_read",
                    kwargs={"domain": [], "fields": ["access_token", "refresh_token"]},
                    expect=ALLOWED,
                    check=clean,
                ),
                attempt(
                    "group token rows",
                    login,
                    T,
                    "formatted_read_group",
                    kwargs={"domain": [], "groupby": ["refresh_token"]},
                    expect=REFUSED,
                )
                if login != "sec_b_admin"
                else attempt(
                    "group token rows",
                    login,
                    T,
                    "formatted_read_group",
                    kwargs={"domain": [], "groupby": ["company_id"]},
                    expect=ALLOWED,
                    check=clean,
                ),
                attempt(
                    "settings defaults",
                    login,
                    "res.config.settings",
                    "default_get",
                    kwargs={
                        "fields": [
                            "qbo_has_client_secret",
                            "qbo_new_client_secret",
                            "qbo_client_id",
                        ]
                    },
                    expect=ALLOWED,
                    check=clean,
                ),
            ]
        attempts += [
            attempt(
                "own admin reads the tokens, control",
                "sec_admin",
                C,
                "read",
                a,
                {"fields": secrets},
                expect=ALLOWED,
                check=self.unchanged_answer(lambda v: not no_secret(v), "no secret"),
            ),
            attempt(
                "own admin reads the token row, control",
                "sec_admin",
                T,
                "search_read",
                kwargs={"domain": [], "fields": ["refresh_token"]},
                expect=ALLOWED,
                check=self.unchanged_answer(lambda v: not no_secret(v), "no token"),
            ),
        ]
        self.run_attempts(attempts)

    # ------------------------------------------------------------------ the rest of the table

    def test_rights_table_lines_mappings_lists_and_health(self):
        """The rows of readme/SECURITY.md the other tables do not cover."""
        L, C = "account.analytic.line", "res.company"
        PM, EM = "qbo.project.mapping", "qbo.employee.mapping"
        draft, other = self.line_draft.ids, self.line_other.ids
        empty = self.unchanged_answer(lambda v: v in ([], 0), "found something")
        found = self.unchanged_answer(lambda v: bool(v), "found nothing")
        health = ["qbo_realm_id", "qbo_connected", "qbo_company_name", "qbo_last_message"]
        attempts = [
            # timesheet lines
            attempt(
                "edit own draft line",
                "sec_ts",
                L,
                "write",
                draft,
                {"vals": {"unit_amount": 3}},
                expect=ALLOWED,
                check=self.changed(self.line_draft, unit_amount=3.0),
            ),
            attempt(
                "edit someone else's draft line",
                "sec_ts",
                L,
                "write",
                other,
                {"vals": {"unit_amount": 3}},
            ),
            attempt("read someone else's line", "sec_ts", L, "read", other, {"fields": ["name"]}),
            attempt(
                "approver edits any draft line",
                "sec_approver",
                L,
                "write",
                other,
                {"vals": {"unit_amount": 3}},
                expect=ALLOWED,
                check=self.changed(self.line_other, unit_amount=3.0),
            ),
            attempt(
                "read lines without timesheet rights",
                "sec_qbo",
                L,
                "read",
                draft,
                {"fields": ["qbo_state"]},
            ),
            attempt(
                "search lines without timesheet rights",
                "sec_qbo",
                L,
                "search",
                kwargs={"domain": []},
            ),
            attempt(
                "read another company's lines", "sec_b_mgr", L, "read", draft, {"fields": ["name"]}
            ),
            attempt(
                "search another company's lines",
                "sec_b_mgr",
                L,
                "search",
                kwargs={"domain": [("company_id", "=", self.company_a.id)]},
                expect=ALLOWED,
                check=empty,
            ),
            attempt(
                "own line's QuickBooks state and problem",
                "sec_ts",
                L,
                "read",
                self.line_exported.ids,
                {"fields": ["qbo_state", "qbo_time_activity_id", "qbo_error"]},
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda v: v[0]["qbo_time_activity_id"] == "9001", "no TimeActivity"
                ),
            ),
            attempt(
                "the line's run, exporter",
                "sec_mgr",
                L,
                "read",
                self.line_approved.ids,
                {"fields": ["qbo_export_id"]},
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda v: v[0]["qbo_export_id"][0] == self.run_a.id, "no run"
                ),
            ),
            attempt(
                "the line's run, approver",
                "sec_approver",
                L,
                "read",
                self.line_approved.ids,
                {"fields": ["qbo_export_id"]},
            ),
            *[
                attempt(
                    f"{label} an approved line", login, L, method, self.line_approved.ids, kwargs
                )
                for login in ("sec_ts", "sec_mgr", "sec_approver", "admin")
                for label, method, kwargs in (
                    ("edit", "write", {"vals": {"unit_amount": 9}}),
                    ("redate", "write", {"vals": {"date": "2025-04-01"}}),
                    ("move", "write", {"vals": {"project_id": self.project_a2.id}}),
                    ("delete", "unlink", {}),
                )
            ],
            # mappings
            attempt(
                "map, exporter",
                "sec_mgr",
                PM,
                "write",
                self.pm_a.ids,
                {"vals": {"without_customer": True}},
                expect=ALLOWED,
                check=self.changed(self.pm_a, without_customer=True),
            ),
            attempt(
                "map, settings admin",
                "sec_admin",
                EM,
                "write",
                self.em_ts.ids,
                {"vals": {"payee_id": self.payee_a.id}},
                expect=ALLOWED,
                check=self.changed(self.em_ts, payee_id=self.payee_a.id),
            ),
            attempt(
                "map, approver",
                "sec_approver",
                PM,
                "write",
                self.pm_a.ids,
                {"vals": {"without_customer": True}},
            ),
            attempt(
                "map, plain employee",
                "sec_plain",
                EM,
                "write",
                self.em_ts.ids,
                {"vals": {"payee_id": self.payee_a.id}},
            ),
            attempt(
                "map another company's project",
                "sec_b_mgr",
                PM,
                "write",
                self.pm_a.ids,
                {"vals": {"without_customer": True}},
            ),
            attempt(
                "mapping rows of another company",
                "sec_b_mgr",
                PM,
                "search",
                kwargs={"domain": [("company_id", "=", self.company_a.id)]},
                expect=ALLOWED,
                check=empty,
            ),
            # employees' private data
            *[
                attempt(
                    "an employee's private fields",
                    login,
                    "hr.employee",
                    "read",
                    self.emp_ts.ids,
                    {"fields": ["private_email", "notes"]},
                )
                for login in ("sec_ts", "sec_plain", "sec_admin", "sec_approver")
            ],
            attempt(
                "an HR attachment (Odoo: settings admins read every attachment)",
                "sec_admin",
                "ir.attachment",
                "read",
                self.hr_attachment.ids,
                {"fields": ["name"]},
                expect=ALLOWED,
            ),
            *[
                attempt(
                    "an HR attachment",
                    login,
                    "ir.attachment",
                    "read",
                    self.hr_attachment.ids,
                    {"fields": ["name"]},
                )
                for login in ("sec_ts", "sec_approver", "sec_plain", "sec_b_admin")
            ],
            # cached QuickBooks lists
            attempt(
                "customers, QuickBooks manager",
                "sec_qbo",
                "qbo.customer",
                "search",
                kwargs={"domain": []},
                expect=ALLOWED,
                check=found,
            ),
            attempt(
                "payees, settings admin",
                "sec_admin",
                "qbo.payee",
                "search",
                kwargs={"domain": []},
                expect=ALLOWED,
                check=found,
            ),
            attempt(
                "customers, timesheet user",
                "sec_ts",
                "qbo.customer",
                "search",
                kwargs={"domain": []},
            ),
            attempt("items, approver", "sec_approver", "qbo.item", "search", kwargs={"domain": []}),
            attempt(
                "customers of another company",
                "sec_b_mgr",
                "qbo.customer",
                "search",
                kwargs={"domain": [("company_id", "=", self.company_a.id)]},
                expect=ALLOWED,
                check=empty,
            ),
            # connection health
            attempt(
                "connection health, QuickBooks manager",
                "sec_qbo",
                C,
                "read",
                self.company_a.ids,
                {"fields": health},
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda v: v[0]["qbo_connected"] and v[0]["qbo_realm_id"], "not connected"
                ),
            ),
            attempt(
                "connection health, timesheet user",
                "sec_ts",
                C,
                "read",
                self.company_a.ids,
                {"fields": ["qbo_connected"]},
            ),
            attempt(
                "connection health, approver",
                "sec_approver",
                C,
                "read",
                self.company_a.ids,
                {"fields": ["qbo_realm_id"]},
            ),
            attempt(
                "connection health of another company",
                "sec_b_mgr",
                C,
                "read",
                self.company_a.ids,
                {"fields": ["qbo_realm_id"]},
            ),
            # runs: readers comment and follow
            attempt(
                "comment on own run",
                "sec_qbo",
                "qbo.export",
                "message_post",
                self.run_qbo.ids,
                {"body": "checked"},
                expect=ALLOWED,
            ),
            attempt(
                "follow a run, exporter",
                "sec_mgr",
                "qbo.export",
                "message_subscribe",
                self.run_qbo.ids,
                {"partner_ids": self.users["sec_mgr"].partner_id.ids},
                expect=ALLOWED,
                check=self.unchanged_answer(lambda v: v is True, "not followed"),
            ),
            attempt(
                "test the connection, control",
                "sec_admin",
                "res.config.settings",
                "action_qbo_test_connection",
                self.env["res.config.settings"].with_user(self.users["sec_admin"]).create({}).ids,
                expect=ALLOWED,
            ),
        ]
        self.run_attempts(attempts)


@tagged("post_install", "-at_install")
class TestOAuthCallbackAttacks(SecurityHttpMixin, HttpCase):
    """The callback over real HTTP: a bad callback changes nothing and tells its own user only."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._security_setup_connected()
        cls.other_realm = cls.sandbox.seed({"CompanyInfo": {"CompanyName": "Someone Else Inc"}})

    def setUp(self):
        super().setUp()
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", self.base_url())

    def consent(self, login):
        """Settings' Connect as ``login``, then Intuit's consent: the redirect's parameters."""
        company = self.company_a.with_user(self.users[login])
        url = company._qbo_action_connect()["url"]
        answer = requests.get(url, allow_redirects=False, timeout=10)
        self.assertEqual(answer.status_code, 302)
        return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}

    def callback(self, login, params):
        if login:
            self.authenticate(login, login if login != "admin" else "admin")
        else:
            self.opener.cookies.clear()
        query = "&".join(f"{k}={quote(v)}" for k, v in params.items())
        return self.url_open(f"/noko_qbo/oauth/callback?{query}", allow_redirects=False)

    def connection(self):
        self.env.invalidate_all()
        company = self.company_a.sudo()
        token = company._qbo_token_record()
        return {
            "realm": company.qbo_realm_id,
            "message": company.qbo_last_message,
            "kind": company.qbo_last_message_type,
            "name": company.qbo_company_name,
            "refresh": token.refresh_token,
            "access": token.access_token,
            "lists": self.env["qbo.customer"]
            .sudo()
            .search_count([("company_id", "=", company.id)]),
        }

    def assertRefused(self, answer, fragment, before):
        self.assertEqual(answer.status_code, 400, answer.text[:500])
        self.assertIn(fragment, answer.text)
        self.assertEqual(self.connection(), before)

    def test_bad_callbacks_change_nothing(self):
        before = self.connection()
        self.assertTrue(before["refresh"] and before["message"] and before["lists"])
        admin_params = self.consent("sec_admin")
        cases = [
            (
                "sec_ts",
                {"state": "forged", "code": "x", "realmId": self.sandbox.realm_id},
                "Unknown authorization state",
            ),
            ("sec_ts", {"code": "x", "realmId": self.sandbox.realm_id}, "no authorization state"),
            ("sec_ts", admin_params, "someone else"),
            ("sec_b_admin", admin_params, "someone else"),
            ("sec_mgr", admin_params, "someone else"),
            (
                "sec_admin",
                {**admin_params, "state": admin_params["state"] + "x"},
                "Unknown authorization state",
            ),
            ("sec_admin", {**admin_params, "realmId": self.other_realm}, "did not grant access"),
        ]
        for login, params, fragment in cases:
            with self.subTest(login=login, fragment=fragment):
                self.assertRefused(self.callback(login, params), fragment, before)
        # the forged realm burnt that state: a fresh one with a denied consent
        self.sandbox.deny_next_authorize()
        denied = self.consent("sec_admin")
        self.assertRefused(self.callback("sec_admin", denied), "access_denied", before)
        # a code that does not exchange
        params = self.consent("sec_admin")
        self.assertRefused(
            self.callback("sec_admin", {**params, "code": "not-a-code"}), "QuickBooks", before
        )

    def test_the_admins_state_survives_other_users_attempts(self):
        before = self.connection()
        params = self.consent("sec_admin")
        self.assertRefused(self.callback("sec_ts", params), "someone else", before)
        self.assertRefused(self.callback("sec_b_admin", params), "someone else", before)
        answer = self.callback("sec_admin", params)
        self.assertEqual(answer.status_code, 303, answer.text[:500])
        after = self.connection()
        self.assertNotEqual(after["refresh"], before["refresh"])
        self.assertEqual(after["realm"], self.sandbox.realm_id)

    # ------------------------------------------------------------------ 8. logs

    @contextmanager
    def captured_logs(self):
        """Every record of the request log and of our loggers, as finally formatted."""
        records = []

        class Keep(logging.Handler):
            def emit(self, record):
                records.append(record.getMessage())

        handler = Keep(logging.DEBUG)
        loggers = [logging.getLogger(n) for n in ("werkzeug", "odoo.addons.noko_qbo", "odoo.http")]
        levels = [logger.level for logger in loggers]
        for logger in loggers:
            logger.addHandler(handler)
            logger.setLevel(logging.DEBUG)
        try:
            yield records
        finally:
            for logger, level in zip(loggers, levels, strict=True):
                logger.removeHandler(handler)
                logger.setLevel(level)

    def assertNoSecretLogged(self, records, *secrets):
        self.assertTrue(records, "nothing logged: the capture is broken")
        leaks = [text for text in records for secret in secrets if secret in text]
        self.assertFalse(leaks)

    def test_codes_and_states_stay_out_of_the_logs(self):
        params = self.consent("sec_admin")
        with self.captured_logs() as records:
            answer = self.callback("sec_admin", params)
            self.assertEqual(answer.status_code, 303)
        self.assertTrue(any("/noko_qbo/oauth/callback" in text for text in records))
        self.assertNoSecretLogged(records, params["code"], params["state"])
        # refused ones too
        with self.captured_logs() as records:
            answer = self.callback("sec_ts", params)
            self.assertEqual(answer.status_code, 400)
        self.assertNoSecretLogged(records, params["code"], params["state"])

    def test_a_callback_without_session_keeps_the_code_out_of_the_logs(self):
        """Logged out (session expired): Odoo sends the browser to the login page with the
        callback URL, code and state in its query: that request line is redacted too."""
        params = self.consent("sec_admin")
        with self.captured_logs() as records:
            answer = self.callback(None, params)
            self.assertIn(answer.status_code, (302, 303))
            login_url = answer.headers["Location"]
            self.assertIn("/web/login", login_url)
            self.url_open(login_url, allow_redirects=False)
        self.assertTrue(any("/web/login" in text for text in records))
        self.assertNoSecretLogged(records, params["code"], params["state"])
        self.assertFalse([t for t in records if re.search(r"code(=|%3D)", t, re.IGNORECASE)])
