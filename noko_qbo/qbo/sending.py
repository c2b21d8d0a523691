"""Sending many TimeActivities: QBO's whole budget, no line sent twice, nothing past a deadline.

The steps, each small and overridable:

1. **check** every payload locally (:func:`.payloads.check`): a line QBO
   would reject fails alone, without using a request;
2. **mark** every line's Description with a marker derived from its key
   (:func:`.payloads.with_marker`) so it can be found again;
3. **reconcile first** when asked: lines a previous try already created are
   ``reconciled``, not sent;
4. **drain** a queue of lines from a few threads. Each takes whatever the
   pacer admits first: a batch request (up to ``client.batch_size`` lines)
   while the minute's 40 last, else a single create
   (``POST timeactivity?requestid=...``) in the request budget the batches
   and the headroom leave (:attr:`.limits.Limits.single_creates_per_minute`);
5. **settle** every answer: created; refused (that line fails); uncertain
   (timeout, dropped connection, gateway 5xx, missing item, 600 duplicate
   request): reconcile by marker, send again what QBO does not hold; 429:
   back to the queue (the realm is paused; a 429 on a batch request pauses
   batch requests only, so single creates go on), then ``deferred`` after
   ``retry.throttle_attempts``; another retryable fault: back to the queue
   after a backoff, at most ``max_rounds`` sends; auth/forbidden: stop, the
   remaining lines fail with that fault; the ``deadline``: stop, the lines
   not sent come back ``deferred``.

Requestids (:func:`request_id_for`) come from the caller's ``attempt``, the
lines' keys and payloads: a replay of the very same request within one call
is recognised by QBO, a new attempt (after fixing what QBO refused) is a new
request. Exactly-once rests on reconciliation by marker, not on requestids.

Each input gets exactly one :class:`SendResult`; nothing is raised for a
single line, so the caller always learns the QBO Id of every line created
before something went wrong.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from . import payloads as activity_payloads
from .errors import DEFAULT_THROTTLE_WAIT, Deferred, QboFault
from .reconciliation import find_marked
from .windows import BATCH, BULK

_logger = logging.getLogger(__name__)


@dataclass
class SendResult:
    """What happened to one line: ``outcome`` in created | reconciled | failed | deferred.

    - ``created`` / ``reconciled``: ``qbo_id``, ``sync_token`` and
      ``billable_status`` (QBO's ``BillableStatus`` of its copy: a reconciled
      line may have been billed meanwhile) are set. A reconciled line's
      ``changes`` name what QBO's copy no longer shares with the payload
      (``date``, ``payee``, ``customer``, ``duration``): the line changed
      since it was exported (``changed``).
    - ``failed``: ``fault`` says why. If ``fault.uncertain``, the line may
      nevertheless exist in QBO: send it again with ``reconcile_first=True``.
    - ``deferred``: not applied by this call (the deadline, or 429s that went
      on); ``retry_after`` is the real seconds until QBO should allow more,
      ``fault`` the :class:`.errors.Deferred` or throttle fault.
    """

    key: str
    qbo_id: str | None = None
    fault: QboFault | None = None
    outcome: str = "failed"
    sync_token: str | None = None
    retry_after: float | None = None
    changes: tuple = ()
    billable_status: str | None = None

    @property
    def changed(self):
        return bool(self.changes)


@dataclass
class _Line:
    index: int
    key: str
    payload: dict
    bid: str = ""
    state: str = "queued"  # queued | sending | settled
    rounds: int = 0  # sends that failed in a retryable or uncertain way
    throttled: int = 0  # 429s


def request_id_for(attempt, keys, payloads, *, operation="batch"):
    """A 36-character requestid for one request: its operation, the attempt, keys and payloads.

    The same request replayed within one attempt gets the same id; another
    attempt, another payload or another set of lines gets another one.
    """
    digest = hashlib.sha256()
    for part in (operation, attempt, str(len(keys)), *keys):
        digest.update(str(part).encode("utf-8") + b"\0")
    for payload in payloads:
        digest.update(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode("utf-8"))
        digest.update(b"\0")
    return str(uuid.UUID(bytes=digest.digest()[:16]))


class TimeActivitySender:
    """Sends one set of lines through a :class:`.client.QboClient`: one instance per call.

    ``attempt``: see :func:`request_id_for`; without one, each call is a new
    attempt. ``deadline``: a ``time.monotonic()`` value no wait may pass.
    ``workers`` bounds the threads (at most ``limits.concurrent``; half of it
    by default, which keeps the server's own in-flight count below the limit
    even when a new request races the server's bookkeeping of the previous
    answer). ``max_rounds`` bounds how often a line is sent after retryable
    or uncertain failures.
    """

    def __init__(self, client, *, attempt="", deadline=None, workers=None, max_rounds=4):
        self.client = client
        self.attempt = attempt or uuid.uuid4().hex
        self.deadline = deadline
        concurrent = client.limits.concurrent
        self.workers = min(concurrent, workers or max(1, concurrent // 2))
        self.max_rounds = max_rounds
        self._queue = deque()
        self._lock = threading.Lock()
        self._stop_fault = None
        self._results = None

    # ------------------------------------------------------------------ steps

    def send(self, payloads, keys, *, reconcile_first=False):
        payloads, keys = list(payloads), [str(key) for key in keys]
        if len(payloads) != len(keys):
            raise ValueError("one key per payload is required")
        if len(set(keys)) != len(keys):
            raise ValueError("keys must be unique")
        if self._results is not None:
            raise RuntimeError("a TimeActivitySender sends once")
        self._results = [SendResult(key) for key in keys]
        lines = self._prepare(payloads, keys)
        if reconcile_first and lines:
            lines = self._reconcile_first(lines)
        self._queue.extend(lines)
        self._drain()
        self._settle_left_over()
        return self._results

    def _prepare(self, payloads, keys):
        """Check and mark every payload; lines that cannot be sent fail here."""
        lines = []
        for index, (payload, key) in enumerate(zip(payloads, keys, strict=True)):
            payload = activity_payloads.normalize(payload)
            fault = activity_payloads.check(payload)
            if fault is not None:
                self._results[index].fault = fault
                continue
            lines.append(_Line(index, key, activity_payloads.with_marker(payload, key)))
        return lines

    def _reconcile_first(self, lines):
        """Lines a previous try already created are reconciled; the others are to send."""
        try:
            found = self._lookup(lines)
        except Deferred as deferred:
            self._defer(lines, deferred)
            return []
        return [line for line in lines if not self._reconciled_if_found(line, found)]

    def _drain(self):
        """Run the workers until the queue is empty or the run stopped."""
        workers = min(self.workers, len(self._queue))
        if workers == 1:
            self._work()
        elif workers > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for future in [pool.submit(self._work) for _ in range(workers)]:
                    future.result()

    def _work(self):
        """One thread: take what the pacer admits, send it, settle the answers; until done."""
        pacer = self.client.pacer
        while (kinds := self._kinds()) is not None:
            try:
                permit = pacer.acquire(*kinds, deadline=self.deadline)
            except Deferred as deferred:
                self._stop(deferred)
                return
            except Exception as exc:  # the pacer's store failed: reported on the lines left
                self._stop(self._unexpected(exc))
                return
            lines = self._take(permit.kind)
            if not lines:
                pacer.cancel(permit)
                return
            self._send_guarded(lines, permit)

    def _kinds(self):
        """What to ask the pacer for, preferred first; None when there is nothing left to send."""
        with self._lock:
            if self._stop_fault is not None or not self._queue:
                return None
            several = len(self._queue) > 1
        if not self.client.limits.single_creates_per_minute:
            return (BATCH,)
        # One line left: a single create, so as not to spend a batch request on it.
        return (BATCH, BULK) if several else (BULK, BATCH)

    def _take(self, kind):
        """Lines for one request of ``kind``: a batch's worth, or one."""
        with self._lock:
            if self._stop_fault is not None:
                return []
            count = self.client.batch_size if kind == BATCH else 1
            lines = [self._queue.popleft() for _ in range(min(count, len(self._queue)))]
        for line in lines:
            line.state = "sending"
        return lines

    def _send_guarded(self, lines, permit):
        """Send one request, but an unexpected error cannot hide the Ids already created.

        A storage failure while persisting rotated tokens, or a bug, stops the
        run; the lines of this request fail as *uncertain* (they may have
        reached QBO), and every other line keeps its result.
        """
        try:
            if permit.kind == BATCH:
                self._send_batch(lines, permit)
            else:
                self._send_single(lines[0], permit)
        except Exception as exc:  # reported on every unresolved line, traceback logged
            fault = self._unexpected(exc)
            self._stop(fault)
            self._fail([line for line in lines if line.state == "sending"], fault)
        finally:
            self.client.pacer.release(permit)  # no-op once the client released it

    def _send_batch(self, lines, permit):
        for position, line in enumerate(lines):
            line.bid = str(position)
        request_id = request_id_for(
            self.attempt, [line.key for line in lines], [line.payload for line in lines]
        )
        try:
            answers = self.client._batch_create(
                [(line.bid, line.payload) for line in lines],
                request_id,
                deadline=self.deadline,
                permit=permit,
                retry_throttle=False,
            )
        except QboFault as fault:
            self._settle_faults([(line, fault) for line in lines])
            return
        faulted = []
        for line, answer in zip(lines, answers, strict=True):
            if isinstance(answer, QboFault):
                faulted.append((line, answer))
            else:
                self._created(line, answer)
        self._settle_faults(faulted)

    def _send_single(self, line, permit):
        request_id = request_id_for(self.attempt, [line.key], [line.payload], operation="create")
        try:
            created = self.client._create_time_activity(
                line.payload,
                request_id,
                deadline=self.deadline,
                permit=permit,
                retry_throttle=False,
            )
        except QboFault as fault:
            self._settle_faults([(line, fault)])
            return
        self._created(line, created)

    # ------------------------------------------------------------------ faults

    def _settle_faults(self, faulted):
        """Settle ``(line, fault)`` pairs: each decision runs once for all the lines it concerns."""
        groups = {}
        for line, fault in faulted:
            groups.setdefault(_decision(fault), []).append((line, fault))
        for decision, pairs in groups.items():
            lines, fault = [line for line, _fault in pairs], pairs[-1][1]
            if decision == "fail":
                for line, own_fault in pairs:
                    self._fail([line], own_fault)
            elif decision == "defer":
                self._defer(lines, fault)
                self._stop(fault)
            elif decision == "stop":
                self._stop(fault)
                self._fail(lines, fault)
            elif decision == "reconcile":
                self._reconcile_and_requeue(lines, fault)
            elif decision == "throttled":
                self._requeue_throttled(lines, fault)
            else:
                self._requeue_after_backoff(lines, fault)

    def _reconcile_and_requeue(self, lines, fault):
        """After an uncertain outcome: lines QBO holds are reconciled, the others sent again."""
        try:
            found = self._lookup(lines)
        except QboFault as lookup_fault:
            _logger.warning(
                "QBO reconciliation failed (%s); %d lines left uncertain",
                lookup_fault.code,
                len(lines),
            )
            fault.uncertain = True
            self._fail(lines, fault)
            if isinstance(lookup_fault, Deferred) or lookup_fault.connection_lost:
                self._stop(lookup_fault)
            return
        missing = [line for line in lines if not self._reconciled_if_found(line, found)]
        _logger.info(
            "QBO reconciliation: %d of %d lines already there",
            len(lines) - len(missing),
            len(lines),
        )
        self._requeue(missing, fault)

    def _requeue_throttled(self, lines, fault):
        """Back to the queue (the pacer holds the realm); deferred after too many 429s."""
        retry_after = (fault.retry_after or DEFAULT_THROTTLE_WAIT) / self.client.time_scale
        for line in lines:
            line.throttled += 1
            if line.throttled >= self.client.retry.throttle_attempts:
                self._defer([line], fault, retry_after)
            else:
                self._enqueue(line)

    def _requeue_after_backoff(self, lines, fault):
        """Back to the queue, after a backoff (QBO is failing); failed after ``max_rounds``."""
        rounds = self._requeue(lines, fault)
        try:
            self.client.retry.wait(self.client.retry.backoff(rounds), deadline=self.deadline)
        except Deferred as deferred:
            self._stop(deferred)

    def _requeue(self, lines, fault):
        """Send ``lines`` again unless they were sent ``max_rounds`` times; the highest round."""
        highest = 0
        for line in lines:
            line.rounds += 1
            highest = max(highest, line.rounds)
            if line.rounds >= self.max_rounds:
                self._fail([line], fault)
            else:
                self._enqueue(line)
        return highest

    def _lookup(self, lines):
        """QBO's copies of ``lines``, by marker."""
        dated_keys = {line.key: line.payload.get("TxnDate") for line in lines}
        return find_marked(self.client, dated_keys, deadline=self.deadline)

    # ------------------------------------------------------------------ outcomes

    def _enqueue(self, line):
        line.state = "queued"
        with self._lock:
            self._queue.append(line)

    def _created(self, line, answer):
        result = self._settle(line, "created")
        result.qbo_id = str(answer.get("Id"))
        result.sync_token = answer.get("SyncToken")
        result.billable_status = answer.get("BillableStatus")

    def _reconciled_if_found(self, line, found):
        stored = found.get(line.key)
        if stored is None:
            return False
        result = self._settle(line, "reconciled")
        result.qbo_id = str(stored.get("Id"))
        result.sync_token = stored.get("SyncToken")
        result.billable_status = stored.get("BillableStatus")
        result.changes = activity_payloads.differences(line.payload, stored)
        return True

    def _fail(self, lines, fault):
        for line in lines:
            self._settle(line, "failed").fault = fault

    def _defer(self, lines, fault, retry_after=None):
        for line in lines:
            result = self._settle(line, "deferred")
            result.fault = fault
            result.retry_after = fault.retry_after if retry_after is None else retry_after

    def _settle(self, line, outcome):
        line.state = "settled"
        result = self._results[line.index]
        result.outcome = outcome
        result.fault = None
        return result

    def _settle_left_over(self):
        """Lines still queued when the run stopped: deferred by a deadline, else failed."""
        fault = self._stop_fault
        left = list(self._queue)
        self._queue.clear()
        if isinstance(fault, Deferred):
            self._defer(left, fault)
        elif left:
            self._fail(left, fault)

    def _stop(self, fault):
        with self._lock:
            if self._stop_fault is None:
                self._stop_fault = fault

    @staticmethod
    def _unexpected(exc):
        _logger.exception("QBO sending stopped by an unexpected error")
        return QboFault(
            "unknown",
            code=type(exc).__name__,
            message=f"Sending stopped by an unexpected error: {exc}",
            uncertain=True,
        )


def _decision(fault):
    """What a fault means for the lines it hit: the one place that decides."""
    if isinstance(fault, Deferred):
        return "defer"
    if fault.connection_lost:
        return "stop"
    if fault.uncertain or fault.duplicate_request:
        return "reconcile"
    if fault.kind == "throttle":
        return "throttled"
    if fault.retryable:
        return "retry"
    return "fail"
