"""Locked lines against recomputation, from the outside: every path that would change them.

A change elsewhere (a project's partner, a task's project, an employee's user)
makes Odoo recompute the lines' stored fields. On approved and exported lines
the recomputation keeps the old value, or the change that triggered it is
refused naming the locked lines where keeping the value would break Odoo's
own links. Draft lines follow as usual (each path has that control).
"""

from odoo.tests import HttpCase, tagged

from .test_security_http import ALLOWED, SecurityHttpMixin, attempt

LINE = "account.analytic.line"


@tagged("post_install", "-at_install")
class TestLineLockRecompute(SecurityHttpMixin, HttpCase):
    qbo_connect_on_setup = False  # nothing here talks to QuickBooks

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._qbo_setup_class()
        cls._security_setup()
        env = cls.env
        A = cls.company_a
        Line = env[LINE]
        cls.emp_link = env["hr.employee"].create({"name": "Sec Link Person", "company_id": A.id})
        cls.task_move = env["project.task"].create(
            {"name": "Task with locked time", "project_id": cls.project_a.id}
        )
        cls.task_free = env["project.task"].create(
            {"name": "Task with draft time", "project_id": cls.project_a.id}
        )

        def line(name, task=None, employee=None):
            return Line.create(
                {
                    "name": name,
                    "employee_id": (employee or cls.emp_link).id,
                    "project_id": cls.project_a.id,
                    "task_id": task.id if task else False,
                    "unit_amount": 1.0,
                    "date": "2025-03-04",
                }
            )

        cls.link_locked = line("link locked", cls.task_move)
        cls.link_exported = line("link exported", cls.task_move)
        cls.link_draft = line("link draft", cls.task_move)
        cls.free_draft = line("free draft", cls.task_free)
        mgr = cls.users["sec_mgr"]
        run = (
            env["qbo.export"]
            .with_user(mgr)
            ._qbo_start((cls.link_locked | cls.link_exported).with_user(mgr), A)
        )
        run.sudo().result_ids.filtered(lambda r: r.line_id == cls.link_exported)._qbo_set_exported(
            "9101", "created"
        )
        cls.locked = cls.link_locked | cls.link_exported | cls.line_approved | cls.line_exported
        cls.new_user = cls.users["sec_plain"]
        env.flush_all()

    def lines_keep(self, lines=None, **values):
        """Check: the locked lines still have ``values``; returns the problem, if any."""
        lines = lines or self.locked

        def check(case, answer):
            lines.invalidate_recordset()
            for line in lines.sudo():
                found = {
                    name: line[name].id if hasattr(line[name], "_name") else line[name]
                    for name in values
                }
                if found != values:
                    return f"locked line {line.name!r} changed: {found} instead of {values}"
            return None

        return check

    @staticmethod
    def both(*checks):
        def check(case, answer):
            return next((p for c in checks if (p := c(case, answer))), None)

        return check

    def draft_follows(self, line, **values):
        """Check (control): a draft line took ``values``."""
        return self.changed(line, **values)

    @staticmethod
    def names_a_locked_line(case, message):
        return (
            None
            if "You cannot change the timesheet line 2025-03-0" in message
            else f"names no line: {message[:200]}"
        )

    def test_recomputations_never_change_locked_lines(self):
        partner, partner2 = self.partner_a.id, self.partner_a2.id
        a2 = self.project_a2.id
        keep_partner = self.lines_keep(partner_id=partner)
        attempts = [
            # a project's partner: the lines keep the partner they were approved with
            attempt(
                "change the project's partner",
                "admin",
                "project.project",
                "write",
                self.project_a.ids,
                {"vals": {"partner_id": partner2}},
                expect=ALLOWED,
                check=self.both(
                    keep_partner, self.draft_follows(self.line_other, partner_id=partner2)
                ),
            ),
            attempt(
                "empty the project's partner",
                "admin",
                "project.project",
                "write",
                self.project_a.ids,
                {"vals": {"partner_id": False}},
                expect=ALLOWED,
                check=self.both(
                    keep_partner, self.draft_follows(self.line_other, partner_id=False)
                ),
            ),
            attempt(
                "change the project's partner (web_save)",
                "admin",
                "project.project",
                "web_save",
                self.project_a.ids,
                {"vals": {"partner_id": partner2}, "specification": {}},
                expect=ALLOWED,
                check=keep_partner,
            ),
            attempt(
                "change the task's partner",
                "admin",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"partner_id": partner2}},
                expect=ALLOWED,
                check=self.both(
                    self.lines_keep(self.link_locked | self.link_exported, partner_id=partner),
                    self.draft_follows(self.link_draft, partner_id=partner2),
                ),
            ),
            # a task moved to another project: refused, naming the locked lines
            attempt(
                "move the task to another project",
                "admin",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"project_id": a2}},
                check=self.names_a_locked_line,
            ),
            attempt(
                "move the task (web_save)",
                "admin",
                "project.task",
                "web_save",
                self.task_move.ids,
                {"vals": {"project_id": a2}, "specification": {}},
                check=self.names_a_locked_line,
            ),
            attempt(
                "move the task as its manager",
                "sec_mgr",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"project_id": a2}},
            ),
            attempt(
                "move both tasks",
                "admin",
                "project.task",
                "write",
                (self.task_free | self.task_move).ids,
                {"vals": {"project_id": a2}},
                check=self.names_a_locked_line,
            ),
            attempt(
                "move a task with draft time only, control",
                "admin",
                "project.task",
                "write",
                self.task_free.ids,
                {"vals": {"project_id": a2}},
                expect=ALLOWED,
                check=self.draft_follows(self.free_draft, project_id=a2),
            ),
            # an employee linked to a user: the lines keep their user
            attempt(
                "link the employee to a user",
                "admin",
                "hr.employee",
                "write",
                self.emp_link.ids,
                {"vals": {"user_id": self.new_user.id}},
                expect=ALLOWED,
                check=self.both(
                    self.lines_keep(self.link_locked | self.link_exported, user_id=False),
                    self.draft_follows(self.link_draft, user_id=self.new_user.id),
                ),
            ),
            attempt(
                "link the user to the employee",
                "admin",
                "res.users",
                "write",
                self.new_user.ids,
                {"vals": {"employee_ids": [(4, self.emp_link.id)]}},
                expect=ALLOWED,
                check=self.lines_keep(self.link_locked | self.link_exported, user_id=False),
            ),
            attempt(
                "give the employee another user",
                "admin",
                "hr.employee",
                "write",
                self.emp_ts.ids,
                {"vals": {"user_id": self.new_user.id}},
                expect=ALLOWED,
                check=self.lines_keep(
                    self.line_approved | self.line_exported, user_id=self.users["sec_ts"].id
                ),
            ),
            attempt(
                "unlink the employee's user",
                "admin",
                "hr.employee",
                "write",
                self.emp_ts.ids,
                {"vals": {"user_id": False}},
                expect=ALLOWED,
                check=self.lines_keep(
                    self.line_approved | self.line_exported, user_id=self.users["sec_ts"].id
                ),
            ),
            # deleting what a locked line points to would empty it (ON DELETE SET NULL)
            attempt(
                "delete the employee",
                "admin",
                "hr.employee",
                "unlink",
                self.emp_link.ids,
                check=self.names_a_locked_line,
            ),
            attempt(
                "delete the project's partner",
                "admin",
                "res.partner",
                "unlink",
                [partner],
                check=self.names_a_locked_line,
            ),
            attempt("delete the task", "admin", "project.task", "unlink", self.task_move.ids),
            attempt("delete the project", "admin", "project.project", "unlink", self.project_a.ids),
            attempt(
                "delete an employee with draft time only, control",
                "admin",
                "hr.employee",
                "unlink",
                self.emp_unmapped.ids,
                expect=ALLOWED,
            ),
            # writes through the task's and project's timesheet lists (x2many inverses)
            attempt(
                "edit a locked line from its task",
                "admin",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"timesheet_ids": [(1, self.link_locked.id, {"unit_amount": 8})]}},
                check=self.names_a_locked_line,
            ),
            attempt(
                "remove a locked line from its task",
                "admin",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"timesheet_ids": [(3, self.link_locked.id)]}},
                check=self.names_a_locked_line,
            ),
            attempt(
                "delete a locked line from its task",
                "admin",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"timesheet_ids": [(2, self.link_locked.id)]}},
            ),
            attempt(
                "empty the task's timesheets",
                "admin",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"timesheet_ids": [(5,)]}},
            ),
            attempt(
                "replace the task's timesheets",
                "admin",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"timesheet_ids": [(6, 0, [])]}},
            ),
            attempt(
                "empty the project's timesheets",
                "admin",
                "project.project",
                "write",
                self.project_a.ids,
                {"vals": {"timesheet_ids": [(5,)]}},
            ),
            attempt(
                "move a locked line to another task",
                "admin",
                "project.task",
                "write",
                self.task_free.ids,
                {"vals": {"timesheet_ids": [(4, self.link_locked.id)]}},
            ),
            attempt(
                "edit a draft line from its task, control",
                "admin",
                "project.task",
                "write",
                self.task_move.ids,
                {"vals": {"timesheet_ids": [(1, self.link_draft.id, {"unit_amount": 8})]}},
                expect=ALLOWED,
                check=self.draft_follows(self.link_draft, unit_amount=8.0),
            ),
            # the project's company
            attempt(
                "move the project to company B",
                "admin",
                "project.project",
                "write",
                self.project_a.ids,
                {"vals": {"company_id": self.company_b.id}},
            ),
        ]
        self.run_attempts(attempts, every_transport=True)

    def test_onchange_on_a_locked_line_changes_nothing(self):
        spec = {
            name: {}
            for name in (
                "project_id",
                "task_id",
                "employee_id",
                "user_id",
                "partner_id",
                "unit_amount",
                "amount",
                "name",
                "date",
                "account_id",
                "company_id",
            )
        }
        other_task = self.env["project.task"].create(
            {"name": "Elsewhere", "project_id": self.project_a2.id}
        )
        changes = [
            {"project_id": self.project_a2.id},
            {"task_id": other_task.id},
            {"task_id": False},
            {"employee_id": self.emp_other.id},
            {"unit_amount": 7.5},
            {"date": "2025-03-09"},
            {"name": "rewritten"},
            {"project_id": self.project_a2.id, "task_id": other_task.id},
        ]
        nothing = self.unchanged_answer(lambda answer: not answer.get("value"), "changes came back")
        attempts = []
        for login in ("admin", "sec_mgr", "sec_ts"):
            for line in (self.line_approved, self.line_exported):
                for values in changes:
                    attempts.append(
                        attempt(
                            f"onchange {list(values)} on {line.name}",
                            login,
                            LINE,
                            "onchange",
                            line.ids,
                            {"values": values, "field_names": list(values), "fields_spec": spec},
                            expect=ALLOWED,
                            check=nothing,
                        )
                    )
        attempts += [
            attempt(
                "onchange of another company's line",
                "sec_b_mgr",
                LINE,
                "onchange",
                self.line_approved.ids,
                {"values": {"unit_amount": 1}, "field_names": ["unit_amount"], "fields_spec": spec},
            ),
            attempt(
                "onchange on a draft line, control",
                "sec_ts",
                LINE,
                "onchange",
                self.line_draft.ids,
                {
                    "values": {"project_id": self.project_a2.id},
                    "field_names": ["project_id"],
                    "fields_spec": spec,
                },
                expect=ALLOWED,
                check=self.unchanged_answer(
                    lambda answer: "task_id" in answer.get("value", {}), "no change on a draft line"
                ),
            ),
        ]
        self.run_attempts(attempts)
