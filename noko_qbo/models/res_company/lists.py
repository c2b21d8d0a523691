"""A company's cache of QBO lists (customers, payees, items, classes): sync and daily cron."""

import logging
from datetime import timedelta

from odoo import api, fields, models
from odoo.exceptions import UserError
from odoo.tools import SQL

from ...const import MANAGER_GROUP
from ...qbo.errors import QboFault
from ..qbo_access import check_admin
from ..qbo_user_message import notification, user_message

_logger = logging.getLogger(__name__)


class ResCompany(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    #: the QBO lists cached per company, synced in this order (parents before children)
    _qbo_list_models = ("qbo.customer", "qbo.payee", "qbo.item", "qbo.class")
    #: an export preview re-syncs the lists when they are older than this
    _qbo_lists_max_age = timedelta(hours=1)

    qbo_lists_synced_at = fields.Datetime(
        "QuickBooks Lists Synced", readonly=True, copy=False, groups=MANAGER_GROUP
    )
    # {"qbo.customer/Customer": newest LastUpdatedTime seen, ...}: where incremental syncs resume
    qbo_sync_marks = fields.Json(readonly=True, copy=False, groups=MANAGER_GROUP)

    def _qbo_lists_stale(self):
        self.ensure_one()
        synced = self.sudo().qbo_lists_synced_at
        return not synced or synced < fields.Datetime.now() - self._qbo_lists_max_age

    def _qbo_sync_lists(self, force=False, full=False):
        """Refresh the cached QBO lists of these companies; returns the ones synced.

        Without ``force``, only companies whose lists are stale (see
        ``_qbo_lists_max_age``) are synced: call it before each export preview.
        Incremental unless ``full`` (or first sync); one sync per company at a
        time (a concurrent caller skips, or gets a ``UserError`` when forced).
        """
        synced = self.browse()
        for company in self.sudo():
            if not (force or full or company._qbo_lists_stale()):
                continue
            if not company._qbo_try_lists_lock():
                if force:
                    raise UserError(
                        self.env._(
                            "QuickBooks lists of %(company)s are being synced already.",
                            company=company.name,
                        )
                    )
                continue
            client = company._qbo_client()
            company._qbo_read_company(client)
            marks = dict(company.qbo_sync_marks or {})
            for model in self._qbo_list_models:
                self.env[model]._qbo_sync(company, client, marks, full=full)
            company.write({"qbo_sync_marks": marks, "qbo_lists_synced_at": fields.Datetime.now()})
            synced |= company
        return synced.sudo(False)

    def _qbo_try_lists_lock(self):
        """One list sync per company at a time, until the end of this transaction."""
        self.env.cr.execute(
            SQL("SELECT pg_try_advisory_xact_lock(hashtext('noko_qbo.lists'), %s)", self.id)
        )
        return self.env.cr.fetchone()[0]

    def _qbo_action_sync_lists(self):
        self.ensure_one()
        check_admin(self)
        company = self.sudo()
        try:
            company._qbo_sync_lists(force=True)
        except QboFault as fault:
            return notification(self.env, user_message(self.env, fault), "danger")
        counts = {
            model: self.env[model]
            .sudo()
            .search_count([("company_id", "=", self.id), ("active_in_qbo", "=", True)])
            for model in self._qbo_list_models
        }
        return notification(
            self.env,
            self.env._(
                "QuickBooks lists synced: %(customers)s customers, %(payees)s employees and "
                "vendors, %(items)s service items, %(classes)s classes (active).",
                customers=counts["qbo.customer"],
                payees=counts["qbo.payee"],
                items=counts["qbo.item"],
                classes=counts["qbo.class"],
            ),
            "success",
        )

    @api.model
    def _qbo_cron_sync_lists(self):
        """Daily: a full sync of every connected company (catches merged/deleted records)."""

        def failed(company, exc):
            summary = user_message(self.env, exc)
            _logger.warning("QuickBooks lists of company %s not synced: %s", company.id, summary)
            if isinstance(exc, QboFault) and exc.connection_lost:
                company.write({"qbo_last_message": summary, "qbo_last_message_type": "danger"})

        self._qbo_cron_each_connected(lambda company: company._qbo_sync_lists(full=True), failed)
