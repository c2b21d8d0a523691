"""The QuickBooks Online Accounting API client (minor version 75).

Every request goes through one path: pace (per-realm limits), send with the
*current* bearer token and explicit timeouts, turn the answer into data or a
:class:`.errors.QboFault`, then decide: refresh once on 401, wait out a 429,
back off on 5xx/timeouts, never retry validation faults.

Queries and batches use our own ``requests.Session`` so status codes and raw
bodies are visible. Single-object writes (create with ``requestid``, delete)
go through python-quickbooks' ``TimeActivity``/``QuickBooks`` objects, with a
transport adapter underneath that applies the same pacing and timeouts and
records the raw answer, because the library's own error parsing loses the
HTTP status and mangles XML, lower-case and HTML faults. The library never
refreshes tokens here: it is never given an ``AuthClient``.
"""

from __future__ import annotations

import json
import logging
import threading

import requests
from quickbooks.client import QuickBooks
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.timeactivity import TimeActivity

from . import query as qbo_query
from .errors import (
    QboFault,
    ReconnectNeeded,
    fault_from_dict,
    from_quickbooks_exception,
    parse_fault,
    transport_fault,
)
from .limits import Limits, pacer_for
from .retry import RetryPolicy

_logger = logging.getLogger(__name__)

MINOR_VERSION = 75
BATCH_MAX = 30
BATCH_MIN = 10
USER_AGENT = "noko_qbo (python-quickbooks 0.9.12)"
_QUERY_META = {"startPosition", "maxResults", "totalCount"}


class QboClient:
    """One company (realm) of one QBO environment, seen through a :class:`.tokens.TokenSource`.

    Thread-safe: ``send_time_activities`` runs batches from several threads.
    ``time_scale`` shrinks every wait (rate windows, Retry-After, backoff) to
    match a time-scaled ``qbo_sandbox``. Hook: ``session``, ``pacer`` and
    ``retry`` can be injected (tests, benchmarks, stricter jobs).
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
        time_scale=1.0,
        session=None,
        pacer=None,
        minor_version=MINOR_VERSION,
    ):
        if not BATCH_MIN <= batch_size <= BATCH_MAX:
            raise ValueError(f"batch_size must be between {BATCH_MIN} and {BATCH_MAX}")
        self.environment = environment
        self.realm_id = str(realm_id)
        self.tokens = token_source
        self.timeout = timeout
        self.limits = limits or Limits()
        self.batch_size = batch_size
        self.time_scale = float(time_scale)
        self.retry = retry or RetryPolicy(time_scale=self.time_scale)
        self.minor_version = minor_version
        self.pacer = pacer or pacer_for(
            environment.api_base, self.realm_id, limits, time_scale=self.time_scale
        )
        self._http = session or self._new_session(self.limits.concurrent)
        self._stats_lock = threading.Lock()
        self.stats = {"requests": 0, "throttled": 0, "retried": 0, "refreshed": 0}

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

    def query(self, statement):
        """Rows of one ``SELECT`` (one page); ``[]`` when QBO returns no entity key."""
        answer = self._request(
            "POST",
            "query",
            data=statement.encode("utf-8"),
            content_type="application/text; charset=utf-8",
        )
        response = answer.get("QueryResponse") or {}
        for key, value in response.items():
            if key not in _QUERY_META and isinstance(value, list):
                return value
        return []

    def count(self, entity, where=""):
        """``SELECT COUNT(*)``: the number of matching records."""
        statement = qbo_query.select(entity, where, columns="COUNT(*)")
        answer = self._request(
            "POST",
            "query",
            data=statement.encode("utf-8"),
            content_type="application/text; charset=utf-8",
        )
        return int((answer.get("QueryResponse") or {}).get("totalCount") or 0)

    def query_all(self, entity, where="", order_by="Id"):
        """Every matching record, in pages of 1000 (a stable ``order_by`` keeps pages apart)."""
        rows = []
        for statement in qbo_query.pages(entity, where, order_by):
            page = self.query(statement)
            rows.extend(page)
            if len(page) < qbo_query.MAX_RESULTS:
                return rows
        return rows  # pragma: no cover - pages() never ends on its own

    def company_info(self):
        """The company's ``CompanyInfo`` (name, country, fiscal year...)."""
        return self._request("GET", f"companyinfo/{self.realm_id}").get("CompanyInfo") or {}

    def preferences(self):
        """The company's ``Preferences`` (time tracking, classes, departments...)."""
        return self._request("GET", "preferences").get("Preferences") or {}

    def time_tracking_enabled(self, preferences=None):
        """Whether QBO's Time Tracking feature is on (``OtherPrefs`` TimeTrackingFeatureEnabled)."""
        preferences = preferences if preferences is not None else self.preferences()
        other = (preferences.get("OtherPrefs") or {}).get("NameValue") or []
        for pair in other:
            if pair.get("Name") == "TimeTrackingFeatureEnabled":
                return str(pair.get("Value")).lower() == "true"
        return False

    # ------------------------------------------------------------------ writes

    def create_time_activity(self, payload, request_id):
        """Create one TimeActivity with ``requestid`` (a replay returns the original)."""
        if not request_id or len(request_id) > 50:
            raise ValueError("request_id is required and must be at most 50 characters")
        activity = TimeActivity.from_json(payload)
        answer = self._library_call(
            lambda qb: activity.save(qb=qb, request_id=request_id), replay_safe=True
        )
        return answer.get("TimeActivity") or {}

    def delete_time_activity(self, id, sync_token):  # noqa: A002 - QBO's field name
        """Delete a TimeActivity; a stale ``sync_token`` raises a ``stale`` fault."""
        activity = TimeActivity()
        activity.Id = str(id)
        activity.SyncToken = str(sync_token)
        answer = self._library_call(lambda qb: activity.delete(qb=qb), replay_safe=True)
        return answer.get("TimeActivity") or {}

    def batch_create(self, items, request_id=None):
        """Create up to ``batch_size`` TimeActivities in one ``/batch`` request.

        ``items`` are ``(bId, payload)`` pairs (bId at most 10 characters) or
        bare payloads (bIds ``"0"``, ``"1"``...). Returns, in input order, the
        created entity dict or the item's :class:`QboFault`. QBO may answer
        items in any order; an item it does not answer at all gets an
        ``uncertain`` fault. A failure of the whole request raises. Never
        retried after an uncertain outcome: :mod:`.sending` reconciles first.
        """
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
        params = {"requestid": request_id} if request_id else None
        answer = self._request(
            "POST",
            "batch",
            data=json.dumps(body).encode("utf-8"),
            params=params,
            batch=True,
            replay_safe=False,
        )
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

    def send_time_activities(self, payloads, keys, *, reconcile_first=False):
        """Send many TimeActivities: one :class:`.sending.SendResult` per input, in order.

        See :class:`.sending.TimeActivitySender` for batching, concurrency and
        reconciliation after uncertain outcomes.
        """
        from .sending import TimeActivitySender

        sender = TimeActivitySender(self)
        return sender.send(payloads, keys, reconcile_first=reconcile_first)

    def find_time_activities(self, dated_keys):
        """``{key: TimeActivity}`` for the line keys (``{key: date}``) QBO already holds.

        For safety checks before releasing a line that a send may have reached.
        """
        from .sending import find_by_keys

        return find_by_keys(self, dated_keys)

    # ------------------------------------------------------------------ transport

    def _url(self, path):
        return self.environment.company_url(self.realm_id, path)

    def _request(
        self,
        method,
        path,
        *,
        data=None,
        params=None,
        batch=False,
        replay_safe=True,
        content_type="application/json",
    ):
        """Send one API request through pacing and the retry rules; the JSON answer."""
        url = self._url(path)
        query = {"minorversion": self.minor_version, **(params or {})}

        def attempt(access_token):
            headers = {
                "Authorization": f"Bearer {access_token}",
                "Accept": "application/json",
                "Content-Type": content_type,
                "User-Agent": USER_AGENT,
            }
            status, response_headers, body = self._send(
                method, url, params=query, data=data, headers=headers, batch=batch
            )
            return self._answer(status, response_headers, body, replay_safe)

        return self._resilient(attempt, replay_safe=replay_safe)

    def _send(self, method, url, *, params, data, headers, batch):
        """One paced HTTP exchange: ``(status, headers, body bytes)`` or a transport fault."""
        permit = self.pacer.acquire(batch=batch)
        self._count("requests")
        try:
            response = self._http.request(
                method, url, params=params, data=data, headers=headers, timeout=self.timeout
            )
            return response.status_code, response.headers, response.content
        except requests.ConnectTimeout as exc:
            raise transport_fault(exc, sent=False) from exc
        except requests.ConnectionError as exc:
            raise transport_fault(exc, sent=_maybe_sent(exc)) from exc
        except requests.Timeout as exc:
            raise transport_fault(exc, sent=True) from exc
        finally:
            self.pacer.release(permit)

    @staticmethod
    def _answer(status, headers, body, replay_safe=True):
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
                "unknown",
                code="bad_json",
                message=f"HTTP {status} answer is not JSON",
                status=status,
            ) from None

    def _resilient(self, attempt, *, replay_safe):
        """Run ``attempt(access_token)`` until it succeeds or a rule says stop.

        - auth (401/3200): refresh once through the token source, retry once;
          a second auth failure means the connection is gone.
        - throttle (429): pause the whole realm for Retry-After (default 60 s),
          retry up to ``retry.throttle_attempts`` tries, then raise.
        - server (5xx, timeouts, resets): jittered exponential backoff up to
          ``retry.server_attempts`` tries; an uncertain failure of a request
          that is not replay-safe is raised at once for the caller to reconcile.
        - anything else: raised as is.
        """
        tokens = self.tokens.current()
        refreshed = False
        throttles = failures = 0
        while True:
            try:
                return attempt(tokens.access_token)
            except QboFault as fault:
                if fault.kind == "auth" and not isinstance(fault, ReconnectNeeded):
                    if refreshed:
                        raise ReconnectNeeded(
                            "QuickBooks rejects fresh tokens: reconnect the company",
                            detail=fault.summary(),
                            code=fault.code,
                            status=fault.status,
                        ) from fault
                    _logger.info("QBO answered %s: refreshing tokens once", fault.code)
                    tokens = self.tokens.refresh(tokens)
                    refreshed = True
                    self._count("refreshed")
                    continue
                if fault.kind == "throttle":
                    throttles += 1
                    self._count("throttled")
                    self.pacer.pause(fault.retry_after or 60.0)
                    if not self.retry.allows(fault, throttles):
                        raise
                    self._count("retried")
                    continue
                if fault.kind == "server":
                    if fault.uncertain and not replay_safe:
                        raise
                    failures += 1
                    if not self.retry.allows(fault, failures):
                        raise
                    _logger.info("QBO server fault %s: retry %d", fault.code, failures)
                    self._count("retried")
                    self.retry.wait(self.retry.backoff(failures))
                    continue
                raise

    # ------------------------------------------------------------------ python-quickbooks

    def _library_call(self, call, *, replay_safe):
        """Run ``call(qb)`` on a python-quickbooks client wired to our transport."""

        def attempt(access_token):
            transport = _LibraryTransport(self, access_token)
            qb = QuickBooks(company_id=self.realm_id, minorversion=self.minor_version)
            qb.api_url_v3 = self.environment.api_base
            qb.sandbox = False
            qb.session = transport
            try:
                call(qb)
            except QuickbooksException as exc:
                raise from_quickbooks_exception(exc, transport.last_response) from None
            status, headers, body = transport.last_response
            return self._answer(status, headers, body)

        return self._resilient(attempt, replay_safe=replay_safe)


class _LibraryTransport:
    """Stands in for python-quickbooks' ``OAuth2Session``: our pacing, timeouts and token.

    python-quickbooks reads ``session.access_token`` for the bearer and calls
    ``session.request(...)``; we record the raw answer so faults are parsed
    from the real status and body, not from the library's exception text.
    """

    def __init__(self, client, access_token):
        self._client = client
        self.access_token = access_token
        self.last_response = None

    def request(self, method, url, headers=None, params=None, data=None, **_ignored):
        headers = dict(headers or {})
        headers["User-Agent"] = USER_AGENT
        body = data.encode("utf-8") if isinstance(data, str) else data
        status, response_headers, content = self._client._send(
            method, url, params=params, data=body, headers=headers, batch=False
        )
        self.last_response = (status, response_headers, content)
        return _LibraryResponse(status, content)


class _LibraryResponse:
    """The little of ``requests.Response`` python-quickbooks reads."""

    def __init__(self, status, content):
        self.status_code = status
        self.content = content
        self.text = content.decode("utf-8", errors="replace") if content else ""


def _maybe_sent(exc):
    """Whether a ConnectionError may have happened after the request reached the server.

    Refused or unresolvable connections never carried the request; resets and
    remote disconnects after connecting may have.
    """
    reason = exc.args[0] if exc.args else None
    text = repr(reason)
    return not any(
        marker in text
        for marker in ("NewConnectionError", "Failed to establish", "NameResolutionError")
    )
