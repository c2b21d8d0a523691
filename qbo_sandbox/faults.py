"""Fault bodies in the shapes QBO really sends, irregular ones included."""

import json
from dataclasses import dataclass
from xml.sax.saxutils import escape

NOT_FOUND_DETAIL = (
    "Object Not Found : Something you're trying to use has been made inactive. "
    "Check the fields with accounts, customers, items, vendors or employees."
)


@dataclass
class Reply:
    """What the HTTP layer sends back, and what it does with the connection."""

    status: int
    body: bytes = b""
    content_type: str = "application/json;charset=UTF-8"
    headers: dict = None
    after: str = ""  # "" | "drop" | "reset" | "hold"

    @classmethod
    def json(cls, status, payload, headers=None):
        body = json.dumps(payload, ensure_ascii=False).encode()
        return cls(status, body, headers=headers)


class QboError(Exception):
    """A QBO ``Fault`` with one ``Error``; raised by validation, caught per item or request.

    Entity validation errors always carry ``element``, ``""`` when no field is
    to blame (Intuit's batch reference and python-quickbooks' fixtures show
    ``"element": ""`` for 610, 5010 and 6240); query, system and
    authorization errors have no ``element`` key (``element=None``).
    """

    def __init__(
        self, code, message, detail="", element="", status=400, fault_type="ValidationFault"
    ):
        super().__init__(f"{code} {message}: {detail}")
        self.code = str(code)
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.fault_type = fault_type

    def fault(self):
        error = {"Message": self.message, "Detail": self.detail, "code": self.code}
        if self.element is not None:
            error["element"] = self.element
        return {"Error": [error], "type": self.fault_type}

    def reply(self, clock):
        return Reply.json(self.status, {"Fault": self.fault(), "time": clock.response_time()})


# Named constructors for the codes the sandbox uses; messages follow QBO's wording.


def required(element):
    return QboError(
        2020,
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {element} is missing in the request",
        element,
    )


def too_long(element, maximum, supplied):
    return QboError(
        2050,
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. Min:0 Max:{maximum} "
        f"supplied length:{supplied}",
        element,
    )


def out_of_range(element, low, high, supplied):
    return QboError(
        2050,
        "Value is out of the range supported by specification",
        f"{element} must be between {low} and {high}; supplied value:{supplied}",
        element,
    )


def invalid_enum(element, value):
    return QboError(2170, "Invalid Enumeration", f"Invalid Enumeration : {value}", element)


def invalid_reference(element, entity, ref_id):
    return QboError(
        2500,
        "Invalid Reference Id",
        f"Invalid Reference Id : {entity} element id {ref_id} not found",
        element,
    )


def object_not_found(element=""):
    return QboError(610, "Object Not Found", NOT_FOUND_DETAIL, element)


def deleted_object():
    """What QBO answers for a transaction that was deleted (read, update or delete)."""
    return QboError(
        610, "Object Not Found", "Object Not Found : Another user has deleted this transaction."
    )


def business(detail, element=""):
    return QboError(
        6000,
        "A business validation error has occurred while processing your request",
        f"Business Validation Error: {detail}",
        element,
    )


def period_closed(closed_on):
    return QboError(
        6210,
        "Account Period Closed, Cannot Update Through Services API",
        f"The account period has closed and the books are locked (closing date {closed_on}). "
        "Transactions dated on or before that date cannot be added or changed.",
    )


def duplicate_name(name):
    return QboError(
        6240,
        "Duplicate Name Exists Error",
        f"The name supplied already exists. : {name}",
    )


def stale_object():
    return QboError(
        5010,
        "Stale Object Error",
        "Stale Object Error : You and root were working on this at the same time. "
        "root finished before you did, so your work was not saved.",
    )


def query_parse(detail):
    return QboError(4000, "Error parsing query", f"QueryParserError: {detail}", None)


def query_invalid(detail):
    return QboError(4001, "Invalid query", f"QueryValidationError: {detail}", None)


def unsupported(detail):
    return QboError(500, "Unsupported Operation", f"Operation {detail} is not supported.", None)


def invalid_property(detail, element=""):
    """A body QBO cannot map onto the entity (bad JSON, wrong value type)."""
    return QboError(
        2010,
        "Request has invalid or unsupported property",
        f"Property Name:{detail} specified is unsupported or invalid",
        element,
    )


def system_fault():
    return QboError(
        10000,
        "An application error has occurred while processing your request",
        "System Failure Error: An unexpected error occurred while accessing or saving your data. "
        "Please wait a few minutes and try again.",
        None,
        status=500,
        fault_type="SystemFault",
    )


def authorization_failed():
    return QboError(
        3100,
        "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
        "",
        None,
        status=403,
        fault_type="AuthorizationFault",
    )


def authentication_failed(clock, detail):
    """The API gateway's 401: lower-case keys, integer-millisecond ``time``, null filler fields."""
    body = {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [
                {
                    "message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "detail": detail,
                    "code": "3200",
                    "element": None,
                }
            ],
            "type": "AUTHENTICATION",
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": clock.epoch_ms(),
        "status": None,
        "cdcresponse": [],
    }
    headers = {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'}
    return Reply.json(401, body, headers)


def throttled(clock):
    """QBO answers throttling with XML even when JSON was asked for."""
    body = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" '
        f'time="{clock.response_time()}">'
        '<Fault type="SERVICE"><Error code="3001">'
        "<Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>"
        "<Detail>The request limit was reached.  Try again later</Detail>"
        "</Error></Fault></IntuitResponse>"
    )
    return Reply(429, body.encode(), "application/xml")


_HTML_TITLES = {
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def html_error(status):
    """What the load balancer sends when the API behind it is down."""
    title = escape(_HTML_TITLES.get(status, f"{status} Error"))
    body = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return Reply(status, body.encode(), "text/html")
