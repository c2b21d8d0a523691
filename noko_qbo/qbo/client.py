"""The QuickBooks Online Accounting API client (minor version 75).

Every request goes through one path, :meth:`QboClient._request`: pace
(per-realm limits, shared through the pacer's store), send with the
*current* bearer token and explicit timeouts, turn the answer into data or a
:class:`.errors.QboFault`, then decide: refresh once on 401, pause the realm
and retry on 429, back off on 5xx/timeouts, never retry validation faults,
and never resend a create whose outcome is uncertain (the sender reconciles
first). With a ``deadline`` no wait runs past it (:class:`.errors.Deferred`).

Payloads are built with python-quickbooks' objects (:mod:`.payloads`), but
every request, single creates and deletes included, goes through our own
``requests.Session``: the library's error parsing loses the HTTP status and
mangles XML, lower-case and HTML faults, and it cannot pace or keep deadlines.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import NamedTuple

import requests

from . import query as qbo_query
from .errors import (
    DEFAULT_THROTTLE_WAIT,
    Deferred,
    QboFault,
    ReconnectNeeded,
    fault_from_dict,
    parse_fault,
    transport_fault,
)
from .pacing import RealmPacer, pacer_for
from .retry import RetryPolicy
from .timestamps import parse_timestamp
from .windows import BATCH, REQUEST

_logger = logging.getLogger(__name__)

MINOR_VERSION = 75
BATCH_MAX = 30
BATCH_MIN = 10
USER_AGENT = "noko_qbo"
#: Ids per ``Id IN (...)`` statement: keeps statements short, and under one page.
IDS_PER_QUERY = 100
_QUERY_META = {"startPosition", "maxResults", "totalCount"}
_JSON = "application/json"


class UpdatedActivities(NamedTuple):
    """TimeActivities changed since a time, and the newest ``LastUpdatedTime`` among them."""

    rows: list
    newest: datetime | None


@dataclass(frozen=True)
class _ApiRequest:
    """One Accounting API request, and what pacing and retries need to know about it."""

    method: str
    path: str
    data: bytes | None = None
    params: dict = field(default_factory=dict)
    content_type: str = _JSON
    pace: str = REQUEST

    @property
    def is_read(self):
        """Reads are metered by Intuit: counted in ``stats["reads"]``."""
        return self.method == "GET" or self.path == "query"

    @property
    def replayable(self):
        """Whether sending it again after an uncertain outcome is harmless.

        Reads and deletes are (a repeated delete finds nothing to delete);
        creates are not, whatever their requestid: they are reconciled first.
        """
        return self.is_read or self.params.get("operation") == "delete"


class QboClient:
    """One company (realm) of one QBO environment, seen through a :class:`.tokens.TokenSource`.

    Thread-safe: ``send_time_activities`` runs requests from several threads.
    ``time_scale`` shrinks every wait (rate windows, Retry-After, backoff) to
    match a time-scaled ``qbo_sandbox`` (default: the environment's own).
    Pacing: ``window_store`` (a :class:`.pacing.WindowStore`, e.g. the Odoo
    layer's PostgreSQL one) shares the realm's windows across processes;
    without it, clients of one realm in this process share
    :func:`.pacing.pacer_for`. Hook: ``session``,
    ``pacer`` (whose limits then win over ``limits``) and ``retry`` can be
    injected (tests, benchmarks, stricter jobs).
    """

    def __init__(
        self,
        environment,
        realm_id,
        token_source,
        *,
        timeout=(5, 60),
        limits=None,
        batch_size=BATCH_MAX,
        retry=None,
        time_scale=None,
        session=None,
        pacer=None,
        window_store=None,
        minor_version=MINOR_VERSION,
    ):
        if not BATCH_MIN <= batch_size <= BATCH_MAX:
            raise ValueError(f"batch_size must be between {BATCH_MIN} and {BATCH_MAX}")
        self.environment = environment
        self.realm_id = str(realm_id)
        self.tokens = token_source
        self.timeout = timeout
        self.batch_size = batch_size
        self.time_scale = float(time_scale or environment.time_scale)
        self.retry = retry or RetryPolicy(time_scale=self.time_scale)
        self.minor_version = minor_version
        if pacer is None and window_store is not None:
            pacer = RealmPacer(limits, store=window_store, time_scale=self.time_scale)
        self.pacer = pacer or pacer_for(
            environment.api_base, self.realm_id, limits, time_scale=self.time_scale
        )
        self._http = session or self._new_session(self.limits.concurrent)
        self._stats_lock = threading.Lock()
        self.stats = {"requests": 0, "reads": 0, "throttled": 0, "retried": 0, "refreshed": 0}

    @property
    def limits(self):
        """The limits this client is paced under (its pacer's)."""
        return self.pacer.limits

    @staticmethod
    def _new_session(pool_size):
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=2, pool_maxsize=max(10, pool_size))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _count(self, name, n=1):
        with self._stats_lock:
            self.stats[name] += n

    # ------------------------------------------------------------------ reads

    def query(self, statement, *, deadline=None):
        """Rows of one ``SELECT`` (one page); ``[]`` when QBO returns no entity key."""
        request = _ApiRequest(
            "POST",
            "query",
            data=statement.encode("utf-8"),
            content_type="application/text; charset=utf-8",
        )
        response = self._request(request, deadline=deadline).get("QueryResponse") or {}
        for key, value in response.items():
            if key not in _QUERY_META and isinstance(value, list):
                return value
        return []

    def query_all(self, entity, where="", order_by="Id", *, deadline=None):
        """Every matching record, in pages of 1000 (a stable ``order_by`` keeps pages apart)."""
        rows = []
        for statement in qbo_query.pages(entity, where, order_by):
            page = self.query(statement, deadline=deadline)
            rows.extend(page)
            if len(page) < qbo_query.MAX_RESULTS:
                return rows
        return rows  # pragma: no cover - pages() never ends on its own

    def company_info(self):
        """The company's ``CompanyInfo`` (name, country, fiscal year...)."""
        answer = self._request(_ApiRequest("GET", f"companyinfo/{self.realm_id}"))
        return answer.get("CompanyInfo") or {}

    def preferences(self):
        """The company's ``Preferences`` (time tracking, classes, departments...)."""
        return self._request(_ApiRequest("GET", "preferences")).get("Preferences") or {}

    def time_tracking_enabled(self, preferences=None):
        """Whether QBO's Time Tracking feature is on (``OtherPrefs`` TimeTrackingFeatureEnabled)."""
        preferences = preferences if preferences is not None else self.preferences()
        other = (preferences.get("OtherPrefs") or {}).get("NameValue") or []
        for pair in other:
            if pair.get("Name") == "TimeTrackingFeatureEnabled":
                return str(pair.get("Value")).lower() == "true"
        return False

    def get_time_activity(self, activity_id, *, deadline=None):
        """One TimeActivity by Id, or None when QBO no longer has it (it answers 610/404)."""
        try:
            answer = self._request(
                _ApiRequest("GET", f"timeactivity/{activity_id}"), deadline=deadline
            )
        except QboFault as fault:
            if fault.kind == "not_found":
                return None
            raise
        return answer.get("TimeActivity") or None

    def time_activities_by_ids(self, ids, *, deadline=None):
        """The TimeActivities of ``ids`` QBO still has (``Id IN (...)``, 100 Ids a statement)."""
        ids = list(dict.fromkeys(str(activity_id) for activity_id in ids))
        rows = []
        for start in range(0, len(ids), IDS_PER_QUERY):
            where = qbo_query.condition("Id", ids[start : start + IDS_PER_QUERY])
            rows.extend(self.query_all("TimeActivity", where, deadline=deadline))
        return rows

    def time_activities_updated_since(self, since, *, deadline=None):
        """TimeActivities whose ``MetaData.LastUpdatedTime`` is after ``since``, and the newest one.

        ``since`` is an aware datetime (a naive one is taken as UTC), or a
        timestamp string QBO wrote. Pass the returned ``newest`` next time,
        ideally minus a little overlap: a row deleted while pages are read
        shifts the later pages by one.
        """
        where = f"MetaData.LastUpdatedTime > {qbo_query.quote(_qbo_timestamp(since))}"
        rows = self.query_all("TimeActivity", where, deadline=deadline)
        stamps = [
            parse_timestamp((row.get("MetaData") or {}).get("LastUpdatedTime")) for row in rows
        ]
        known = [stamp for stamp in stamps if stamp is not None]
        return UpdatedActivities(rows, max(known) if known else None)

    def time_activities_between(self, start_date, end_date, *, deadline=None):
        """Every TimeActivity dated from ``start_date`` to ``end_date`` (to re-link by marker)."""
        where = (
            f"TxnDate >= {qbo_query.literal(_as_date(start_date))} "
            f"AND TxnDate <= {qbo_query.literal(_as_date(end_date))}"
        )
        return self.query_all("TimeActivity", where, deadline=deadline)

    # ------------------------------------------------------------------ writes

    def create_time_activity(self, payload, request_id, *, deadline=None):
        """Create one TimeActivity with ``requestid`` (a replay returns the original).

        An uncertain outcome raises (``fault.uncertain``): reconcile before sending again.
        """
        return self._create_time_activity(payload, request_id, deadline=deadline)

    def delete_time_activity(self, activity_id, sync_token, *, deadline=None):
        """Delete a TimeActivity; a stale ``sync_token`` raises a ``stale`` fault (5010)."""
        body = {"Id": str(activity_id), "SyncToken": str(sync_token)}
        request = _ApiRequest(
            "POST",
            "timeactivity",
            data=json.dumps(body).encode("utf-8"),
            params={"operation": "delete"},
        )
        return self._request(request, deadline=deadline).get("TimeActivity") or {}

    def remove_time_activity(self, activity_id, *, current=None, keep=None, deadline=None):
        """Delete a TimeActivity whatever its SyncToken: the activity as it was, or None if gone.

        Deletes with the SyncToken of ``current`` (the activity as the caller
        just read it, e.g. by :meth:`time_activities_by_ids`) or else of a fresh
        read; on a stale SyncToken (5010: someone changed it meanwhile) reads
        again and tries once more. ``keep(activity)`` is asked about every copy
        before its delete is sent: when true, nothing is deleted and that copy
        is returned (the caller tells by asking ``keep`` again). Since a delete
        carries the SyncToken of the copy ``keep`` approved, a change made in
        QBO after that read (time billed meanwhile) makes it stale, never
        deleted. A TimeActivity QBO no longer has (the read answers 610/404, or
        the delete answers not_found) counts as removed: None.
        """
        if current is None:
            current = self.get_time_activity(activity_id, deadline=deadline)
        try:
            return self._delete_as_read(current, deadline, keep)
        except QboFault as fault:
            if fault.kind != "stale":
                raise
        return self._delete_as_read(
            self.get_time_activity(activity_id, deadline=deadline), deadline, keep
        )

    def batch_create(self, items, request_id=None, *, deadline=None):
        """Create up to ``batch_size`` TimeActivities in one ``/batch`` request.

        ``items`` are ``(bId, payload)`` pairs (bId at most 10 characters) or
        bare payloads (bIds ``"0"``, ``"1"``...). Returns, in input order, the
        created entity dict or the item's :class:`QboFault`. QBO may answer
        items in any order; an item it does not answer at all gets an
        ``uncertain`` fault. A failure of the whole request raises; an
        uncertain one is never resent: :mod:`.sending` reconciles first.
        """
        return self._batch_create(items, request_id, deadline=deadline)

    def send_time_activities(
        self, payloads, keys, *, reconcile_first=False, attempt="", deadline=None
    ):
        """Send many TimeActivities: one :class:`.sending.SendResult` per input, in order.

        ``attempt`` identifies this try of the caller (e.g. export run and job
        attempt): requestids are derived from it and from the payloads, so a
        retry after the cause of a refusal was fixed is a new request.
        ``deadline`` (a ``time.monotonic()`` value): lines not sent by then
        come back ``deferred``. See :class:`.sending.TimeActivitySender`.
        """
        from .sending import TimeActivitySender

        sender = TimeActivitySender(self, attempt=attempt, deadline=deadline)
        return sender.send(payloads, keys, reconcile_first=reconcile_first)

    def find_time_activities(self, dated_keys, *, deadline=None):
        """``{key: TimeActivity}`` for the line keys (``{key: date}``) QBO already holds, by marker.

        For safety checks before releasing a line that a send may have reached.
        """
        from .reconciliation import find_marked

        return find_marked(self, dated_keys, deadline=deadline)

    def _delete_as_read(self, current, deadline, keep=None):
        """Delete ``current`` (just read) with its SyncToken; None when it is gone already."""
        if current is None:
            return None
        if keep is not None and keep(current):
            return current
        try:
            self.delete_time_activity(current["Id"], current.get("SyncToken"), deadline=deadline)
        except QboFault as fault:
            if fault.kind == "not_found":
                return None
            raise
        return current

    # ------------------------------------------------------------------ writes, for the sender

    def _create_time_activity(
        self, payload, request_id, *, deadline=None, permit=None, retry_throttle=True
    ):
        """:meth:`create_time_activity`; the sender passes the permit it was admitted with."""
        if not request_id or len(request_id) > 50:
            raise ValueError("request_id is required and must be at most 50 characters")
        request = _ApiRequest(
            "POST",
            "timeactivity",
            data=json.dumps(payload).encode("utf-8"),
            params={"requestid": request_id},
            pace=permit.kind if permit else REQUEST,
        )
        answer = self._request(
            request, deadline=deadline, permit=permit, retry_throttle=retry_throttle
        )
        return answer.get("TimeActivity") or {}

    def _batch_create(self, items, request_id, *, deadline=None, permit=None, retry_throttle=True):
        """:meth:`batch_create`; the sender passes the permit it was admitted with."""
        pairs = [
            item if isinstance(item, tuple) else (str(i), item) for i, item in enumerate(items)
        ]
        if not pairs:
            return []
        if len(pairs) > self.batch_size:
            raise ValueError(f"at most {self.batch_size} items per batch request")
        if request_id is not None and len(request_id) > 36:
            raise ValueError("a batch requestid is at most 36 characters")
        body = {
            "BatchItemRequest": [
                {"bId": bid, "operation": "create", "TimeActivity": payload}
                for bid, payload in pairs
            ]
        }
        request = _ApiRequest(
            "POST",
            "batch",
            data=json.dumps(body).encode("utf-8"),
            params={"requestid": request_id} if request_id else {},
            pace=BATCH,
        )
        answer = self._request(
            request, deadline=deadline, permit=permit, retry_throttle=retry_throttle
        )
        return _batch_results(pairs, answer)

    # ------------------------------------------------------------------ transport

    def _request(self, request, *, deadline=None, permit=None, retry_throttle=True):
        """Send ``request`` through pacing and the retry rules; the JSON answer.

        - auth (401/3200): refresh once through the token source, retry once;
          a second auth failure means the connection is gone.
        - throttle (429): pause the realm for Retry-After (default 60 s; only
          batch requests if a batch request was refused), then retry up to
          ``retry.throttle_attempts`` tries (none if not ``retry_throttle``:
          the caller requeues); the pacer holds the retry until the pause ends.
        - server (5xx, timeouts, resets): jittered exponential backoff up to
          ``retry.server_attempts`` tries; an uncertain failure of a request
          that is not replayable is raised at once for the caller to reconcile.
        - anything else: raised as is. ``permit``: the first try was already
          admitted; later tries are paced anew.
        """
        tokens = self.tokens.current()
        refreshed = False
        throttles = failures = 0
        while True:
            try:
                return self._exchange(request, tokens.access_token, permit, deadline)
            except Deferred:
                raise
            except QboFault as fault:
                permit = None
                if fault.kind == "auth" and not isinstance(fault, ReconnectNeeded):
                    tokens = self._refreshed(tokens, fault, refreshed)
                    refreshed = True
                    continue
                if fault.kind == "throttle":
                    throttles += 1
                    self._throttled(request, fault)
                    if not retry_throttle or not self.retry.allows(fault, throttles):
                        raise
                    self._count("retried")
                    continue
                if fault.kind == "server":
                    if fault.uncertain and not request.replayable:
                        raise
                    failures += 1
                    if not self.retry.allows(fault, failures):
                        raise
                    _logger.info("QBO server fault %s: retry %d", fault.code, failures)
                    self._count("retried")
                    self.retry.wait(self.retry.backoff(failures), deadline=deadline)
                    continue
                raise

    def _refreshed(self, tokens, fault, already_refreshed):
        """New tokens after a 401; a second 401 on fresh tokens means reconnect."""
        if already_refreshed:
            raise ReconnectNeeded(
                "QuickBooks rejects fresh tokens: reconnect the company",
                detail=fault.summary(),
                code=fault.code,
                status=fault.status,
            ) from fault
        _logger.info("QBO answered %s: refreshing tokens once", fault.code)
        self._count("refreshed")
        return self.tokens.refresh(tokens)

    def _throttled(self, request, fault):
        """A 429: hold the realm (every process sharing the pacer's store) as QBO asks."""
        self._count("throttled")
        self.pacer.pause(
            fault.retry_after or DEFAULT_THROTTLE_WAIT, batch_only=request.pace == BATCH
        )

    def _exchange(self, request, access_token, permit, deadline):
        """One paced HTTP exchange: the JSON answer, or the fault it carries."""
        headers = {
            "Authorization": f"Bearer {access_token}",
            "Accept": _JSON,
            "Content-Type": request.content_type,
            "User-Agent": USER_AGENT,
        }
        params = {"minorversion": self.minor_version, **request.params}
        permit = permit or self.pacer.acquire(request.pace, deadline=deadline)
        self._count("requests")
        if request.is_read:
            self._count("reads")
        try:
            response = self._http.request(
                request.method,
                self.environment.company_url(self.realm_id, request.path),
                params=params,
                data=request.data,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.ConnectTimeout as exc:
            raise transport_fault(exc, sent=False) from exc
        except requests.ConnectionError as exc:
            raise transport_fault(exc, sent=_maybe_sent(exc)) from exc
        except requests.Timeout as exc:
            raise transport_fault(exc, sent=True) from exc
        finally:
            self.pacer.release(permit)
        return _answer(response.status_code, response.headers, response.content)


def _answer(status, headers, body):
    """The JSON answer of a response, or raise the fault it carries."""
    fault = parse_fault(status, headers, body)
    if fault is not None:
        if fault.kind == "server" and status in (500, 502, 504):
            # The gateway may have passed the request on before failing.
            fault.uncertain = True
        raise fault
    try:
        return json.loads(body) if body else {}
    except ValueError:
        raise QboFault(
            "unknown", code="bad_json", message=f"HTTP {status} answer is not JSON", status=status
        ) from None


def _batch_results(pairs, answer):
    """Per item, in input order: the created entity, its Fault, or uncertain if unanswered."""
    by_bid = {str(item.get("bId")): item for item in answer.get("BatchItemResponse") or []}
    results = []
    for bid, _payload in pairs:
        item = by_bid.get(bid)
        if item is None:
            results.append(
                QboFault(
                    "unknown",
                    code="missing",
                    message=f"Batch answer lacks item {bid}",
                    uncertain=True,
                )
            )
        elif item.get("Fault"):
            results.append(fault_from_dict(item["Fault"]))
        else:
            results.append(item.get("TimeActivity") or {})
    return results


def _maybe_sent(exc):
    """Whether a ConnectionError may have happened after the request reached the server.

    Refused or unresolvable connections never carried the request; resets and
    remote disconnects after connecting may have.
    """
    text = repr(exc.args[0] if exc.args else None)
    return not any(
        marker in text
        for marker in ("NewConnectionError", "Failed to establish", "NameResolutionError")
    )


def _qbo_timestamp(value):
    """A timestamp for QBO's query language: ISO 8601 with offset, to the second."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat(timespec="seconds")
    return str(value)


def _as_date(value):
    return (
        value.date()
        if isinstance(value, datetime)
        else value
        if isinstance(value, date)
        else str(value)
    )
