"""One export run: approved timesheet lines sent to QBO by background jobs.

Confirming a preview creates the run, approves and locks its lines and
enqueues a chain of jobs on the ``root.noko_qbo`` channel: one job per chunk
of lines (in date order), then one job that sums up. Each job is one
transaction (queue_job 19 forbids commits), so a chunk's bookkeeping is
written as soon as QBO answers; every chunk first asks QBO which of its lines
it already holds (the client's reconciliation by deterministic markers), so a
chunk re-run after a crash, a retry or a rollback never sends a line twice.
"""

import logging

from markupsafe import Markup, escape

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.delay import chain
from odoo.addons.queue_job.exception import RetryableJobError
from odoo.addons.queue_job.job import identity_exact

from ..qbo.errors import QboFault, ReconnectNeeded
from .account_analytic_line import plan_is_blocked

_logger = logging.getLogger(__name__)

#: Lines per job: a crash costs at most one chunk's bookkeeping (then reconciled), and
#: a chunk (17 batches of 30) fits in an HTTP worker's time limit even when throttled.
DEFAULT_CHUNK_SIZE = 500
#: How many lines needing attention the summary message lists.
SUMMARY_LINES = 50


class QboExport(models.Model):
    _name = "qbo.export"
    _inherit = ["mail.thread"]
    _description = "QuickBooks Online export run"
    _order = "id desc"
    _check_company_auto = True

    name = fields.Char(readonly=True, copy=False, default="/")
    state = fields.Selection(
        [
            ("queued", "Queued"),
            ("running", "Running"),
            ("done", "Done"),
            ("done_with_errors", "Done with problems"),
            ("failed", "Failed"),
        ],
        required=True,
        default="queued",
        readonly=True,
        tracking=True,
        index=True,
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
    line_ids = fields.One2many("qbo.export.line", "export_id", string="Results", readonly=True)
    timesheet_ids = fields.One2many(
        "account.analytic.line", "qbo_export_id", string="Timesheet Lines", readonly=True
    )
    count_total = fields.Integer("Lines", compute="_compute_counts", store=True)
    count_exported = fields.Integer("Exported", compute="_compute_counts", store=True)
    count_skipped = fields.Integer("Skipped", compute="_compute_counts", store=True)
    count_failed = fields.Integer("Need attention", compute="_compute_counts", store=True)
    count_pending = fields.Integer("Waiting", compute="_compute_counts", store=True)

    @api.depends("line_ids.state")
    def _compute_counts(self):
        counts = {
            (export.id, state): count
            for export, state, count in self.env["qbo.export.line"]._read_group(
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

    @api.model_create_multi
    def create(self, vals_list):
        runs = super().create(vals_list)
        for run in runs:
            if run.name == "/":
                run.name = self.env._("QuickBooks export %(number)s", number=f"{run.id:05d}")
        return runs

    # ------------------------------------------------------------------ confirm

    @api.model
    def _qbo_start(self, lines, company):
        """Approve and lock ``lines`` and enqueue their export: the run, or an error.

        ``lines`` are the previewed lines; those of another company and those
        already exported are recorded as skipped and left alone. All of it in the
        caller's transaction: either every line is approved and the jobs are
        queued, or nothing happened.
        """
        lines = lines.sudo().exists()
        lines._qbo_lock_rows(nowait=True)
        lines.invalidate_recordset(["qbo_state", "qbo_time_activity_id", "company_id"])
        lines.fetch(
            [
                "date",
                "employee_id",
                "project_id",
                "unit_amount",
                "company_id",
                "qbo_state",
                "qbo_time_activity_id",
            ]
        )
        run = self.create({"company_id": company.id, "user_id": self.env.uid})
        run.message_subscribe(partner_ids=self.env.user.partner_id.ids)
        results, approved_ids = [], []
        for line in lines.sorted(lambda line: (line.date, line.id)):
            values = {
                "export_id": run.id,
                "line_id": line.id,
                "date": line.date,
                "employee_id": line.employee_id.id,
                "project_id": line.project_id.id,
                "unit_amount": line.unit_amount,
            }
            skip = line._qbo_skip_reason(company)
            if skip:
                values.update(state="skipped", message=skip)
            else:
                approved_ids.append(line.id)
            results.append(values)
        self.env["qbo.export.line"].sudo().create(results)
        approved = lines.browse(approved_ids)
        approved._qbo_internal().write(
            {"qbo_state": "approved", "qbo_export_id": run.id, "qbo_error": False}
        )
        run._qbo_enqueue()
        return run

    def _qbo_chunk_size(self):
        param = self.env["ir.config_parameter"].sudo().get_param("noko_qbo.export_chunk_size")
        return max(1, int(param or DEFAULT_CHUNK_SIZE))

    def _qbo_enqueue(self):
        """One job per chunk (date order: a chunk's reconciliation looks up few dates),
        chained so a realm's rate limits are shared by one job at a time, then a summary.
        """
        self.ensure_one()
        pending = self.line_ids.filtered(lambda result: result.state == "pending")
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

    # ------------------------------------------------------------------ the job

    def _qbo_export_chunk(self, results):
        """Job: send one chunk of the run's lines. Steps: relevance, lock, plan, send, bind."""
        self.ensure_one()
        results = results.sudo().exists().filtered(lambda result: result.state == "pending")
        if not results:
            return self.env._("Nothing left to send.")
        if self.state == "failed":
            results._qbo_set_failed(
                self.env._("Not sent: the run stopped (%(reason)s).", reason=self.failure_message)
            )
            return self.env._("Run stopped: %s lines not sent.", len(results))
        if self.state == "queued":
            self.state = "running"
        sendable = self._qbo_relevant(results)
        if not sendable:
            return self.env._("Nothing left to send.")
        lines = sendable.line_id
        try:
            lines._qbo_lock_rows(nowait=True)
        except UserError as exc:
            raise RetryableJobError(str(exc), seconds=30) from exc
        lines.invalidate_recordset()
        # The lock may have waited on an unlock or another run: decide again.
        sendable = self._qbo_relevant(sendable)
        plans = sendable.line_id._qbo_time_activity_plans(self.company_id)
        blocked = sendable.filtered(lambda result: plan_is_blocked(plans[result.line_id.id]))
        for result in blocked:
            problems = plans[result.line_id.id].problems
            result._qbo_set_failed("\n".join(p.message for p in problems if p.blocking))
        to_send = sendable - blocked
        if to_send:
            self._qbo_send(to_send, plans)
        return self.env._(
            "%(sent)s lines sent, %(blocked)s blocked by a problem.",
            sent=len(to_send),
            blocked=len(sendable) - len(to_send),
        )

    def _qbo_relevant(self, results):
        """The results whose line this run may still send; the others are skipped here."""
        relevant_ids = []
        for result in results:
            line = result.line_id
            if not line:
                reason = self.env._("The timesheet line was deleted.")
            elif line.qbo_state == "exported" or line.qbo_time_activity_id:
                reason = self.env._(
                    "Already exported by %(run)s (TimeActivity %(qbo_id)s).",
                    run=line.qbo_export_id.display_name or "-",
                    qbo_id=line.qbo_time_activity_id or "?",
                )
            elif line.qbo_state == "draft":
                reason = self.env._("Unlocked before it was sent.")
            elif line.qbo_export_id != self:
                reason = self.env._(
                    "Handed over to the later export %(run)s.", run=line.qbo_export_id.display_name
                )
            elif line.company_id != self.company_id:
                reason = self.env._("Moved to another company.")
            else:
                relevant_ids.append(result.id)
                continue
            result.write({"state": "skipped", "message": reason})
        return results.browse(relevant_ids)

    def _qbo_send(self, results, plans):
        """Send the lines of ``results`` in one client call and record every answer."""
        lines = results.line_id
        payloads, keys, by_key = [], [], {}
        for result in results:
            line = result.line_id
            key = line._qbo_request_key()
            payloads.append(line._qbo_time_activity_payload(plans[line.id]))
            keys.append(key)
            by_key[key] = result
        try:
            client = self.company_id.sudo()._qbo_client()
            answers = client.send_time_activities(payloads, keys, reconcile_first=True)
        except ReconnectNeeded as fault:
            return self._qbo_connection_lost(results, fault)
        except QboFault as fault:
            if fault.retryable or fault.uncertain:
                raise RetryableJobError(fault.summary(), seconds=fault.retry_after or 60) from fault
            if fault.kind in ("auth", "forbidden"):
                return self._qbo_connection_lost(results, fault)
            raise
        except UserError as error:  # not connected
            return self._qbo_connection_lost(results, error)
        transient = [
            a
            for a in answers
            if a.fault is not None
            and a.outcome == "failed"
            and (a.fault.retryable or a.fault.uncertain)
        ]
        lost = [
            a
            for a in answers
            if a.fault is not None
            and a.outcome == "failed"
            and a.fault.kind in ("auth", "forbidden")
        ]
        if transient and not lost:
            # Roll back and try the whole chunk later: the next attempt reconciles first,
            # so what QBO created meanwhile is bound, not sent again.
            wait = max((a.fault.retry_after or 0) for a in transient) or 60
            raise RetryableJobError(
                self.env._(
                    "%(count)s lines could not be sent yet: %(fault)s",
                    count=len(transient),
                    fault=transient[0].fault.summary(),
                ),
                seconds=wait,
            )
        for answer in answers:
            result = by_key[answer.key]
            if answer.outcome in ("created", "reconciled"):
                result._qbo_set_exported(answer.qbo_id, answer.outcome)
            elif answer.fault.kind in ("auth", "forbidden"):
                continue
            else:
                result._qbo_set_failed(self._qbo_fault_message(answer.fault))
        if lost:
            lost_results = self.env["qbo.export.line"].browse([by_key[a.key].id for a in lost])
            self._qbo_connection_lost(lost_results, lost[0].fault)
        lines.flush_recordset()
        return True

    @api.model
    def _qbo_fault_message(self, fault):
        """What a manager reads on the line: QBO's own words, and its code."""
        text = fault.message or fault.kind
        if fault.detail and fault.detail not in text:
            text = f"{text}: {fault.detail}"
        if fault.element:
            text = f"{text} ({fault.element})"
        return self.env._(
            "QuickBooks refused it: %(text)s [%(code)s]", text=text, code=fault.code or fault.kind
        )

    def _qbo_connection_lost(self, results, error):
        """The connection needs a human: stop the run; its lines stay approved, nothing lost."""
        self.ensure_one()
        reason = self.env._(
            "The connection to QuickBooks Online of %(company)s is lost (%(error)s). "
            "An administrator must reconnect it in Settings > QuickBooks Online, then "
            "export the lines of the filter 'Approved (waiting)' again: they are still "
            "approved and will be sent once.",
            company=self.company_id.name,
            error=error.summary() if isinstance(error, QboFault) else str(error),
        )
        results._qbo_set_failed(self.env._("Not sent: the connection to QuickBooks is lost."))
        self.write({"state": "failed", "failure_message": reason})
        self.message_post(body=reason, subtype_xmlid="mail.mt_note")
        return False

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

    # ------------------------------------------------------------------ completion

    def _qbo_finish(self):
        """Job: close the run and tell the user who started it."""
        self.ensure_one()
        pending = self.line_ids.filtered(lambda result: result.state == "pending")
        if pending:  # a chunk job went missing: say so rather than stay "running"
            pending._qbo_set_failed(self.env._("Not sent: its background job did not run."))
        self.flush_recordset()
        self.invalidate_recordset(["count_failed"])
        if self.state != "failed":
            self.state = "done_with_errors" if self.count_failed else "done"
        self.date_done = fields.Datetime.now()
        self._qbo_notify()
        return self.state

    def _qbo_notify(self):
        """Summary in the chatter, an email to the user who started the run, a toast."""
        for run in self:
            run.message_post(
                body=run._qbo_summary_html(),
                subtype_xmlid="noko_qbo.mt_qbo_export_done",
                partner_ids=run.user_id.partner_id.ids,
            )
            template = self.env.ref("noko_qbo.mail_template_qbo_export_done", False)
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
        self.ensure_one()
        return self.env._(
            "%(exported)s exported, %(skipped)s skipped, %(failed)s need attention, "
            "out of %(total)s lines.",
            exported=self.count_exported,
            skipped=self.count_skipped,
            failed=self.count_failed,
            total=self.count_total,
        )

    def _qbo_summary_html(self):
        """The chatter summary: counts, then the lines needing attention with the reason."""
        self.ensure_one()
        body = Markup("<p>%s</p>") % self._qbo_summary_text()
        if self.failure_message:
            body += Markup("<p><b>%s</b></p>") % self.failure_message
        failed = self.line_ids.filtered(lambda result: result.state == "failed")
        if failed:
            items = Markup("").join(
                Markup("<li>%s, %s, %s: %s</li>")
                % (
                    fields.Date.to_string(result.date) or "",
                    result.employee_id.name or "",
                    result.project_id.display_name or "",
                    result.message or "",
                )
                for result in failed[:SUMMARY_LINES]
            )
            more = (
                Markup("<p>%s</p>")
                % self.env._("... and %(count)s more.", count=len(failed) - SUMMARY_LINES)
                if len(failed) > SUMMARY_LINES
                else Markup("")
            )
            body += (
                Markup("<p>%s</p><ul>%s</ul>")
                % (self.env._("Lines that need attention (still approved):"), items)
            ) + more
        return body

    def _qbo_record_unlock(self, lines):
        """Chatter trace on each run whose approved lines a manager unlocked."""
        for run in self:
            unlocked = lines.filtered(lambda line, run=run: line.qbo_export_id == run)
            labels = Markup("").join(
                Markup("<li>%s</li>") % escape(line._qbo_label())
                for line in unlocked[:SUMMARY_LINES]
            )
            run.message_post(
                body=Markup("<p>%s</p><ul>%s</ul>")
                % (
                    self.env._(
                        "%(user)s unlocked %(count)s approved lines (back to draft):",
                        user=self.env.user.name,
                        count=len(unlocked),
                    ),
                    labels,
                ),
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
        return {
            "type": "ir.actions.act_window",
            "name": self.name,
            "res_model": "account.analytic.line",
            "view_mode": "list,form",
            "domain": [("id", "in", self.line_ids.line_id.ids)],
            "context": {"create": False},
        }
