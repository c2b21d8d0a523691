"""One error model for everything QuickBooks Online can answer.

QBO reports failures in at least five shapes: the documented JSON ``Fault``,
the API gateway's lower-case ``fault`` (401s, some 500s), XML ``Fault`` with or
without an ``IntuitResponse`` wrapper (429s, some 401s, even when JSON was
asked for), HTML pages from the load balancer (502/503/504) and empty bodies.
A 200 can also carry a ``Fault``. :func:`parse_fault` turns all of them into a
:class:`QboFault` whose ``kind`` callers branch on; nothing else in the addon
looks at HTTP codes or message strings.
"""

from __future__ import annotations

import email.utils
import json
import logging
import re
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping

_logger = logging.getLogger(__name__)

KINDS = (
    "throttle",
    "auth",
    "forbidden",
    "validation",
    "not_found",
    "stale",
    "duplicate",
    "server",
    "unknown",
)

#: Intuit asks clients to wait a minute after a 429 when it gives no Retry-After.
DEFAULT_THROTTLE_WAIT = 60.0

_AUTH_CODES = {"100", "110", "3200"}
_FORBIDDEN_CODES = {"120", "3100"}
_THROTTLE_CODES = {"3001", "429"}
_VALIDATION_CODES = {"2020", "2050", "2170", "2500", "4000", "4001", "6000", "6210"}
_CODE_KINDS = {
    "600": "duplicate",  # duplicate request id
    "6240": "duplicate",  # duplicate name
    "610": "not_found",
    "5010": "stale",
    "10000": "server",
}
_FAULT_TYPE_KINDS = {
    "validationfault": "validation",
    "authenticationfault": "auth",
    "authentication": "auth",
    "authorizationfault": "forbidden",
    "authorizatonfault": "forbidden",  # sic: Intuit's own spelling in some XML faults
    "systemfault": "server",
}
_STATUS_KINDS = {
    400: "validation",
    401: "auth",
    403: "forbidden",
    404: "not_found",
    429: "throttle",
}
_ERROR_CODE_IN_MESSAGE = re.compile(r"errorCode=0*(\d+)")
# The gateway quotes the start of the bearer in 401 details ("Token expired: eyJ...").
_TOKEN_IN_TEXT = re.compile(r"(\btoken\s+(?:expired|invalid|revoked)\s*:\s*)\S+", re.IGNORECASE)
_HTML_TITLE = re.compile(r"<title>\s*(.*?)\s*</title>", re.IGNORECASE | re.DOTALL)


class QboFault(Exception):
    """A failure QuickBooks reported, or one that kept us from hearing its answer.

    ``kind`` is what callers act on (see :data:`KINDS`); ``code``, ``message``,
    ``detail`` and ``element`` come from QBO's first ``Error`` (its type refines
    the kind); ``retry_after`` is in QBO seconds (throttles only, unless the
    server sent a Retry-After); ``status`` is the HTTP status or ``None`` when
    no answer arrived. ``uncertain`` is true when the request may have been
    applied although we saw no answer (timeout or dropped connection after
    sending): creates must then be reconciled, never blindly resent.
    """

    def __init__(
        self,
        kind,
        code="",
        message="",
        detail="",
        element="",
        retry_after=None,
        status=None,
        *,
        uncertain=False,
    ):
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        self.kind = kind
        self.code = str(code or "")
        self.message = redact(message or "")
        self.detail = redact(detail or "")
        self.element = element or ""
        self.retry_after = retry_after
        self.status = status
        self.uncertain = uncertain
        super().__init__(self.summary())

    def summary(self):
        """QBO's own words for people: message, detail, element and code (never a secret).

        The one rendering of a fault, for logs, chatter and the line's error;
        the Odoo layer wraps it in a translated prefix ("QuickBooks refused
        it: ..."). Tokens QBO quotes were redacted on construction.
        """
        text = self.message or self.kind
        if self.detail and self.detail not in text:
            text = f"{text}: {self.detail}"
        if self.element:
            text = f"{text} ({self.element})"
        return f"{text} [{self.code or self.kind}]"

    @property
    def retryable(self):
        """Whether sending the same request again later may succeed."""
        return self.kind in ("throttle", "server")

    @property
    def connection_lost(self):
        """Whether the connection itself is gone (auth, forbidden): stop, a human must act."""
        return self.kind in ("auth", "forbidden")

    @property
    def duplicate_request(self):
        """QBO saw this ``requestid`` before (600): what it did is unknown, so reconcile.

        Not to be confused with a duplicate *name* (6240, also kind ``duplicate``),
        which is a plain refusal of that one record.
        """
        return self.kind == "duplicate" and self.code == "600"

    def __repr__(self):
        return f"{type(self).__name__}({self.kind!r}, code={self.code!r}, status={self.status!r})"


def redact(text):
    """``text`` without the token fragments QBO quotes in authentication details."""
    return _TOKEN_IN_TEXT.sub(r"\1<redacted>", text) if text else text


class ReconnectNeeded(QboFault):
    """The connection is gone (``invalid_grant``, revoked app): a human must reconnect.

    Not retryable: refreshing again with the same refresh token cannot help.
    """

    def __init__(self, message="", detail="", *, code="invalid_grant", status=None):
        super().__init__("auth", code=code, message=message, detail=detail, status=status)

    @property
    def retryable(self):
        return False


class Deferred(QboFault):
    """Not done: the wait QBO's limits (or a backoff) ask for would run past the caller's deadline.

    Nothing was applied. ``retry_after`` is in *real* seconds (already divided
    by a sandbox's time scale): when QBO is expected to allow more.
    """

    def __init__(self, retry_after, *, kind="throttle", message=""):
        super().__init__(
            kind,
            code="deferred",
            message=message or f"Deferred: QuickBooks allows more in {retry_after:.1f} s",
            retry_after=retry_after,
        )


# --------------------------------------------------------------------------- kinds


def _normalize_code(code):
    code = str(code or "").strip()
    return code.lstrip("0") or code


def kind_for(code, status=None, fault_type=""):
    """The kind for an error code, refined by HTTP status and Fault type.

    Hook: extend here when Intuit adds codes; keep the table in
    ``docs/qbo-api.md`` in step.
    """
    code = _normalize_code(code)
    if code in _THROTTLE_CODES or status == 429:
        return "throttle"
    if code in _AUTH_CODES:
        return "auth"
    if code in _FORBIDDEN_CODES:
        # 3100 also comes with 500 InternalServerError: that one is transient.
        return "server" if status and status >= 500 else "forbidden"
    if code in _CODE_KINDS:
        return _CODE_KINDS[code]
    if code in _VALIDATION_CODES:
        return "validation"
    if status and status >= 500:
        return "server"
    by_type = _FAULT_TYPE_KINDS.get((fault_type or "").lower())
    if by_type:
        return by_type
    if code.isdigit() and (2000 <= int(code) < 5000 or 6000 <= int(code) < 7000):
        return "validation"
    if code.isdigit() and int(code) >= 10000:
        return "server"
    return _STATUS_KINDS.get(status, "unknown")


# --------------------------------------------------------------------------- retry-after


def _header(headers, name):
    if not headers:
        return None
    if isinstance(headers, Mapping):
        value = headers.get(name)
        if value is not None:
            return value
        items = headers.items()
    else:
        items = headers
    lowered = name.lower()
    for key, value in items:
        if str(key).lower() == lowered:
            return value
    return None


def retry_after_seconds(headers, now=None):
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    value = str(value).strip()
    if re.fullmatch(r"\d+(?:\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


# --------------------------------------------------------------------------- bodies


def _as_text(body):
    if body is None:
        return ""
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body).decode("utf-8", errors="replace")
    return str(body)


def _get(mapping, name):
    """Case-insensitive key lookup: the gateway writes ``fault``/``error``/``message``."""
    if name in mapping:
        return mapping[name]
    lowered = name.lower()
    for key, value in mapping.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _errors_from_dict(fault):
    errors = _get(fault, "Error") or []
    if isinstance(errors, Mapping):
        errors = [errors]
    result = []
    for error in errors:
        if not isinstance(error, Mapping):
            continue
        message = _get(error, "Message") or ""
        code = _get(error, "code")
        if not code:
            found = _ERROR_CODE_IN_MESSAGE.search(str(message))
            code = found.group(1) if found else ""
        result.append(
            {
                "code": _normalize_code(code),
                "message": str(message),
                "detail": str(_get(error, "Detail") or ""),
                "element": str(_get(error, "element") or ""),
            }
        )
    return result


def _fault_from_errors(errors, fault_type, status, headers, now=None):
    first = errors[0] if errors else {"code": "", "message": "", "detail": "", "element": ""}
    kind = kind_for(first["code"], status, fault_type)
    retry_after = retry_after_seconds(headers, now)
    if retry_after is None and kind == "throttle":
        retry_after = DEFAULT_THROTTLE_WAIT
    return QboFault(
        kind,
        code=first["code"],
        message=first["message"],
        detail=first["detail"],
        element=first["element"],
        retry_after=retry_after,
        status=status,
    )


def fault_from_dict(fault, status=200, headers=None):
    """A QboFault from a ``Fault`` object already parsed from JSON.

    Used for batch items, whose ``BatchItemResponse`` carries its own
    ``Fault`` inside an HTTP 200.
    """
    fault_type = str(_get(fault, "type") or "")
    return _fault_from_errors(_errors_from_dict(fault), fault_type, status, headers)


def _strip_namespace(tag):
    return tag.rsplit("}", 1)[-1]


def _parse_xml_fault(text, status, headers, now):
    try:
        root = ElementTree.fromstring(text.strip().encode("utf-8"))
    except ElementTree.ParseError:
        return None
    fault_element = None
    for element in root.iter():
        if _strip_namespace(element.tag) == "Fault":
            fault_element = element
            break
    if fault_element is None:
        return None
    errors = []
    for element in fault_element:
        if _strip_namespace(element.tag) != "Error":
            continue
        texts = {_strip_namespace(child.tag): (child.text or "").strip() for child in element}
        message = texts.get("Message", "")
        code = element.get("code") or ""
        if not code:
            found = _ERROR_CODE_IN_MESSAGE.search(message)
            code = found.group(1) if found else ""
        errors.append(
            {
                "code": _normalize_code(code),
                "message": message,
                "detail": texts.get("Detail", ""),
                "element": element.get("element") or "",
            }
        )
    return _fault_from_errors(errors, fault_element.get("type") or "", status, headers, now)


def _fault_without_body(status, headers, text, now):
    """A fault for a non-2xx answer QBO did not explain (HTML page, empty, garbage)."""
    kind = kind_for("", status)
    title = _HTML_TITLE.search(text)
    if title:
        message = title.group(1)
    elif text.strip():
        message = f"HTTP {status}: unexpected {len(text)}-character answer"
    else:
        message = f"HTTP {status} with an empty answer"
    retry_after = retry_after_seconds(headers, now)
    if retry_after is None and kind == "throttle":
        retry_after = DEFAULT_THROTTLE_WAIT
    return QboFault(kind, code=str(status), message=message, retry_after=retry_after, status=status)


def parse_fault(status, headers, body, *, now=None):
    """``None`` when the answer is a success, else the :class:`QboFault` it describes.

    ``body`` may be bytes or str. ``now`` (epoch seconds) is only used to turn
    an HTTP-date Retry-After into seconds; tests pass it.
    """
    text = _as_text(body)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            data = None
        if isinstance(data, Mapping):
            fault = _get(data, "Fault")
            if isinstance(fault, Mapping):
                return fault_from_dict(fault, status, headers)
    elif stripped.startswith("<") and "Fault" in stripped:
        fault = _parse_xml_fault(stripped, status, headers, now)
        if fault is not None:
            return fault
    if 200 <= status < 300:
        return None
    return _fault_without_body(status, headers, text, now)


# --------------------------------------------------------------------------- transport


def transport_fault(exc, *, sent):
    """A fault for a request that got no HTTP answer (timeout, refused, reset).

    ``sent`` says whether the request may have reached QBO; if so the outcome
    is uncertain and a create must be reconciled before it is sent again.
    """
    name = type(exc).__name__
    _logger.debug("QBO transport failure: %s (sent=%s)", name, sent)
    return QboFault(
        "server",
        code="timeout" if "Timeout" in name else "connection",
        message=f"No answer from QuickBooks ({name})",
        uncertain=sent,
    )
