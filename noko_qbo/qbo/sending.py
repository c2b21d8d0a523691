"""Sending many TimeActivities: batches at the allowed rate, no line sent twice.

The steps, each small and overridable:

1. **check** every payload locally (:func:`.payloads.check`): a line QBO
   would reject fails alone, without using a request;
2. **mark** every line's Description with a marker derived from its key
   (:func:`.payloads.with_marker`) so it can be found again;
3. **batch** lines (``client.batch_size``, 30 by default) and send batches
   from a few threads; :class:`.limits.RealmPacer` keeps them under QBO's
   per-realm rates and concurrency;
4. on an **uncertain** whole-batch outcome (timeout, dropped connection,
   gateway 5xx, missing item, 600 duplicate request) **reconcile**: look the
   lines up in QBO by date, payee, customer, duration and marker; lines found
   are ``reconciled``, the rest are sent again, under a ``requestid`` derived
   from their keys (so a replay of the very same request is recognised by QBO
   as well);
5. after an auth/forbidden fault, stop: the remaining lines fail with that
   fault instead of hammering a dead connection.

Each input gets exactly one :class:`SendResult`; nothing is raised for a
single line, so the caller always learns the QBO Id of every line created
before something went wrong.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import payloads as ta
from . import query as qbo_query
from .errors import QboFault

_logger = logging.getLogger(__name__)

OUTCOMES = ("created", "reconciled", "failed")


@dataclass
class SendResult:
    """What happened to one line: ``outcome`` in created | reconciled | failed.

    A failed line whose ``fault.uncertain`` is true may nevertheless exist in
    QBO (we could not find out): send it again with ``reconcile_first=True``.
    """

    key: str
    qbo_id: str | None = None
    fault: QboFault | None = None
    outcome: str = "failed"
    sync_token: str | None = None


@dataclass
class _Line:
    index: int
    key: str
    payload: dict
    bid: str = ""


def request_id_for(keys):
    """A 36-character requestid that only depends on the lines' keys (and their order)."""
    digest = hashlib.sha256("\n".join(keys).encode("utf-8")).digest()
    return str(uuid.UUID(bytes=digest[:16]))


class TimeActivitySender:
    """Sends one set of lines through a :class:`.client.QboClient`.

    ``max_rounds`` bounds how often a line is sent again after its batch
    failed in a retryable or uncertain way; ``workers`` bounds the threads
    (at most ``limits.concurrent``; half of it by default, which keeps the
    server's own in-flight count below the limit even when a new request
    races the server's bookkeeping of the previous answer).
    """

    def __init__(self, client, *, workers=None, max_rounds=4):
        self.client = client
        concurrent = client.limits.concurrent
        self.workers = min(concurrent, workers or max(1, concurrent // 2))
        self.max_rounds = max_rounds
        self._stop_fault = None
        self._stop_lock = threading.Lock()
        self.reconciliations = 0

    # ------------------------------------------------------------------ steps

    def send(self, payloads, keys, *, reconcile_first=False):
        payloads, keys = list(payloads), [str(key) for key in keys]
        if len(payloads) != len(keys):
            raise ValueError("one key per payload is required")
        if len(set(keys)) != len(keys):
            raise ValueError("keys must be unique")
        results = [SendResult(key) for key in keys]
        lines = self._prepare(payloads, keys, results)
        if reconcile_first and lines:
            lines = self._reconcile_lines(lines, results)
        chunks = [
            lines[start : start + self.client.batch_size]
            for start in range(0, len(lines), self.client.batch_size)
        ]
        if len(chunks) <= 1 or self.workers == 1:
            for chunk in chunks:
                self._send_chunk_guarded(chunk, results)
        else:
            with ThreadPoolExecutor(max_workers=min(self.workers, len(chunks))) as pool:
                for _ in pool.map(lambda chunk: self._send_chunk_guarded(chunk, results), chunks):
                    pass
        return results

    def _send_chunk_guarded(self, chunk, results):
        """:meth:`_send_chunk`, but an unexpected error cannot hide the Ids already created.

        A storage failure while persisting rotated tokens, or a bug, stops the
        run; its unresolved lines fail as *uncertain* (they may have reached
        QBO), and every other line keeps its result.
        """
        try:
            self._send_chunk(chunk, results)
        except Exception as exc:  # reported on every unresolved line, traceback logged
            _logger.exception("QBO sending stopped by an unexpected error")
            fault = QboFault(
                "unknown",
                code=type(exc).__name__,
                message=f"Sending stopped by an unexpected error: {exc}",
                uncertain=True,
            )
            self._stop(fault)
            unresolved = [
                line
                for line in chunk
                if results[line.index].outcome == "failed" and results[line.index].fault is None
            ]
            self._fail(unresolved, fault, results)

    def _prepare(self, payloads, keys, results):
        """Check and mark every payload; lines that cannot be sent fail here."""
        lines = []
        for index, (payload, key) in enumerate(zip(payloads, keys, strict=True)):
            payload = ta.normalize(payload)
            fault = ta.check(payload)
            if fault is not None:
                results[index].fault = fault
                continue
            lines.append(_Line(index, key, ta.with_marker(payload, key)))
        return lines

    def _send_chunk(self, chunk, results):
        """Send one batch until every line is created, reconciled or failed."""
        pending = list(chunk)
        last_fault = None
        for round_number in range(1, self.max_rounds + 1):
            if not pending:
                return
            if round_number > 1:
                # Whatever failed last round may still be failing: back off like the client.
                self.client.retry.wait(self.client.retry.backoff(round_number - 1))
            if self._stop_fault is not None:
                self._fail(pending, self._stop_fault, results)
                return
            for position, line in enumerate(pending):
                line.bid = str(position)
            try:
                answers = self.client.batch_create(
                    [(line.bid, line.payload) for line in pending],
                    request_id=request_id_for([line.key for line in pending]),
                )
            except QboFault as fault:
                last_fault = fault
                if fault.kind in ("auth", "forbidden"):
                    self._stop(fault)
                    self._fail(pending, fault, results)
                    return
                if fault.uncertain or fault.kind == "duplicate":
                    pending = self._reconcile_or_fail(pending, fault, results)
                    continue
                if fault.retryable:
                    continue  # the client already retried; one more round, bounded
                self._fail(pending, fault, results)
                return
            pending, last_fault = self._record(pending, answers, results)
        if pending:
            self._fail(pending, last_fault or QboFault("unknown", message="not sent"), results)

    def _record(self, pending, answers, results):
        """Store created Ids and per-line faults; return the lines to send again."""
        again, uncertain, last_fault, uncertain_fault = [], [], None, None
        for line, answer in zip(pending, answers, strict=True):
            if isinstance(answer, QboFault):
                if answer.uncertain or answer.kind == "duplicate":
                    uncertain.append(line)
                    last_fault = uncertain_fault = answer
                elif answer.retryable:
                    again.append(line)
                    last_fault = answer
                else:
                    results[line.index].fault = answer
                continue
            result = results[line.index]
            result.qbo_id = str(answer.get("Id"))
            result.sync_token = answer.get("SyncToken")
            result.outcome = "created"
        if uncertain:
            again += self._reconcile_or_fail(uncertain, uncertain_fault, results)
        return again, last_fault

    def _reconcile_or_fail(self, lines, fault, results):
        """Reconcile ``lines``; if even that fails, they fail with the uncertain fault."""
        try:
            return self._reconcile_lines(lines, results)
        except QboFault as lookup_fault:
            _logger.warning(
                "QBO reconciliation failed (%s); %d lines left uncertain",
                lookup_fault.code,
                len(lines),
            )
            fault.uncertain = True
            self._fail(lines, fault, results)
            return []

    def _reconcile_lines(self, lines, results):
        """Mark lines already in QBO as reconciled; return the ones that are not."""
        self.reconciliations += 1
        found = find_sent(self.client, [line.payload for line in lines])
        remaining = []
        for line, stored in zip(lines, found, strict=True):
            if stored is None:
                remaining.append(line)
                continue
            result = results[line.index]
            result.qbo_id = str(stored.get("Id"))
            result.sync_token = stored.get("SyncToken")
            result.outcome = "reconciled"
            result.fault = None
        _logger.info(
            "QBO reconciliation: %d of %d lines already there",
            len(lines) - len(remaining),
            len(lines),
        )
        return remaining

    def _stop(self, fault):
        with self._stop_lock:
            if self._stop_fault is None:
                self._stop_fault = fault

    @staticmethod
    def _fail(lines, fault, results):
        for line in lines:
            result = results[line.index]
            result.fault = fault
            result.outcome = "failed"


def find_sent(client, sent_payloads):
    """For each marked payload, the TimeActivity QBO holds for it, or None.

    Looks up every TimeActivity on the payloads' dates (TimeActivity cannot
    be queried by Description) and matches date, payee, customer, duration
    and marker (:func:`.payloads.same_activity`). If QBO already holds two
    copies, the lowest Id wins and a warning is logged.

    Hook: override to narrow the lookup (e.g. by ``MetaData.CreateTime``) in
    companies with very many activities per day.
    """
    dates = {p.get("TxnDate") for p in sent_payloads}
    by_marker = _stored_by_marker(client, dates)
    found = []
    for payload in sent_payloads:
        candidates = [
            stored
            for stored in by_marker.get(ta.marker_in(payload.get("Description")), [])
            if ta.same_activity(payload, stored)
        ]
        found.append(_first_copy(candidates))
    return found


def find_by_keys(client, dated_keys):
    """``{key: stored TimeActivity}`` for the line keys QBO already holds, by marker alone.

    ``dated_keys`` maps each key to its line's date. Unlike :func:`find_sent`, the
    payee, customer and duration are not compared: a line's marker identifies it
    even after its mapping changed, which is what a safety check needs.
    """
    by_marker = _stored_by_marker(client, set(dated_keys.values()))
    found = {}
    for key in dated_keys:
        stored = _first_copy(by_marker.get(ta.marker(key), []))
        if stored is not None:
            found[key] = stored
    return found


def _stored_by_marker(client, dates):
    """Marked TimeActivities QBO holds on ``dates`` (all of them if a date is unknown)."""
    dates = {str(date) for date in dates if date} if all(dates) else set()
    # A line without TxnDate was dated by QBO: look at everything (rare, slow).
    where = qbo_query.condition("TxnDate", sorted(dates)) if dates else ""
    by_marker = {}
    for stored in client.query_all("TimeActivity", where):
        tag = ta.marker_in(stored.get("Description"))
        if tag:
            by_marker.setdefault(tag, []).append(stored)
    return by_marker


def _first_copy(candidates):
    """The lowest Id among copies of one line (warns when QBO holds several)."""
    candidates = sorted(candidates, key=lambda stored: int(stored.get("Id") or 0))
    if len(candidates) > 1:
        _logger.warning(
            "QBO holds %d copies of one line (Ids %s)",
            len(candidates),
            ", ".join(str(c.get("Id")) for c in candidates),
        )
    return candidates[0] if candidates else None
