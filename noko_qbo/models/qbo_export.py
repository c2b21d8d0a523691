"""One export run: approved timesheet lines sent to QBO by background jobs.

Confirming a preview creates the run, approves and locks its lines and
enqueues a chain of jobs on the ``root.noko_qbo`` channel: one job per chunk
of lines (in date order, see ``qbo_export_send``), then one job that sums up.
The run and its results are an audit trail: users read them, only the export
code writes them (as superuser, after the caller's rights were checked).
"""

from collections import defaultdict

from odoo import api, fields, models

from odoo.addons.queue_job.delay import chain
from odoo.addons.queue_job.job import identity_exact

from ..const import (
    CHUNK_SIZE_PARAM,
    DEFAULT_CHUNK_SIZE,
    MANAGER_GROUP,
    RESULT_PRIORITY,
    RESULT_STATES,
    RUN_STATES,
    SUMMARY_LINES,
)
from .qbo_access import check_caller
from .qbo_user_message import count_lines


class QboExport(models.Model):
    _name = "qbo.export"
    _inherit = ["mail.thread"]
    _description = "QuickBooks Online export run"
    _order = "id desc"
    _check_company_auto = True
    # Readers may comment on a run ("mapping fixed, exported again"); nobody edits it.
    _mail_post_access = "read"

    name = fields.Char(readonly=True, copy=False, default="/")
    state = fields.Selection(
        RUN_STATES, required=True, default="queued", readonly=True, tracking=True, index=True
    )
    user_id = fields.Many2one(
        "res.users",
        string="Started by",
        required=True,
        readonly=True,
        default=lambda self: self.env.user,
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        default=lambda self: self.env.company,
    )
    date_done = fields.Datetime("Finished on", readonly=True)
    failure_message = fields.Text(readonly=True)
    result_ids = fields.One2many("qbo.export.result", "export_id", string="Results", readonly=True)
    timesheet_ids = fields.One2many(
        "account.analytic.line", "qbo_export_id", string="Timesheet Lines", readonly=True
    )
    count_total = fields.Integer("Lines", compute="_compute_counts", store=True)
    count_exported = fields.Integer("Exported", compute="_compute_counts", store=True)
    count_skipped = fields.Integer("Skipped", compute="_compute_counts", store=True)
    count_failed = fields.Integer("Need attention", compute="_compute_counts", store=True)
    count_pending = fields.Integer("Waiting", compute="_compute_counts", store=True)
    causes_html = fields.Html(
        "By cause", compute="_compute_causes_html", sanitize=False, groups=MANAGER_GROUP
    )
    origin_id = fields.Many2one(
        "qbo.export",
        string="Waiting lines of",
        readonly=True,
        index="btree_not_null",
        help="The run whose waiting lines this run exports again.",
    )
    schedule_id = fields.Many2one(
        "qbo.export.schedule", string="Scheduled by", readonly=True, ondelete="set null"
    )

    @api.depends("result_ids.state")
    def _compute_counts(self):
        counts = {
            (export.id, state): count
            for export, state, count in self.env["qbo.export.result"]._read_group(
                [("export_id", "in", self.ids)], ["export_id", "state"], ["__count"]
            )
        }
        for run in self:
            by_state = {
                state: counts.get((run.id, state), 0)
                for state in ("pending", "exported", "skipped", "failed")
            }
            run.count_total = sum(by_state.values())
            run.count_exported = by_state["exported"]
            run.count_skipped = by_state["skipped"]
            run.count_failed = by_state["failed"]
            run.count_pending = by_state["pending"]

    def _compute_causes_html(self):
        for run in self:
            run.causes_html = self.env["ir.qweb"]._render(
                "noko_qbo.qbo_export_causes", {"causes": run._qbo_causes()}
            )

    def _qbo_causes(self):
        """The results not exported, one row per cause (problems first, then the most lines).

        ``[{"state", "state_label", "cause", "lines", "hours"}]``: the run's form and
        its chatter summary show the same table, as the preview groups its problems.
        """
        self.ensure_one()
        labels = dict(RESULT_STATES)
        groups = (
            self.env["qbo.export.result"]
            .sudo()
            ._read_group(
                [("export_id", "=", self.id), ("state", "!=", "exported")],
                ["state", "cause"],
                ["__count", "unit_amount:sum"],
            )
        )
        rows = [
            {
                "state": state,
                "state_label": labels[state],
                "cause": cause or labels[state],
                "lines": count_lines(self.env, count),
                "count": count,
                "hours": hours,
            }
            for state, cause, count, hours in groups
        ]
        return sorted(rows, key=lambda row: (RESULT_PRIORITY.index(row["state"]), -row["count"]))

    @api.model_create_multi
    def create(self, vals_list):
        runs = super().create(vals_list)
        for run in runs:
            if run.name == "/":
                run.name = self.env._("QuickBooks export %(number)s", number=f"{run.id:05d}")
        return runs

    # ------------------------------------------------------------------ confirm

    @api.model
    def _qbo_start(self, lines, company, plans=None, values=None):
        """Approve and lock ``lines`` and enqueue their export: the run, or an error.

        ``lines`` are the previewed lines, read-access checked by the caller;
        those the skip rule leaves alone are recorded as skipped. All of it in
        the caller's transaction: either every line is approved and the jobs are
        queued, or nothing happened. ``plans`` (``_qbo_time_activity_plans``,
        made by the caller): the blocked lines are approved and recorded as
        needing attention at once, with their reason, and not sent to the jobs.
        ``values``: more fields of the run.
        """
        lines = lines.sudo().exists()
        lines._qbo_lock_rows()
        lines.invalidate_recordset(["qbo_state", "qbo_time_activity_id", "company_id"])
        lines.fetch(["company_id", "qbo_state", "qbo_time_activity_id", "unit_amount"])
        run = self.sudo().create(
            {"company_id": company.id, "user_id": self.env.uid, **(values or {})}
        )
        run.message_subscribe(partner_ids=self.env.user.partner_id.ids)
        skipped = {}
        for line in lines:
            if skip := line._qbo_skip_reason(company):
                skipped[line] = skip
        pending = self.env["qbo.export.result"].sudo()._qbo_create_for(run, lines, skipped)
        (lines - lines.browse([line.id for line in skipped]))._qbo_mark_approved(run)
        if plans:
            pending -= run._qbo_fail_blocked(pending, plans)
        run._qbo_enqueue(pending)
        return run.sudo(self.env.su)

    def _qbo_fail_blocked(self, pending, plans):
        """Blocked lines need attention at once, one write per reason (they stay approved);
        returns their results."""
        by_message = defaultdict(list)
        for result in pending:
            plan = plans.get(result.line_id.id)
            if plan and plan.blocked:
                by_message[result._qbo_blocked_message(plan)].append(result.id)
        for message, ids in by_message.items():
            pending.browse(ids)._qbo_set_failed(message)
        return pending.browse([result_id for ids in by_message.values() for result_id in ids])

    def _qbo_chunk_size(self):
        param = self.env["ir.config_parameter"].sudo().get_param(CHUNK_SIZE_PARAM)
        return max(1, int(param or DEFAULT_CHUNK_SIZE))

    def _qbo_enqueue(self, pending):
        """One job per chunk of the ``pending`` results (in date order: a chunk's
        reconciliation looks up few dates), chained so one run sends one chunk at a
        time, then a summary job.
        """
        self.ensure_one()
        size = self._qbo_chunk_size()
        chunks = [pending[start : start + size] for start in range(0, len(pending), size)]
        delayables = [
            self.delayable(
                identity_key=identity_exact,
                description=self.env._(
                    "%(run)s: lines %(first)s-%(last)s",
                    run=self.name,
                    first=index * size + 1,
                    last=index * size + len(chunk),
                ),
            )._qbo_export_chunk(chunk)
            for index, chunk in enumerate(chunks)
        ]
        delayables.append(
            self.delayable(
                identity_key=identity_exact,
                description=self.env._("%(run)s: summary", run=self.name),
            )._qbo_finish()
        )
        chain(*delayables).delay()

    # ------------------------------------------------------------------ completion

    def _qbo_finish(self):
        """Job: close the run and tell the user who started it."""
        self.ensure_one()
        pending = self.result_ids.filtered(lambda result: result.state == "pending")
        if pending:  # a chunk job went missing: say so rather than stay "running"
            pending._qbo_set_failed(self.env._("Not sent: its background job did not run."))
        self.flush_recordset()
        self.invalidate_recordset(["count_failed"])
        if self.state != "failed":
            self.state = "done_with_errors" if self.count_failed else "done"
        self.date_done = fields.Datetime.now()
        self._qbo_notify()
        return self.state

    def _qbo_on_job_failed(self, exc_info=None, exc_name=None, exc_message=None):
        """queue_job's on-fail hook: a job gave up (retries exhausted, bug): say so."""
        for run in self:
            reason = self.env._(
                "A background job of this export failed: %(error)s. The lines not sent are "
                "still approved; export them again once the cause is fixed.",
                error=exc_message or exc_name or "?",
            )
            run.write({"state": "failed", "failure_message": reason})
            run._qbo_notify()

    def _qbo_notify(self):
        """Summary in the chatter, an email to the user who started the run, a toast."""
        template = self.env.ref("noko_qbo.mail_template_qbo_export_done", False)
        for run in self:
            run.message_post_with_source(
                "noko_qbo.qbo_export_summary",
                render_values={"summary": run._qbo_summary_text(), "causes": run._qbo_causes()},
                subtype_xmlid="noko_qbo.mt_qbo_export_done",
                partner_ids=run.user_id.partner_id.ids,
            )
            if template:
                template.sudo().send_mail(run.id, email_layout_xmlid="mail.mail_notification_light")
            run.user_id._bus_send(
                "simple_notification",
                {
                    "type": "success" if run.state == "done" else "warning",
                    "title": run.name,
                    "message": run._qbo_summary_text(),
                },
            )

    def _qbo_summary_text(self):
        """The run in one sentence (chatter, toast, the integrators' answer)."""
        self.ensure_one()
        return self.env._(
            "Out of %(total)s: %(exported)s exported, %(skipped)s skipped, %(failed)s "
            "needing attention.",
            exported=self.count_exported,
            skipped=self.count_skipped,
            failed=self.count_failed,
            total=count_lines(self.env, self.count_total),
        )

    def _qbo_totals(self):
        """The email's totals: ``[(label, "3 lines")]``, the counts that are not zero."""
        self.ensure_one()
        fields_ = ("count_exported", "count_failed", "count_pending", "count_skipped")
        return [
            (
                self._fields[name].get_description(self.env)["string"],
                count_lines(self.env, self[name]),
            )
            for name in fields_
            if self[name]
        ]

    def _qbo_record_unlock(self, lines):
        """Chatter trace on each run whose approved lines a manager unlocked."""
        for run in self:
            unlocked = lines.filtered(lambda line, run=run: line.qbo_export_id == run)
            run.message_post_with_source(
                "noko_qbo.qbo_export_unlock_note",
                render_values={
                    "lines": unlocked,
                    "count": count_lines(self.env, len(unlocked)),
                    "shown": SUMMARY_LINES,
                    "user": self.env.user,
                },
                subtype_xmlid="mail.mt_note",
            )

    # ------------------------------------------------------------------ actions

    def _qbo_action_open(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(False, "form")],
            "target": "current",
        }

    def action_open_timesheets(self):
        self.ensure_one()
        check_caller(self)
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": "account.analytic.line",
            "view_mode": "list,form",
            "domain": [("id", "in", self.sudo().result_ids.line_id.ids)],
            "context": {"create": False},
        }
