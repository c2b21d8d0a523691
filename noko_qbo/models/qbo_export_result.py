from odoo import api, fields, models
from odoo.tools import SQL

from ..const import RESULT_PRIORITY, RESULT_STATES

_RESULT_FIELDS = ["state", "outcome", "qbo_time_activity_id", "message"]


class QboExportResult(models.Model):
    """What one export run did with one timesheet line: part of the run's audit trail.

    A run keeps its own result per line, so its history stays true after the
    line is exported by a later run, unlocked or deleted. The line itself only
    carries its current state (``account.analytic.line.qbo_state``). Nobody
    writes results but the export code.
    """

    _name = "qbo.export.result"
    _description = "QuickBooks Online export result"
    # Problems first: what needs attention, then what waits, then what went through.
    _order = "export_id, priority, date, id"

    export_id = fields.Many2one(
        "qbo.export", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(related="export_id.company_id", store=True)
    line_id = fields.Many2one(
        "account.analytic.line",
        string="Timesheet Line",
        readonly=True,
        index="btree_not_null",
        ondelete="set null",
    )
    # A snapshot taken at confirmation: still readable once the line is gone.
    date = fields.Date(readonly=True)
    employee_id = fields.Many2one("hr.employee", readonly=True)
    project_id = fields.Many2one("project.project", readonly=True)
    unit_amount = fields.Float("Hours", readonly=True)
    state = fields.Selection(
        RESULT_STATES, required=True, default="pending", readonly=True, index=True
    )
    outcome = fields.Selection(
        [("created", "Created"), ("reconciled", "Found already in QuickBooks")],
        readonly=True,
        help="Found already in QuickBooks: an earlier attempt had created it; it was "
        "bound, not sent again.",
    )
    priority = fields.Integer(compute="_compute_priority", store=True, readonly=True)
    qbo_time_activity_id = fields.Char("QuickBooks TimeActivity", readonly=True)
    message = fields.Text(readonly=True)
    # What the run groups its results by: the message without the line's own detail.
    cause = fields.Char(readonly=True, index=True)

    @api.depends("state")
    def _compute_priority(self):
        for result in self:
            result.priority = RESULT_PRIORITY.index(result.state)

    @api.model
    def _qbo_create_for(self, run, lines, skipped):
        """Record ``run``'s results of ``lines``, in date order: pending, or ``skipped``
        (``{line: reason}``); returns the pending ones. One statement for a whole
        confirmation, as for bindings: an ORM create of 10,000 results (and of their
        stored related fields) costs seconds.
        """
        lines.flush_recordset(["date", "employee_id", "project_id", "unit_amount"])
        skips = list(skipped.items())
        self.env.cr.execute(
            SQL(
                """INSERT INTO qbo_export_result
                       (export_id, company_id, line_id, date, employee_id, project_id,
                        unit_amount, state, message, cause, priority,
                        create_uid, create_date, write_uid, write_date)
                   SELECT %(run)s, %(company)s, line.id, line.date, line.employee_id,
                          line.project_id, line.unit_amount,
                          CASE WHEN skip.id IS NULL THEN 'pending' ELSE 'skipped' END,
                          skip.message, skip.cause,
                          CASE WHEN skip.id IS NULL THEN %(pending)s ELSE %(skipped)s END,
                          %(uid)s, now() AT TIME ZONE 'UTC', %(uid)s, now() AT TIME ZONE 'UTC'
                     FROM account_analytic_line AS line
                LEFT JOIN unnest(%(skip_ids)s::int[], %(messages)s::text[], %(causes)s::varchar[])
                          AS skip(id, message, cause) ON skip.id = line.id
                    WHERE line.id = ANY(%(ids)s)
                 ORDER BY line.date, line.id
                RETURNING id, state = 'pending'""",
                run=run.id,
                company=run.company_id.id,
                pending=RESULT_PRIORITY.index("pending"),
                skipped=RESULT_PRIORITY.index("skipped"),
                uid=self.env.uid,
                skip_ids=[line.id for line, _reason in skips],
                messages=[reason for _line, reason in skips],
                causes=[self._qbo_skip_cause(line, reason) for line, reason in skips],
                ids=lines.ids,
            )
        )
        pending = self.browse(sorted(row[0] for row in self.env.cr.fetchall() if row[1]))
        # the run's stored counts follow its results: recomputed at the next flush
        run.invalidate_recordset(["result_ids"])
        for name in (
            "count_total",
            "count_exported",
            "count_skipped",
            "count_failed",
            "count_pending",
        ):
            self.env.add_to_compute(run._fields[name], run)
        return pending

    def _qbo_set_exported(self, qbo_id, outcome, changes=(), billable_status=None):
        """QBO holds the line now: bind its Id on the result and on the line."""
        self.ensure_one()
        self._qbo_set_exported_many({self: (qbo_id, outcome, changes, billable_status)})

    @api.model
    def _qbo_set_exported_many(self, exported):
        """``{result: (qbo_id, outcome, changes[, billable_status])}``: results and lines bound.

        ``changes`` name what QBO's copy no longer shares with the line (it was
        edited after it was sent): the line is bound all the same, and flagged.
        One statement for the results of a chunk, as for their lines (see
        ``account.analytic.line._qbo_mark_exported_many``).
        """
        if not exported:
            return
        exported = {result: (*done, None)[:4] for result, done in exported.items()}
        results = self.browse([result.id for result in exported]).sudo()
        results.flush_recordset(_RESULT_FIELDS)
        self.env.cr.execute(
            SQL(
                """UPDATE qbo_export_result AS result
                      SET state = 'exported', outcome = done.outcome,
                          qbo_time_activity_id = done.qbo_id, message = done.message,
                          write_uid = %(uid)s, write_date = now() AT TIME ZONE 'UTC'
                     FROM unnest(%(ids)s::int[], %(qbo_ids)s::varchar[], %(outcomes)s::varchar[],
                                 %(messages)s::text[]) AS done(id, qbo_id, outcome, message)
                    WHERE result.id = done.id""",
                uid=self.env.uid,
                ids=results.ids,
                qbo_ids=[str(done[0]) for done in exported.values()],
                outcomes=[done[1] for done in exported.values()],
                messages=[self._qbo_changed_message(done[2]) for done in exported.values()],
            )
        )
        results.invalidate_recordset([*_RESULT_FIELDS, "write_uid", "write_date"])
        results.modified(["state"])  # the runs' counts
        self.env["account.analytic.line"]._qbo_mark_exported_many(
            {
                result.line_id: (qbo_id, bool(changes), billable_status)
                for result, (qbo_id, _outcome, changes, billable_status) in exported.items()
                if result.line_id
            }
        )

    def _qbo_changed_message(self, changes):
        if not changes:
            return None
        return self.env._(
            "Already in QuickBooks, but changed since it was sent (%(changes)s): check the "
            "TimeActivity in QuickBooks.",
            changes=", ".join(changes),
        )

    def _qbo_set_failed(self, message, cause=None):
        """Not sent: the reason goes on the result and on the line (which stays approved).

        ``cause``: what the run groups this result by, when ``message`` names more
        than its cause (QBO's detail about this line).
        """
        self.write({"state": "failed", "message": message, "cause": cause or message})
        own = self.filtered(
            lambda result: (
                result.line_id.qbo_export_id == result.export_id
                and result.line_id.qbo_state == "approved"
            )
        )
        own.line_id._qbo_internal().write({"qbo_error": message})

    @api.model
    def _qbo_blocked_message(self, plan):
        """Why a planned line is not sent: its blocking problems, each naming its record."""
        return "\n".join(problem.message for problem in plan.problems if problem.blocking)

    def _qbo_set_skipped(self, message):
        for result in self:
            result.write(
                {
                    "state": "skipped",
                    "message": message,
                    "cause": self._qbo_skip_cause(result.line_id, message),
                }
            )

    @api.model
    def _qbo_skip_cause(self, line, message):
        """A skipped line's cause: an exported line's reason names its TimeActivity."""
        if line and line.sudo().qbo_state == "exported":
            return self.env._("Already in QuickBooks Online: not sent again.")
        return message
