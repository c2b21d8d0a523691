"""Exports that start without a preview: a run's waiting lines again, a domain, a schedule.

Each plans its lines with the preview's rules (``_qbo_time_activity_plans``)
and goes through ``_qbo_start``, so the lock and the skip rule keep every line
from being sent twice, and blocked lines stay approved, waiting, with their
reason in the run.
"""

import logging

from odoo import api, models
from odoo.exceptions import AccessError, UserError
from odoo.fields import Domain

from ..qbo.errors import QboFault
from .qbo_access import check_caller
from .qbo_user_message import count_lines

_logger = logging.getLogger(__name__)

#: Lines an export without a preview looks at: timesheets not in QuickBooks yet.
_EXPORTABLE = [("project_id", "!=", False), ("qbo_state", "in", ("draft", "approved"))]


class QboExport(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "qbo.export"  # pylint: disable=consider-merging-classes-inherited

    # ------------------------------------------------------------------ waiting lines again

    def action_qbo_export_waiting_again(self):
        """Action menu and button of a run: export its lines still waiting, in a new run.

        A new run rather than this one again: a run's results say what that run
        did (its audit trail); the new run names this one (``origin_id``) and
        this one's chatter names the new one. Lines whose cause is not fixed yet
        stay here, waiting, with their reason.
        """
        self.ensure_one()
        check_caller(self)
        run = self.sudo()
        if run.state in ("queued", "running"):
            raise UserError(
                self.env._("%(run)s is still sending its lines: wait until it ends.", run=run.name)
            )
        lines = run._qbo_waiting_lines()
        if not lines:
            raise UserError(
                self.env._(
                    "%(run)s has no line waiting to be exported: its lines are exported, "
                    "skipped, unlocked or handed over to a later export.",
                    run=run.name,
                )
            )
        lines = lines.with_env(self.env)
        check_caller(lines)
        company = run.company_id
        self._qbo_check_connected(company)
        plans = lines._qbo_time_activity_plans(company)
        ready = lines.filtered(lambda line: not plans[line.id].blocked)
        if not ready:
            first = next(iter(plans.values()))
            raise UserError(
                self.env._(
                    "None of the %(lines)s waiting in %(run)s can be sent yet: %(reason)s",
                    lines=count_lines(self.env, len(lines)),
                    run=run.name,
                    reason=self.env["qbo.export.result"]._qbo_blocked_message(first),
                )
            )
        new = self._qbo_start(ready, company, plans=plans, values={"origin_id": run.id})
        run.message_post_with_source(
            "noko_qbo.qbo_export_handed_over_note",
            render_values={
                "user": self.env.user,
                "run": new.sudo(),
                "count": count_lines(self.env, len(ready)),
            },
            subtype_xmlid="mail.mt_note",
        )
        return new._qbo_action_open()

    def _qbo_waiting_lines(self):
        """The lines this run approved that wait still: not sent, not handed over, locked."""
        self.ensure_one()
        results = self.result_ids.filtered(lambda result: result.state in ("failed", "pending"))
        return results.line_id.filtered(
            lambda line: (
                line.qbo_state == "approved"
                and line.qbo_export_id == self
                and not line.qbo_time_activity_id
            )
        )

    def _qbo_check_connected(self, company):
        if not company.sudo()._qbo_is_connected():
            raise UserError(
                self.env._(
                    "%(company)s is not connected to QuickBooks Online: an administrator "
                    "connects it in Settings.",
                    company=company.name,
                )
            )

    # ------------------------------------------------------------------ a domain

    @api.model
    def export_domain(self, domain, company_id=None):
        """Export the timesheet lines matching ``domain``: for integrators (JSON-2, XML-RPC).

        ``company_id``: the company to export from (one of the caller's; default:
        the caller's current company). Only lines of that company with a project,
        not in QuickBooks yet, are looked at; the caller must be a QuickBooks
        manager allowed to read them. Returns the run (see ``_qbo_api_answer``);
        raises ``UserError`` when no line matches. Readme: USAGE.md, "For
        integrators".
        """
        company = self._qbo_api_company(company_id)
        check_caller(company)
        run = self.with_company(company)._qbo_export_matching(domain, company)
        if not run:
            raise UserError(
                self.env._(
                    "No timesheet line of %(company)s matches: nothing to export (only "
                    "lines with a project, not in QuickBooks Online yet, are exported).",
                    company=company.name,
                )
            )
        return run._qbo_api_answer()

    @api.model
    def _qbo_api_company(self, company_id):
        if not company_id:
            return self.env.company
        company = self.env["res.company"].browse(int(company_id)).exists()
        if company not in self.env.user.sudo().company_ids:
            raise AccessError(
                self.env._("Company %(id)s is not one of your companies.", id=company_id)
            )
        return company

    def _qbo_api_answer(self):
        """What an integrator reads of a run (JSON-able)."""
        self.ensure_one()
        run = self.sudo()
        return {
            "id": run.id,
            "name": run.name,
            "state": run.state,
            "count_total": run.count_total,
            "count_pending": run.count_pending,
            "count_exported": run.count_exported,
            "count_skipped": run.count_skipped,
            "count_failed": run.count_failed,
            "summary": run._qbo_summary_text(),
        }

    @api.model
    def _qbo_export_matching(self, domain, company, values=None):
        """Plan and start the export of the caller's lines of ``company`` matching ``domain``.

        Runs with the caller's rights (a schedule's user, an integrator): the
        search sees only what they may read. The run, or an empty recordset
        when nothing matches.
        """
        lines = self.env["account.analytic.line"].search(
            Domain.AND([domain, [("company_id", "=", company.id)], _EXPORTABLE])
        )
        if not lines:
            return self.browse()
        check_caller(lines)
        self._qbo_check_connected(company)
        self._qbo_refresh_lists(company)
        plans = lines._qbo_time_activity_plans(company)
        return self._qbo_start(lines, company, plans=plans, values=values)

    @api.model
    def _qbo_refresh_lists(self, company):
        """Stale QBO lists first, as the preview does; a failure leaves the cache as it is."""
        try:
            company.sudo()._qbo_sync_lists()
        except (UserError, QboFault) as exc:
            _logger.warning("QuickBooks lists of %s not refreshed: %s", company.name, exc)
