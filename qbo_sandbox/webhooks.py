"""Webhooks: signed change notifications POSTed to the app's endpoint, as Intuit sends them.

Realms announce every Create/Update/Delete; while an endpoint is registered
the events queue up and one background thread delivers them, so API
requests never wait on the endpoint. Like Intuit, the sender coalesces:
the first event waits ``delay`` sandbox seconds for others, and one
delivery carries all of them (several realms too). The header
``intuit-signature`` is base64(HMAC-SHA256(key=verifier token, msg=raw body)).
A delivery answered 500, 502, 503, 504 or 408, or not answered within
3 s, is sent again after 20, 30, then 50 sandbox minutes, then dropped;
any other status is final (Intuit's webhook retry policy).
"""

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

_logger = logging.getLogger(__name__)

FORMATS = ("cloudevents", "legacy")
RETRY_STATUSES = frozenset({500, 502, 503, 504, 408})
RETRY_DELAYS = (20 * 60, 30 * 60, 50 * 60)  # sandbox seconds after each failed attempt
COALESCE_SECONDS = 1.0  # sandbox seconds the first pending event waits for others
RESPONSE_TIMEOUT = 3.0  # real seconds: Intuit wants the 200 within 3 s
MAX_IDLE_WAIT = 1.0  # real seconds between looks at the clock when nothing wakes the sender
PAST_TENSE = {
    "Create": "created",
    "Update": "updated",
    "Delete": "deleted",
    "Merge": "merged",
    "Void": "voided",
    "Emailed": "emailed",
}


@dataclass(frozen=True)
class Event:
    realm_id: str
    entity: str
    entity_id: str
    operation: str  # Create | Update | Delete | ...
    at: float  # sandbox epoch seconds


@dataclass(frozen=True)
class Subscription:
    url: str
    verifier_token: str
    format: str
    delay: float
    retry_delays: tuple


@dataclass
class _Delivery:
    subscription: Subscription
    body: bytes
    signature: str
    events: int
    generation: int
    attempt: int = 1
    due: float = 0.0  # sandbox time of the next attempt


def signature(verifier_token, body):
    """The ``intuit-signature`` header for ``body`` (bytes)."""
    digest = hmac.new(verifier_token.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def body(events, fmt):
    """The raw JSON Intuit would POST for ``events`` in format ``fmt``."""
    if fmt == "legacy":
        by_realm = {}
        for event in events:
            by_realm.setdefault(event.realm_id, []).append(
                {
                    "name": event.entity,
                    "id": event.entity_id,
                    "operation": event.operation,
                    "lastUpdated": _utc(event.at, "milliseconds"),
                }
            )
        payload = {
            "eventNotifications": [
                {"realmId": realm_id, "dataChangeEvent": {"entities": entities}}
                for realm_id, entities in by_realm.items()
            ]
        }
    else:
        payload = [_cloud_event(event) for event in events]
    return json.dumps(payload, separators=(",", ":")).encode("utf-8")


def _cloud_event(event):
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": _source(event.realm_id),
        "type": f"qbo.{event.entity.lower()}.{PAST_TENSE[event.operation]}.v1",
        "datacontenttype": "application/json",
        "time": _utc(event.at, "microseconds"),
        "intuitentityid": event.entity_id,
        "intuitaccountid": event.realm_id,
        "data": {},
    }


def _source(realm_id):
    # Intuit's sample source is "intuit." and 44 base64 characters (a SHA-256);
    # what it hashes is not documented, so the sandbox hashes the realm id.
    return "intuit." + base64.b64encode(hashlib.sha256(realm_id.encode()).digest()).decode()


def _utc(at, timespec):
    moment = datetime.fromtimestamp(at, UTC).isoformat(timespec=timespec)
    return moment.replace("+00:00", "Z")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is the endpoint's answer, not a place to go: it is logged, not followed."""

    def redirect_request(self, *args, **kwargs):
        return None


class WebhookSender:
    """The queue of events for the registered endpoint and the thread that delivers them."""

    def __init__(self, clock):
        self.clock = clock
        self._cond = threading.Condition()
        self._subscription = None
        self._events = []
        self._first_at = None  # sandbox time the oldest pending event happened
        self._retries = []  # failed deliveries waiting for their next attempt
        self._log = []
        self._sending = False
        self._flushing = 0
        self._stopped = False
        self._thread = None
        self._generation = 0  # bumped by reset(): a delivery in flight then is forgotten
        # never through an HTTP proxy (endpoints are local receivers), never redirected
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)

    # --- configuration and inspection ----------------------------------------

    def subscribe(
        self,
        url,
        verifier_token,
        fmt="cloudevents",
        delay=COALESCE_SECONDS,
        retry_delays=RETRY_DELAYS,
    ):
        """Register the endpoint (``url`` None: webhooks off, pending events dropped).

        Pending events go to the new endpoint; retries of earlier deliveries are dropped.
        """
        if url is not None:
            if fmt not in FORMATS:
                raise ValueError(f"format must be one of {FORMATS}")
            if not verifier_token:
                raise ValueError("a verifier_token is required to sign deliveries")
            subscription = Subscription(
                str(url), str(verifier_token), fmt, float(delay), tuple(map(float, retry_delays))
            )
        with self._cond:
            self._retries.clear()
            if url is None:
                self._subscription = None
                self._events.clear()
                return
            self._subscription = subscription
            self._ensure_thread()
            self._cond.notify_all()

    def deliveries(self):
        """Every attempt so far: url, body (text), signature, status (None: no answer), attempt."""
        with self._cond:
            return [dict(entry) for entry in self._log]

    def flush(self, timeout=5.0):
        """Deliver what is pending now without the coalescing delay, and retries that are due;
        True once the sender is idle, False if ``timeout`` (real seconds) ran out first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flushing += 1
            self._cond.notify_all()
            try:
                while self._events or self._sending or self._due_retry(self.clock.now()):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return False
                    self._cond.wait(remaining)
            finally:
                self._flushing -= 1
        return True

    def wake(self):
        """The sandbox clock jumped: look again at what is due."""
        with self._cond:
            self._cond.notify_all()

    def reset(self):
        with self._cond:
            self._generation += 1
            self._subscription = None
            self._events.clear()
            self._retries.clear()
            self._log.clear()

    def stop(self):
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(RESPONSE_TIMEOUT + 1)

    # --- the realms' listener ------------------------------------------------

    def record(self, realm_id, entity, entity_id, operation, at):
        if self._subscription is None:  # cheap exit for the usual case: no endpoint
            return
        with self._cond:
            if self._subscription is None:
                return
            if not self._events:
                self._first_at = at
                self._cond.notify_all()
            self._events.append(Event(realm_id, entity, str(entity_id), operation, at))

    # --- the sender thread ---------------------------------------------------

    def _ensure_thread(self):
        if self._thread is None or not self._thread.is_alive():
            self._stopped = False
            self._thread = threading.Thread(target=self._run, name="qbo-webhooks", daemon=True)
            self._thread.start()

    def _run(self):
        while True:
            with self._cond:
                job = self._next_job()
                while job is None and not self._stopped:
                    self._cond.wait(self._idle_seconds())
                    job = self._next_job()
                if self._stopped:
                    return
                self._sending = True
                generation = self._generation
            status, error = None, None
            try:
                if isinstance(job, tuple):  # fresh events: sign them once, for every attempt
                    subscription, events = job
                    raw = body(events, subscription.format)
                    token = subscription.verifier_token
                    job = _Delivery(
                        subscription, raw, signature(token, raw), len(events), generation
                    )
                status, error = self._post(job)
            except Exception:  # a bug here must not silence every later notification
                _logger.exception("webhook delivery failed")
            finally:
                with self._cond:
                    self._sending = False
                    if isinstance(job, _Delivery):
                        self._settle(job, status, error)
                    self._cond.notify_all()

    def _next_job(self):
        """A due retry, or ``(subscription, events)`` once their delay is over (or on flush)."""
        now = self.clock.now()
        due = self._due_retry(now)
        if due is not None:
            self._retries.remove(due)
            return due
        subscription = self._subscription
        if not self._events or subscription is None:
            return None
        if self._flushing or now >= self._first_at + subscription.delay:
            events, self._events = self._events, []
            return subscription, events
        return None

    def _due_retry(self, now):
        due = [r for r in self._retries if r.due <= now]
        return min(due, key=lambda r: r.due) if due else None

    def _idle_seconds(self):
        deadlines = [r.due for r in self._retries]
        if self._events and self._subscription is not None:
            deadlines.append(self._first_at + self._subscription.delay)
        if not deadlines:
            return None
        wait = self.clock.real_seconds(min(deadlines) - self.clock.now())
        return min(max(wait, 0.0), MAX_IDLE_WAIT)

    def _post(self, delivery):
        request = urllib.request.Request(
            delivery.subscription.url,
            data=delivery.body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "intuit-signature": delivery.signature,
                "User-Agent": "qbo-sandbox-webhooks",
            },
        )
        try:
            with self._opener.open(request, timeout=RESPONSE_TIMEOUT) as answer:
                answer.read()
                return answer.status, None
        except urllib.error.HTTPError as error:
            error.close()
            return error.code, None
        except (OSError, ValueError) as error:  # refused, reset, timed out, bad URL
            return None, f"{type(error).__name__}: {error}"

    def _settle(self, delivery, status, error):
        """Log the attempt; schedule the next one when the endpoint seems down."""
        if delivery.generation != self._generation:
            return
        self._log.append(
            {
                "url": delivery.subscription.url,
                "body": delivery.body.decode("utf-8"),
                "signature": delivery.signature,
                "status": status,
                "error": error,
                "attempt": delivery.attempt,
                "events": delivery.events,
                "time": self.clock.stamp(),
            }
        )
        delays = delivery.subscription.retry_delays
        endpoint_down = status is None or status in RETRY_STATUSES
        still_registered = delivery.subscription is self._subscription
        if endpoint_down and still_registered and delivery.attempt <= len(delays):
            delivery.due = self.clock.now() + delays[delivery.attempt - 1]
            delivery.attempt += 1
            self._retries.append(delivery)
