"""The export job: send one chunk of a run's lines. Steps: relevance, lock, plan, send, bind.

Each job is one transaction (queue_job 19 forbids commits), so a chunk's
bookkeeping is written as soon as QBO answers; every chunk first asks QBO
which of its lines it already holds (the client's reconciliation by marker),
so a chunk re-run after a crash, a retry or a rollback never sends a line twice.
"""

import time

from odoo import models
from odoo.exceptions import UserError
from odoo.tools import config

from odoo.addons.queue_job.exception import RetryableJobError

from ..qbo.errors import QboFault
from .qbo_user_message import count_lines, refusal_cause, refusal_message, user_message


class QboExport(models.Model):
    # One file per concern of the model: deliberately not merged with the others.
    _inherit = "qbo.export"  # pylint: disable=consider-merging-classes-inherited

    def _qbo_export_chunk(self, results):
        """Job: send one chunk of the run's lines."""
        self.ensure_one()
        results = results.sudo().exists().filtered(lambda result: result.state == "pending")
        if not results:
            return self.env._("Nothing left to send.")
        if self.state == "failed":
            results._qbo_set_failed(
                self.env._("Not sent: the run stopped (%(reason)s).", reason=self.failure_message)
            )
            return self.env._(
                "Run stopped: %(lines)s not sent.", lines=count_lines(self.env, len(results))
            )
        if self.state == "queued":
            self.state = "running"
        sendable = self._qbo_relevant(results)
        if not sendable:
            return self.env._("Nothing left to send.")
        try:
            sendable.line_id._qbo_lock_rows()
        except UserError as exc:
            raise RetryableJobError(str(exc), seconds=30) from exc
        sendable.line_id.invalidate_recordset()
        # Another transaction may have committed changes to these lines since our
        # snapshot was taken (the lock would then fail to serialize): decide again.
        sendable = self._qbo_relevant(sendable)
        plans = sendable.line_id._qbo_time_activity_plans(self.company_id, run=self)
        blocked = sendable.filtered(lambda result: plans[result.line_id.id].blocked)
        for result in blocked:
            result._qbo_set_failed(result._qbo_blocked_message(plans[result.line_id.id]))
        to_send = sendable - blocked
        if to_send:
            self._qbo_send(to_send, plans)
        return self.env._(
            "Sent: %(sent)s. Blocked by a problem: %(blocked)s.",
            sent=count_lines(self.env, len(to_send)),
            blocked=count_lines(self.env, len(blocked)),
        )

    def _qbo_relevant(self, results):
        """The results whose line this run may still send; the others are skipped here."""
        relevant_ids = []
        for result in results:
            line = result.line_id
            reason = (
                line._qbo_skip_reason(self.company_id, run=self)
                if line
                else self.env._("The timesheet line was deleted.")
            )
            if reason:
                result._qbo_set_skipped(reason)
            else:
                relevant_ids.append(result.id)
        return results.browse(relevant_ids)

    def _qbo_send(self, results, plans):
        """Send the lines of ``results`` in one client call and record every answer.

        Lines QBO could not take yet (throttled, a passing server fault) are
        tried again by a later attempt of this job: the wait happens between
        attempts, never inside this request (see :func:`job_deadline`).
        """
        payloads, keys, by_key = [], [], {}
        for result in results:
            line = result.line_id
            key = line._qbo_request_key()
            payloads.append(line._qbo_time_activity_payload(plans[line.id]))
            keys.append(key)
            by_key[key] = result
        try:
            client = self.company_id.sudo()._qbo_client()
            answers = client.send_time_activities(
                payloads,
                keys,
                reconcile_first=True,
                attempt=self._qbo_attempt(),
                deadline=job_deadline(),
            )
        except QboFault as fault:
            if fault.connection_lost:
                return self._qbo_connection_lost(results, fault)
            if fault.retryable or fault.uncertain:
                raise RetryableJobError(fault.summary(), seconds=fault.retry_after or 60) from fault
            raise
        except UserError as error:  # not connected
            return self._qbo_connection_lost(results, error)
        later = self._qbo_record_answers(answers, by_key)
        results.line_id.flush_recordset()
        if later:
            self._qbo_try_again_later(later, sent=len(answers) - len(later))
        return True

    def _qbo_attempt(self):
        """What makes this try's requestids new: the run and the job (see ``sending``)."""
        return f"run{self.id}-{self.env.context.get('job_uuid') or 'direct'}"

    def _qbo_record_answers(self, answers, by_key):
        """Bind what QBO holds, fail what it refused; the answers to try again later."""
        lost = [answer for answer in answers if _failed(answer) and answer.fault.connection_lost]
        if lost:  # a lost connection wins: those lines wait for a reconnect
            lost_results = self.env["qbo.export.result"].browse([by_key[a.key].id for a in lost])
            self._qbo_connection_lost(lost_results, lost[0].fault)
        later, exported = [], {}
        for answer in answers:
            result = by_key[answer.key]
            if answer.outcome in ("created", "reconciled"):
                exported[result] = (
                    answer.qbo_id,
                    answer.outcome,
                    answer.changes,
                    answer.billable_status,
                )
            elif lost and answer.outcome == "deferred":
                result._qbo_set_failed(
                    self.env._("Not sent: the connection to QuickBooks is lost.")
                )
            elif answer.outcome == "deferred" or (not lost and _transient(answer)):
                later.append(answer)
            elif not answer.fault.connection_lost:
                result._qbo_set_failed(
                    refusal_message(self.env, answer.fault),
                    cause=refusal_cause(self.env, answer.fault),
                )
        self.env["qbo.export.result"]._qbo_set_exported_many(exported)
        return later

    def _qbo_try_again_later(self, later, sent):
        """End this attempt; the job runs again when QBO allows (the answers in ``later``).

        The job stays one transaction (queue_job 19): rolled back here, what it
        had sent is found again by marker when the next attempt reconciles
        first, and bound then. The job's own record says how far it got.
        Waiting out a throttle does not use up the job's retries; a passing
        server fault does (then the run fails and says so).
        """
        throttled_only = all(answer.outcome == "deferred" for answer in later)
        wait = max((answer.retry_after or answer.fault.retry_after or 0) for answer in later)
        raise RetryableJobError(
            self.env._(
                "Sent: %(sent)s. Waiting for QuickBooks Online: %(count)s (%(fault)s).",
                sent=count_lines(self.env, sent),
                count=count_lines(self.env, len(later)),
                fault=later[0].fault.summary() if later[0].fault else "",
            ),
            seconds=max(1, round(wait or 60)),
            ignore_retry=throttled_only,
        )

    def _qbo_connection_lost(self, results, error):
        """The connection needs a human: stop the run; its lines stay approved, nothing lost."""
        self.ensure_one()
        reason = self.env._(
            "%(error)s Once that is done, export the lines of the filter 'Approved (waiting)' "
            "again: they are still approved and will be sent once.",
            error=user_message(self.env, error),
        )
        results._qbo_set_failed(self.env._("Not sent: the connection to QuickBooks is lost."))
        self.write({"state": "failed", "failure_message": reason})
        self.message_post(body=reason, subtype_xmlid="mail.mt_note")
        return False


def _failed(answer):
    return answer.outcome == "failed" and answer.fault is not None


def _transient(answer):
    """Failed for a passing reason: the same line may go through on a later try."""
    return _failed(answer) and (answer.fault.retryable or answer.fault.uncertain)


def job_deadline():
    """When a job must stop waiting for QBO: a third of Odoo's ``limit_time_real``.

    The job runs inside the HTTP request of queue_job's runner, which Odoo
    kills at ``limit_time_real`` (120 s by default); a request already in
    flight at the deadline may still take the client's read timeout.
    """
    limit = config.get("limit_time_real") or 120
    return time.monotonic() + max(5.0, min(limit, 600) / 3)
