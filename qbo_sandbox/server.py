"""HTTP plumbing: the threaded server, URL routing and the sandbox's Python API."""

import json
import logging
import socket
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from . import company as companies
from . import faults, invoices, time_activity
from .accounting import AccountingApi
from .admin import ADMIN_COMMANDS, admin_arguments
from .clock import Clock
from .faults import Reply
from .injection import FaultInjector
from .limits import Limits, RealmThrottle
from .oauth import TEST_CLIENT_ID, OAuthError, OAuthServer
from .webhooks import COALESCE_SECONDS, RETRY_DELAYS, WebhookSender

_logger = logging.getLogger(__name__)

DISCOVERY_PATHS = (
    "/.well-known/openid_configuration",
    "/.well-known/openid_sandbox_configuration",
    "/.well-known/openid-configuration",
)
AUTHORIZE_PATH = "/connect/oauth2"
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
REVOKE_PATH = "/v2/oauth2/tokens/revoke"
USERINFO_PATH = "/v1/openid_connect/userinfo"
API_PREFIX = "/v3/company/"
ADMIN_PREFIX = "/_sandbox/"


class SandboxServer:
    """An offline QuickBooks Online: OAuth, Accounting API v3, limits and fault injection.

    ``hold_seconds`` is how long a ``timeout`` injection keeps a request
    unanswered (real seconds); ``stop()`` and ``reset()`` release it early.
    """

    def __init__(
        self,
        company=None,
        limits=None,
        time_scale=1.0,
        client_id=None,
        client_secret=None,
        access_token_lifetime=3600,
        refresh_token_lifetime=100 * 86400,
        host="127.0.0.1",
        port=0,
        hold_seconds=30.0,
    ):
        self.clock = Clock(time_scale)
        self.limits = limits or Limits()
        self.host, self.port = host, port
        self.oauth = OAuthServer(
            self.clock, client_id, client_secret, access_token_lifetime, refresh_token_lifetime
        )
        self.injector = FaultInjector(hold_seconds)
        self.webhooks = WebhookSender(self.clock)
        self.api = AccountingApi(self)
        self._company = companies.load(company)
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None
        self._fresh_state()

    def _fresh_state(self):
        realm = companies.build_realm(self._company, self.clock)
        realm.listener = self.webhooks.record
        self.realm_id = realm.realm_id
        self.realms = {realm.realm_id: realm}
        self.replays = {}
        self._throttles = {}
        self._storms = {}
        self._stats = {}

    # --- lifecycle --------------------------------------------------------------

    def start(self):
        self._httpd = _HttpServer((self.host, self.port), _Handler)
        self._httpd.sandbox = self
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="qbo-sandbox", daemon=True
        )
        self._thread.start()
        return self

    def stop(self):
        self.injector.clear()  # let held 'timeout' requests go
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.webhooks.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        return f"http://{self.host}:{self.port}"

    # --- tests' shortcuts, fault injection and inspection -------------------------

    def issue_tokens(self, realm_id=None, client_id=None):
        """Tokens without the browser dance; ``client_id`` names the app (its own limits)."""
        realm_id = self._realm(realm_id).realm_id
        return self.oauth.issue(realm_id, client_id=str(client_id or TEST_CLIENT_ID))

    def fail_next(self, n, mode="503", path=None):
        self.injector.fail_next(n, mode, path)

    def apply_then_drop(self, n=1, path="/batch"):
        self.injector.apply_then_drop(n, path)

    def throttle_for(self, seconds, realm_id=None):
        """A 429 storm: every API request of the realm is throttled for ``seconds``
        (sandbox seconds), as when other apps use up the company's budget."""
        realm_id = realm_id or self.realm_id
        with self._lock:
            self._storms[realm_id] = self.clock.now() + float(seconds)

    def in_storm(self, realm_id):
        with self._lock:
            return self.clock.now() < self._storms.get(realm_id, 0.0)

    def revoke_tokens(self, realm_id=None):
        self.oauth.revoke_realm(self._realm(realm_id).realm_id)

    def set_closed_books(self, date_or_none, realm_id=None):
        self._realm(realm_id).set_closed_books(date_or_none)

    def set_time_tracking(self, enabled, realm_id=None):
        self._realm(realm_id).set_time_tracking(bool(enabled))

    def deny_next_authorize(self, n=1):
        """The next ``n`` visits to the authorize endpoint answer ``error=access_denied``."""
        self.oauth.deny_next_authorize(n)

    def entities(self, entity, realm_id=None):
        return self._realm(realm_id).snapshot(entity)

    def company(self, realm_id=None):
        """What the realm holds: ids and names by entity."""
        return companies.describe(self._realm(realm_id))

    def stats(self, realm_id=None):
        realm_id = self._realm(realm_id).realm_id
        with self._lock:
            out = {"requests": 0, "throttled": 0, "batch_requests": 0, "batch_items": 0}
            counters = self._stats.get(realm_id, {})
            out.update(counters)
            out["throttled_by"] = dict(counters.get("throttled_by", {}))
        out["in_flight"] = self.throttle(realm_id).in_flight
        return out

    def simulate_other_app(self, batches, realm_id=None):
        """Another app connected to the realm sends ``batches`` batch requests now.

        They use up the realm-wide batch budget (``realm_batch_per_minute``)
        for the next 60 sandbox seconds, as a busy second integration would.
        """
        realm_id = self._realm(realm_id).realm_id
        batches = int(batches)
        if batches < 0:
            raise ValueError("batches must not be negative")
        self.throttle(realm_id).other_app_batches(batches)
        self.count(realm_id, "other_app_batches", batches)

    def bill_time_activities(self, ids, realm_id=None):
        """Invoice these TimeActivities as a QBO user would: see ``invoices.bill``.

        Answers ``{"billed": [ids], "invoices": [invoice ids], "skipped": {id: reason}}``.
        """
        realm = self._realm(realm_id)
        result = invoices.bill(realm, _id_list(ids))
        self.count(realm.realm_id, "billed", len(result["billed"]))
        self.count(realm.realm_id, "invoices", len(result["invoices"]))
        return result

    def delete_time_activities(self, ids, realm_id=None):
        """Delete these TimeActivities as a QBO user would (webhooks fire, no SyncToken).

        Answers ``{"deleted": [ids], "skipped": {id: reason}}``.
        """
        realm = self._realm(realm_id)
        result = time_activity.delete_many(realm, _id_list(ids))
        self.count(realm.realm_id, "deleted", len(result["deleted"]))
        return result

    def seed(self, company_dict):
        """Add a company; returns its realm id."""
        realm = companies.build_realm(companies.load(company_dict), self.clock)
        realm.listener = self.webhooks.record
        with self._lock:
            if realm.realm_id in self.realms:
                raise ValueError(f"realm {realm.realm_id} already exists")
            self.realms[realm.realm_id] = realm
        return realm.realm_id

    def reset(self):
        """Back to the starting company: no tokens, changes, limits, stats, planned faults,
        webhook endpoint or deliveries."""
        self.injector.clear()
        self.oauth.reset()
        self.webhooks.reset()
        with self._lock:
            self._fresh_state()

    def advance_clock(self, seconds):
        self.clock.advance(seconds)
        self.webhooks.wake()

    # --- webhooks -------------------------------------------------------------------

    def set_webhook(
        self,
        url=None,
        verifier_token=None,
        format="cloudevents",  # noqa: A002 - the name the admin API and Intuit's portal use
        delay=COALESCE_SECONDS,
        retry_delays=RETRY_DELAYS,
    ):
        """Register the app's webhook endpoint for every realm; ``url`` None turns it off.

        ``format``: "cloudevents" (a JSON array of CloudEvents) or "legacy"
        (``eventNotifications``). ``delay``: sandbox seconds events are
        coalesced; ``retry_delays``: sandbox seconds before each retry.
        """
        self.webhooks.subscribe(url, verifier_token, format, delay, retry_delays)

    def webhook_deliveries(self):
        """Every delivery attempt: url, body, signature, status, error, attempt, events, time."""
        return self.webhooks.deliveries()

    def flush_webhooks(self, timeout=5.0):
        """Deliver pending events now (and due retries); True once nothing is left to send."""
        return self.webhooks.flush(timeout)

    # --- used by the API ------------------------------------------------------------

    def count(self, realm_id, key, n=1):
        with self._lock:
            counters = self._stats.setdefault(realm_id, {})
            counters[key] = counters.get(key, 0) + n

    def count_throttled(self, realm_id, limit):
        """A 429: counted in total and by the limit that refused the request."""
        with self._lock:
            counters = self._stats.setdefault(realm_id, {})
            counters["throttled"] = counters.get("throttled", 0) + 1
            by_limit = counters.setdefault("throttled_by", {})
            by_limit[limit] = by_limit.get(limit, 0) + 1

    def throttle(self, realm_id):
        with self._lock:
            if realm_id not in self._throttles:
                self._throttles[realm_id] = RealmThrottle(self.limits, self.clock)
            return self._throttles[realm_id]

    def _realm(self, realm_id):
        realm = self.realms.get(str(realm_id or self.realm_id))
        if realm is None:
            raise KeyError(f"unknown realm {realm_id}")
        return realm

    # --- routing --------------------------------------------------------------------

    def route(self, method, path, params, headers, body):
        if path.startswith(API_PREFIX):
            realm_id, _, route = path[len(API_PREFIX) :].partition("/")
            return self.api.handle(method, realm_id, route.rstrip("/"), params, headers, body)
        if path.rstrip("/") in DISCOVERY_PATHS:
            return Reply.json(200, self.discovery())
        if path == AUTHORIZE_PATH and method == "GET":
            return self._authorize(params)
        if path == TOKEN_PATH and method == "POST":
            return self._token(headers, body)
        if path == REVOKE_PATH and method == "POST":
            return self._revoke(headers, body)
        if path == USERINFO_PATH:
            return Reply.json(
                200,
                {
                    "sub": "sandbox-user",
                    "email": "sandbox@example.com",
                    "emailVerified": True,
                    "givenName": "Sandbox",
                    "familyName": "User",
                },
            )
        if path.startswith(ADMIN_PREFIX):
            return self._admin(path[len(ADMIN_PREFIX) :], params, body)
        return Reply.json(404, {"error": "not_found", "path": path})

    def discovery(self):
        base = self.base_url
        return {
            "issuer": base,
            "authorization_endpoint": base + AUTHORIZE_PATH,
            "token_endpoint": base + TOKEN_PATH,
            "userinfo_endpoint": base + USERINFO_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
            "jwks_uri": base + "/op/v1/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            # Intuit's document lists only the OpenID scopes, not the accounting one.
            "scopes_supported": ["openid", "email", "profile", "address", "phone"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
            # Not Intuit's: how much faster this sandbox's clock runs, so a client
            # (noko_qbo's custom environment) paces and waits at the same speed.
            "time_scale": self.clock.time_scale,
        }

    def _authorize(self, params):
        try:
            location = self.oauth.authorize(params, self.realm_id, self.realms)
        except OAuthError as error:
            return Reply.json(error.status, error.body())
        return Reply(302, b"", "text/html", {"Location": location})

    def _token(self, headers, body):
        try:
            client_id = self.oauth.authenticate_client(headers.get("Authorization"))
            form = dict(parse_qsl(body.decode("utf-8", "replace")))
            hard = str(headers.get("x-include-refresh-token-hard-expires-in", "")).lower() == "true"
            answer = self.oauth.token(form, client_id, hard)
        except OAuthError as error:
            return Reply.json(error.status, error.body())
        return Reply.json(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _revoke(self, headers, body):
        try:
            self.oauth.authenticate_client(headers.get("Authorization"))
            text = body.decode("utf-8", "replace")
            token = (
                json.loads(text).get("token")
                if text.lstrip().startswith("{")
                else dict(parse_qsl(text)).get("token")
            )
        except OAuthError as error:
            return Reply.json(error.status, error.body())
        except (ValueError, AttributeError):
            token = None
        if not token:
            return Reply.json(400, {"error": "invalid_request"})
        self.oauth.revoke(token)
        return Reply(200, b"", "application/json")

    def _admin(self, command, params, body):
        name, _, argument = command.partition("/")
        if name not in ADMIN_COMMANDS:
            return Reply.json(
                404, {"error": f"unknown admin command {name}", "commands": sorted(ADMIN_COMMANDS)}
            )
        try:
            args, kwargs = admin_arguments(name, argument, params, body)
            result = getattr(self, ADMIN_COMMANDS[name][0])(*args, **kwargs)
        except (TypeError, ValueError, KeyError) as error:
            return Reply.json(400, {"error": str(error)})
        except faults.QboError as error:
            return error.reply(self.clock)
        return Reply.json(200, {"result": result})


def _id_list(ids):
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        raise ValueError("ids must be a list of TimeActivity ids")
    return list(ids)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients can reuse connections
    disable_nagle_algorithm = True  # headers and body go out in separate writes
    server_version = "qbo-sandbox"
    sys_version = ""

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_DELETE(self):
        self._dispatch("DELETE")

    def _dispatch(self, method):
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            reply = self.server.sandbox.route(method, url.path, params, self.headers, body)
        except Exception:
            _logger.exception("sandbox failed on %s %s", method, self.path)
            reply = faults.system_fault().reply(self.server.sandbox.clock)
        if reply.after in ("drop", "reset"):
            self._hang_up(reset=reply.after == "reset")
            return
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("intuit_tid", "1-sandbox-" + format(id(reply), "x"))
        for key, value in (reply.headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)

    def _hang_up(self, reset):
        """Close without answering; ``reset`` sends a TCP RST instead of a FIN."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        except OSError:
            pass

    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        _logger.debug("%s " + format, self.address_string(), *args)
