"""Sync from QuickBooks: what QBO users did to exported lines (billed, deleted), three ways.

One path, :meth:`_qbo_sync_time_activities`, run by

- the **webhook** (``controllers/webhook.py``): a signed delivery stores the
  events of the realms whose verifier token signed it (``qbo.webhook.event``)
  and enqueues one job per company (``identity_key`` per company and realm:
  a burst of deliveries makes one pending job), which reads back the
  notified TimeActivities;
- the **daily cron** and the Settings button **Sync from QuickBooks**, for
  companies without webhooks: everything changed since the last sync, then
  every other exported line by Id, to detect deletions.

The reads are planned by ``noko_qbo.qbo.sync.read_back`` (pure, shared with
``bench/bench_sync.py``). Everything is idempotent: a replayed delivery or a
second run reads QBO again and finds nothing new to record.

Which verifier token: Intuit signs every delivery of an app with that app's
one verifier token, and a delivery may name several realms. The body is
untrusted until verified, so the route checks the signature against the
token of every company that has one (each distinct token once) and keeps
only the events of the realms of the companies whose token verified: a
delivery signed with company A's token never changes company B's lines.
"""

import logging
import time
from collections import defaultdict
from datetime import UTC

from odoo import api, fields, models
from odoo.exceptions import UserError

from odoo.addons.queue_job.exception import RetryableJobError

from ...const import ADMIN_GROUP, MANAGER_GROUP
from ...qbo import sync as qbo_sync
from ...qbo import webhooks
from ...qbo.errors import QboFault
from ...qbo.timestamps import parse_timestamp
from ..qbo_access import check_admin
from ..qbo_export_send import job_deadline
from ..qbo_user_message import notification, user_message

_logger = logging.getLogger(__name__)

#: A webhook body larger than this is not Intuit's (deliveries hold ids, not records).
WEBHOOK_MAX_BYTES = 1024 * 1024
#: Entities whose notifications concern exported lines: their own TimeActivity, and an
#: invoice (billing time changes the activities' BillableStatus).
_INVOICE_ENTITIES = ("Invoice",)


class ResCompany(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "res.company"  # pylint: disable=consider-merging-classes-inherited

    qbo_webhook_verifier_token = fields.Char(
        "QuickBooks Webhook Verifier Token",
        groups=ADMIN_GROUP,
        copy=False,
        help="The Intuit app's verifier token (developer portal > Webhooks): webhook "
        "deliveries are signed with it.",
    )
    qbo_time_synced_at = fields.Datetime(
        "Synced from QuickBooks", readonly=True, copy=False, groups=MANAGER_GROUP
    )
    # QBO's own newest LastUpdatedTime seen (ISO 8601 with offset): where "changed since" resumes
    qbo_time_sync_mark = fields.Char(readonly=True, copy=False, groups=MANAGER_GROUP)
    qbo_time_sync_message = fields.Char(
        "Last Sync from QuickBooks", readonly=True, copy=False, groups=MANAGER_GROUP
    )

    # ------------------------------------------------------------------ the one path

    def _qbo_sync_time_activities(self, full=False, deadline=None):
        """Bring this company's exported lines up to date with QBO: a summary sentence.

        ``full`` (cron, button): what changed since the last mark, then every
        other exported line by Id (deleted ones are not returned). Otherwise
        (webhook job): the TimeActivities the pending notifications name; a
        notified invoice adds "changed since the last mark". Raises
        ``QboFault`` (callers decide: retry the job, log in the cron, tell the
        admin).
        """
        self.ensure_one()
        company = self.sudo()
        events = self.env["qbo.webhook.event"].sudo().search([("company_id", "=", company.id)])
        if not company._qbo_is_connected():
            events.unlink()
            return self.env._(
                "%(company)s is not connected to QuickBooks Online.", company=self.name
            )
        events = events.filtered(lambda event: event.realm_id == company.qbo_realm_id)
        mark = parse_timestamp(company.qbo_time_sync_mark)
        notified = {event.entity_id for event in events if event.entity == "TimeActivity"}
        invoiced = any(event.entity in _INVOICE_ENTITIES for event in events)
        if not full and invoiced and mark is None:
            full = True  # nothing to resume from: read everything once
        Line = self.env["account.analytic.line"]
        if full or invoiced:
            bound = Line._qbo_bound_activity_ids(company)
            since, check = mark, (None if full else notified)
        else:
            bound = Line._qbo_bound_activity_ids(company, only=notified)
            since, check = None, None
        client = company._qbo_client()
        reading = qbo_sync.read_back(client, bound, since=since, check=check, deadline=deadline)
        deleted_at = {
            event.entity_id: event.occurred_at
            for event in events
            if event.operation == "Delete" and event.occurred_at
        }
        counts = Line._qbo_apply_reading(company, reading, deleted_at)
        values = {"qbo_time_synced_at": fields.Datetime.now()}
        # The mark moves only when every bound line was read, or the changes since it.
        covered = since is not None or check is None
        if covered and reading.newest and (mark is None or reading.newest > mark):
            values["qbo_time_sync_mark"] = reading.newest.isoformat()
        summary = self.env._(
            "%(lines)s exported lines checked in QuickBooks: %(billed)s newly billed, "
            "%(deleted)s deleted in QuickBooks (%(reads)s reads).",
            lines=len(bound if check is None else bound & check),
            billed=counts["billed"],
            deleted=counts["deleted"],
            reads=client.stats["reads"],
        )
        values["qbo_time_sync_message"] = summary
        company.write(values)
        events.unlink()
        return summary

    # ------------------------------------------------------------------ job

    def _qbo_job_sync_time_activities(self):
        """Job: the webhook's sync of one company. Waits QBO asks for retry the job."""
        self.ensure_one()
        try:
            return self._qbo_sync_time_activities(deadline=job_deadline())
        except QboFault as fault:
            if fault.retryable or fault.uncertain:
                raise RetryableJobError(fault.summary(), seconds=fault.retry_after or 60) from fault
            if not fault.connection_lost:
                raise
            return self._qbo_sync_failed(fault)
        except UserError as error:  # not connected any more
            return self._qbo_sync_failed(error)

    def _qbo_sync_failed(self, error):
        summary = user_message(self.env, error)
        _logger.warning("QuickBooks sync of company %s failed: %s", self.id, summary)
        self.sudo().write({"qbo_time_sync_message": summary})
        return summary

    def _qbo_enqueue_time_sync(self):
        """One pending sync job per company and realm, whatever the number of deliveries."""
        for company in self.sudo():
            company.with_delay(
                identity_key=f"noko_qbo-sync-{company.id}-{company.qbo_realm_id}",
                description=self.env._(
                    "QuickBooks: sync %(company)s from QuickBooks", company=company.name
                ),
            )._qbo_job_sync_time_activities()

    # ------------------------------------------------------------------ cron, button

    @api.model
    def _qbo_cron_sync_time_activities(self):
        """Daily, for companies without webhooks (and as their backstop): a full sync."""
        self._qbo_cron_each_connected(
            lambda company: company._qbo_sync_time_activities(full=True, deadline=job_deadline()),
            lambda company, exc: company._qbo_sync_failed(exc),
        )

    def _qbo_action_sync_time_activities(self):
        """Settings > Sync from QuickBooks (administrators): a full sync now."""
        self.ensure_one()
        check_admin(self)
        deadline = time.monotonic() + 60
        try:
            summary = self.sudo()._qbo_sync_time_activities(full=True, deadline=deadline)
        except (QboFault, UserError) as exc:
            return notification(self.env, self._qbo_sync_failed(exc), "danger")
        return notification(self.env, summary, "success")

    # ------------------------------------------------------------------ webhook

    @api.model
    def _qbo_webhook_receive(self, raw_body, signature):
        """The webhook route's work: the HTTP status to answer (200, 400, 401, 413).

        The signature is this entry point's access check: nothing is written
        before it verified, and only the events of the realms whose company's
        verifier token signed the body are kept (see the module docstring).
        Answers fast: it stores the relevant events and enqueues jobs, it never
        calls QBO.
        """
        if not signature:
            return 401
        if len(raw_body) > WEBHOOK_MAX_BYTES:
            return 413
        signed = self._qbo_companies_signing(raw_body, signature)
        if not signed:
            return 401
        try:
            events = webhooks.parse_events(raw_body)
        except ValueError:
            return 400
        by_realm = defaultdict(list)
        for event in events:
            by_realm[event.realm_id].append(event)
        for company in signed:
            company._qbo_take_events(by_realm.get(company.qbo_realm_id, []))
        return 200

    @api.model
    def _qbo_companies_signing(self, raw_body, signature):
        """The connected companies whose verifier token signed ``raw_body`` (each token once)."""
        companies = self.sudo().search(
            [("qbo_webhook_verifier_token", "!=", False), ("qbo_realm_id", "!=", False)]
        )
        verdicts = {}
        for company in companies:
            token = company.qbo_webhook_verifier_token
            if token not in verdicts:
                verdicts[token] = webhooks.verify_signature(raw_body, signature, token)
        return companies.filtered(lambda company: verdicts[company.qbo_webhook_verifier_token])

    def _qbo_take_events(self, events):
        """Keep the events that concern this company's exported lines; enqueue its sync."""
        self.ensure_one()
        company = self.sudo()
        Line = self.env["account.analytic.line"]
        # A TimeActivity's Create is our own export (or another app's): nothing to read back.
        changes = [e for e in events if e.entity == "TimeActivity" and e.operation != "Create"]
        activity_ids = {event.entity_id for event in changes}
        bound = Line._qbo_bound_activity_ids(company, only=activity_ids) if activity_ids else set()
        invoices = [event for event in events if event.entity in _INVOICE_ENTITIES]
        wanted = [event for event in changes if event.entity_id in bound]
        if invoices and company._qbo_has_unbilled_lines():
            wanted += invoices
        if not wanted:
            return
        self.env["qbo.webhook.event"].sudo().create(
            [
                {
                    "company_id": company.id,
                    "realm_id": event.realm_id,
                    "entity": event.entity,
                    "entity_id": event.entity_id,
                    "operation": event.operation,
                    "occurred_at": _naive_utc(event.occurred_at),
                    "event_id": event.event_id,
                }
                for event in wanted
            ]
        )
        company._qbo_enqueue_time_sync()

    def _qbo_has_unbilled_lines(self):
        return bool(
            self.env["account.analytic.line"]
            .sudo()
            .search_count(
                [
                    ("company_id", "=", self.id),
                    ("qbo_state", "=", "exported"),
                    ("qbo_billing_status", "in", ("unbilled", False)),
                ],
                limit=1,
            )
        )


def _naive_utc(moment):
    return moment.astimezone(UTC).replace(tzinfo=None) if moment else False
