"""The Accounting API v3 under ``/v3/company/{realmId}/``: the request pipeline and its routes.

Pipeline order mirrors Intuit's stack: the gateway checks the bearer token,
the throttle counts the request, then (in the sandbox) planned failures
fire, then ``requestid`` replay, then the API itself.
"""

import json
import random

from . import faults, query, time_activity
from .entities import LIST_ENTITIES, QUERYABLE_ENTITIES, TRANSACTIONS
from .faults import QboError, Reply

MAX_REQUEST_ID = 50
MAX_BATCH_REQUEST_ID = 36
MAX_BID_WITH_REQUEST_ID = 10
READABLE = {name.lower(): name for name in (*LIST_ENTITIES, *TRANSACTIONS)}
HAS_ACTIVE = set(LIST_ENTITIES)


class AccountingApi:
    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.clock = sandbox.clock

    # --- pipeline ---------------------------------------------------------------

    def handle(self, method, realm_id, route, params, headers, body):
        sandbox = self.sandbox
        denied, app = sandbox.oauth.check_bearer(headers.get("Authorization"), realm_id)
        realm = sandbox.realms.get(realm_id)
        if denied or realm is None:
            sandbox.count(realm_id, "auth_failures")
            status, detail = denied or (403, "Unknown company")
            if status == 401:
                return faults.authentication_failed(self.clock, detail)
            return faults.authorization_failed().reply(self.clock)
        sandbox.count(realm_id, "requests")
        is_batch = route == "batch"
        throttle = sandbox.throttle(realm_id)
        refused_by = "storm" if sandbox.in_storm(realm_id) else throttle.admit(app, is_batch)
        if refused_by == "storm":
            sandbox.count_throttled(realm_id, refused_by)
            return faults.throttled(self.clock)
        if refused_by:
            sandbox.count_throttled(realm_id, refused_by)
            return faults.throttled(self.clock)
        try:
            if is_batch:
                sandbox.count(realm_id, "batch_requests")
            failure = sandbox.injector.take_failure(route_path(realm_id, route))
            if failure:
                sandbox.count(realm_id, "injected")
                return self._injected(failure)
            reply = self._idempotent(realm, method, route, params, headers, body)
            if sandbox.injector.take_drop(route_path(realm_id, route)):
                sandbox.count(realm_id, "dropped")
                reply.after = "drop"
            return reply
        finally:
            throttle.release(app)

    def _injected(self, mode):
        if mode == "timeout":
            # Hold the socket open without answering, then hang up: the client times out.
            self.sandbox.injector.hold()
            return Reply(504, after="drop")
        if mode == "reset":
            return Reply(0, after="reset")
        if mode == "429":
            return faults.throttled(self.clock)
        if mode == "500":
            return faults.system_fault().reply(self.clock)
        return faults.html_error(int(mode))

    def _idempotent(self, realm, method, route, params, headers, body):
        """Answer a repeated ``requestid`` with the stored first answer, applying nothing.

        As Intuit documents it, a requestid is unique per company: the key is
        (realm, requestid) whatever the app, route or body of the repeat. Only
        200 answers are kept, so a failed attempt may be sent again; any other
        requestid is a new request, even with the same body.
        """
        request_id = params.get("requestid")
        if not request_id:
            return self._answer(realm, method, route, params, headers, body)
        limit = MAX_BATCH_REQUEST_ID if route == "batch" else MAX_REQUEST_ID
        if len(request_id) > limit:
            return faults.too_long("requestid", limit, len(request_id)).reply(self.clock)
        key = (realm.realm_id, request_id)
        with realm.lock:  # a concurrent duplicate waits for the first to finish
            stored = self.sandbox.replays.get(key)
            if stored is not None:
                self.sandbox.count(realm.realm_id, "replayed")
                return Reply(stored.status, stored.body, stored.content_type)
            reply = self._answer(realm, method, route, params, headers, body)
            if reply.status == 200:
                self.sandbox.replays[key] = Reply(reply.status, reply.body, reply.content_type)
            return reply

    def _answer(self, realm, method, route, params, headers, body):
        try:
            payload = self._route(realm, method, route, params, headers, body)
        except QboError as error:
            self.sandbox.count(realm.realm_id, "faults")
            return error.reply(self.clock)
        payload["time"] = self.clock.response_time()
        return Reply.json(200, payload)

    # --- routes -------------------------------------------------------------------

    def _route(self, realm, method, route, params, headers, body):
        parts = route.split("/")
        head = parts[0].lower()
        if head == "query" and len(parts) == 1:
            statement = params.get("query") if method == "GET" else body.decode("utf-8", "replace")
            return {"QueryResponse": self.run_query(realm, statement or params.get("query", ""))}
        if head == "companyinfo" and method == "GET":
            if len(parts) != 2 or parts[1] != realm.realm_id:
                raise faults.object_not_found()
            return {"CompanyInfo": realm.snapshot("CompanyInfo")[0]}
        if head == "preferences" and len(parts) == 1 and method == "GET":
            return {"Preferences": realm.snapshot("Preferences")[0]}
        if head == "batch" and len(parts) == 1 and method == "POST":
            return self._batch(realm, _json(body), with_request_id=bool(params.get("requestid")))
        if head == "timeactivity" and len(parts) == 1 and method == "POST":
            operation = params.get("operation", "").lower()
            return {"TimeActivity": self.write(realm, operation, _json(body))}
        if head in READABLE and len(parts) == 2 and method == "GET":
            return {READABLE[head]: self._read(realm, READABLE[head], parts[1])}
        raise faults.unsupported(f"{method} /{route}")

    def run_query(self, realm, statement):
        parsed = query.parse(statement, QUERYABLE_ENTITIES)
        with realm.lock:
            stored = realm.records.get(parsed.entity)
            records = query.candidates(parsed, stored) if stored is not None else None
            if records is None:
                records = realm.all(parsed.entity)
            return json.loads(json.dumps(query.run(parsed, records, parsed.entity in HAS_ACTIVE)))

    def write(self, realm, operation, payload):
        if operation == "delete":
            result = time_activity.delete(realm, payload)
            self.sandbox.count(realm.realm_id, "deleted")
            return result
        if operation not in ("", "create", "update"):
            raise faults.unsupported(f"operation={operation}")
        if operation == "update" or (
            operation == "" and isinstance(payload, dict) and payload.get("Id")
        ):
            result = time_activity.update(realm, payload)
            self.sandbox.count(realm.realm_id, "updated")
            return result
        result = time_activity.create(realm, payload)
        self.sandbox.count(realm.realm_id, "created")
        return result

    def _read(self, realm, entity, record_id):
        if entity == "TimeActivity":
            return time_activity.read(realm, record_id)
        with realm.lock:
            record = realm.get(entity, record_id)
            if record is None:
                raise faults.object_not_found()
            return json.loads(json.dumps(record))

    # --- batch ----------------------------------------------------------------------

    def _batch(self, realm, payload, with_request_id=False):
        items = payload.get("BatchItemRequest") if isinstance(payload, dict) else None
        if not isinstance(items, list) or not items:
            raise faults.required("BatchItemRequest")
        if with_request_id:
            # Intuit: with a requestid, each bId may have at most 10 characters.
            for item in items:
                bid = str(item.get("bId", "")) if isinstance(item, dict) else ""
                if len(bid) > MAX_BID_WITH_REQUEST_ID:
                    raise faults.too_long("bId", MAX_BID_WITH_REQUEST_ID, len(bid))
        maximum = self.sandbox.limits.batch_max_items
        if len(items) > maximum:
            raise QboError(
                1040,
                "Number of items in the batch request exceeds the allowed maximum",
                f"Batch request has {len(items)} items; at most {maximum} are allowed.",
            )
        self.sandbox.count(realm.realm_id, "batch_items", len(items))
        return {"BatchItemResponse": [self._batch_item(realm, item) for item in _unordered(items)]}

    def _batch_item(self, realm, item):
        bid = item.get("bId") if isinstance(item, dict) else None
        try:
            if not bid:
                raise faults.required("bId")
            if "Query" in item:
                return {"bId": bid, "QueryResponse": self.run_query(realm, item["Query"])}
            if "TimeActivity" not in item:
                entity = next(
                    (k for k in item if k not in ("bId", "operation", "optionsData")), "?"
                )
                raise faults.unsupported(f"batch {item.get('operation')} on {entity}")
            operation = str(item.get("operation", "create")).lower()
            return {"bId": bid, "TimeActivity": self.write(realm, operation, item["TimeActivity"])}
        except QboError as error:
            self.sandbox.count(realm.realm_id, "faults")
            return {"bId": bid, "Fault": error.fault()}


def route_path(realm_id, route):
    return f"/v3/company/{realm_id}/{route}"


def _json(body):
    try:
        return json.loads(body or b"{}")
    except ValueError:
        raise faults.invalid_property("Can not parse request body as JSON") from None


def _unordered(items):
    """QBO does not apply batch items in request order; neither does the sandbox."""
    order = list(items)
    random.shuffle(order)
    if len(order) > 1 and all(a is b for a, b in zip(order, items, strict=True)):
        order.reverse()
    return order
