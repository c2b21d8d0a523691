"""Scheduled exports: a company's saved timesheet filter exported every week or month.

Optional: no schedule exists until a QuickBooks manager creates one. The daily
cron (``ir_cron_qbo_export_schedules``) runs the due ones, each as its chosen
user (``with_user``: that user's rights and record rules, not ``sudo``), with
the preview's rules (``qbo.export._qbo_export_matching``).
"""

import logging

from dateutil.relativedelta import relativedelta

from odoo import api, fields, models
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.tools.safe_eval import datetime, safe_eval, time

from ..const import MANAGER_GROUP, SCHEDULE_INTERVALS
from .qbo_user_message import count_lines

_logger = logging.getLogger(__name__)

_STEP = {"weekly": relativedelta(weeks=1), "monthly": relativedelta(months=1)}


class QboExportSchedule(models.Model):
    _name = "qbo.export.schedule"
    _description = "QuickBooks Online scheduled export"
    _order = "company_id, next_run, id"
    _check_company_auto = True

    name = fields.Char(required=True)
    active = fields.Boolean(default=True)
    company_id = fields.Many2one(
        "res.company", required=True, index=True, default=lambda self: self.env.company
    )
    filter_id = fields.Many2one(
        "ir.filters",
        string="Timesheets filter",
        required=True,
        ondelete="restrict",
        domain=[("model_id", "=", "account.analytic.line")],
        help="A saved filter of timesheets (Timesheets > Filters > Save current search): "
        "its lines not in QuickBooks yet are exported.",
    )
    interval = fields.Selection(SCHEDULE_INTERVALS, required=True, default="weekly")
    user_id = fields.Many2one(
        "res.users",
        string="Export as",
        required=True,
        default=lambda self: self.env.user,
        help="A QuickBooks manager of the company: the export sees the lines this user "
        "may read, and this user receives the email.",
    )
    next_run = fields.Date("Next export on", required=True, default=fields.Date.context_today)
    last_run = fields.Datetime("Last export on", readonly=True)
    last_export_id = fields.Many2one("qbo.export", string="Last export", readonly=True)
    last_message = fields.Char(readonly=True)

    @api.constrains("user_id", "company_id")
    def _check_user(self):
        for schedule in self:
            user, company = schedule.user_id.sudo(), schedule.company_id
            if not user.has_group(MANAGER_GROUP) or company not in user.company_ids:
                raise ValidationError(
                    self.env._(
                        "%(user)s is not a QuickBooks manager of %(company)s: a scheduled "
                        "export runs as a QuickBooks manager of its company.",
                        user=user.name,
                        company=company.name,
                    )
                )

    @api.constrains("filter_id")
    def _check_filter(self):
        for schedule in self:
            if schedule.filter_id.model_id != "account.analytic.line":
                raise ValidationError(
                    self.env._(
                        "The filter %(filter)s is not a filter of timesheets.",
                        filter=schedule.filter_id.name,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._qbo_check_export_as(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._qbo_check_export_as(vals)
        return super().write(vals)

    @api.model
    def _qbo_check_export_as(self, vals):
        """Exporting as someone else exports what they may read: administrators only."""
        user_id = vals.get("user_id")
        if user_id and user_id != self.env.uid and not (self.env.su or self.env.is_admin()):
            raise AccessError(
                self.env._("Only administrators can schedule an export as another user.")
            )

    # ------------------------------------------------------------------ cron

    @api.model
    def _qbo_cron_run_due(self):
        """Daily: run the schedules due today; each committed on its own (``_commit_progress``)."""
        due = self.sudo().search([("next_run", "<=", fields.Date.context_today(self))])
        self.env["ir.cron"]._commit_progress(remaining=len(due))
        for schedule in due:
            schedule._qbo_run()
            if not self.env["ir.cron"]._commit_progress(1):
                break

    def _qbo_run(self):
        """Export the filter's lines as the schedule's user; record what happened, move on."""
        self.ensure_one()
        run = self.env["qbo.export"]
        try:
            with self.env.cr.savepoint():
                Export = run.with_user(self.user_id).with_company(self.company_id)
                run = Export._qbo_export_matching(
                    self._qbo_domain(),
                    self.company_id,
                    values={"schedule_id": self.id},
                )
            message = self._qbo_started_message(run.sudo())
        except (UserError, AccessError, ValidationError, ValueError) as exc:
            _logger.warning("Scheduled QuickBooks export %s not run: %s", self.id, exc)
            message = exc.args[0] if exc.args else str(exc)
        self.write(
            {
                "last_run": fields.Datetime.now(),
                "last_export_id": run.id or self.last_export_id.id,
                "last_message": message,
                "next_run": self._qbo_next_date(),
            }
        )

    def _qbo_started_message(self, run):
        if not run:
            return self.env._("Nothing to export.")
        return self.env._(
            "%(run)s started with %(lines)s (%(failed)s needing attention).",
            run=run.name,
            lines=count_lines(self.env, run.count_total),
            failed=run.count_failed,
        )

    def _qbo_domain(self):
        """The filter's domain, evaluated for the schedule's user as the web client would
        (``uid``, ``context_today()``, ``relativedelta``: "last month" stays relative)."""
        self.ensure_one()
        user = self.user_id
        return safe_eval(
            self.filter_id.sudo().domain or "[]",
            {
                "uid": user.id,
                "user": user,
                "context_today": lambda: fields.Date.context_today(self.with_user(user)),
                "relativedelta": relativedelta,
                "datetime": datetime,
                "time": time,
            },
        )

    def _qbo_next_date(self):
        """The first date after today in the schedule's rhythm (missed runs are not caught up)."""
        self.ensure_one()
        today = fields.Date.context_today(self)
        date = self.next_run
        while date <= today:
            date += _STEP[self.interval]
        return date
