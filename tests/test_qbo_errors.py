"""parse_fault on every body QBO sends (bodies from Intuit docs, SDK fixtures, bug reports)."""

import email.utils

import pytest

from noko_qbo.qbo.errors import (
    Deferred,
    QboFault,
    ReconnectNeeded,
    fault_from_dict,
    kind_for,
    parse_fault,
    retry_after_seconds,
)

# Intuit "handling common errors" page: the documented JSON shape.
JSON_VALIDATION = """{"Fault":{"Error":[{"Message":"Duplicate Name Exists Error",
"Detail":"The name supplied already exists. : Another tax rate is already using this \\nname.",
"code":"6240","element":""}],"type":"ValidationFault"},"time":"2015-08-07T05:35:56.791-07:00"}"""

# The API gateway's lower-case 401 (quoted in a Go client's source comment), null filler included.
GATEWAY_401 = (
    '{"warnings":null,"intuitObject":null,"fault":{"error":[{"message":"message=AuthenticationFailed;'
    ' errorCode=003200; statusCode=401","detail":"Token expired: AB01730024136mqEofYN9fldzIcxH6ls",'
    '"code":"3200","element":null}],"type":"AUTHENTICATION"},"report":null,"queryResponse":null,'
    '"batchItemResponse":[],"attachableResponse":[],"syncErrorResponse":null,"requestId":null,'
    '"time":1709000000000,"status":null,"cdcresponse":[]}'
)

# Lower-case 403 without "type" (reported by an MCP server author), code only in the message too.
GATEWAY_403 = (
    '{"fault":{"error":[{"message":"message=ApplicationAuthorizationFailed; errorCode=003100; '
    'statusCode=403","code":"3100"}]}}'
)

# quickbooks-ruby spec/fixtures/too_many_requests_error.xml / PHP SDK issue #54.
XML_THROTTLE = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse time="2017-07-30T22:45:22.933-07:00" xmlns="http://schema.intuit.com/finance/v3">
    <Fault type="SERVICE">
        <Error code="3001">
            <Message>message=ThrottleExceeded; errorCode=003001; statusCode=429</Message>
            <Detail>The request limit was reached.  Try again later</Detail>
        </Error>
    </Fault>
</IntuitResponse>"""

# An XML 401 from quickbooks-ruby's request log (gist), OAuth1 era.
XML_401 = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2017-01-17T11:30:52.326-08:00">
<Fault type="AUTHENTICATION"><Error code="3200">
<Message>message=ApplicationAuthenticationFailed; errorCode=003200; statusCode=401</Message>
<Detail>SignatureBaseString: GET&amp;https%3A%2F%2Fsandbox-quickbooks.api.intuit.com</Detail>
</Error></Fault></IntuitResponse>"""

# Intuit's misspelt AuthorizatonFault (gist by a quickbooks-ruby maintainer).
XML_120 = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="2016-07-07T14:27:27.477-07:00">
<Fault type="AuthorizatonFault"><Error code="120"><Message>Authorization Failure</Message>
<Detail>AuthorizationFailure: --11014-You do not have access to use QuickBooks Online.,
 statusCode: 401</Detail></Error></Fault></IntuitResponse>"""

# quickbooks-ruby spec/fixtures/fault.xml: a bare Fault, no wrapper, no namespace, two errors.
XML_BARE = """<Fault type="ValidationFault">
  <Error code="2050" element="firstname">
    <Message>Length of the field exceeds 21 chars</Message>
  </Error>
  <Error code="2080"><Message>ZipCode should be a number with at least 5 digits</Message></Error>
</Fault>"""

HTML_503 = (
    "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n"
    "<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
)

SYSTEM_FAULT_500 = (
    '{"Fault":{"Error":[{"Message":"An application error has occurred while processing your '
    'request","Detail":"System Failure Error: An unexpected error occurred while accessing or '
    'saving your data.","code":"10000"}],"type":"SystemFault"},'
    '"time":"2024-01-01T00:00:00.000-08:00"}'
)


def test_success_bodies_are_not_faults():
    assert parse_fault(200, {}, b'{"QueryResponse":{}}') is None
    assert parse_fault(200, {}, "") is None
    assert parse_fault(204, {}, None) is None


def test_documented_json_fault_is_a_duplicate_name_with_qbo_words():
    fault = parse_fault(400, {"Content-Type": "application/json"}, JSON_VALIDATION.encode())
    assert (fault.kind, fault.code, fault.status) == ("duplicate", "6240", 400)
    assert fault.message == "Duplicate Name Exists Error"
    assert "already exists" in fault.detail
    assert fault.retry_after is None and not fault.retryable
    # a duplicate name is a refusal of that record, not a duplicate request to reconcile
    assert not fault.duplicate_request


def test_duplicate_request_is_600_only():
    body = '{"Fault":{"Error":[{"Message":"Duplicate Request ID","code":"600"}],"type":"x"}}'
    fault = parse_fault(400, {}, body)
    assert (fault.kind, fault.duplicate_request) == ("duplicate", True)


def test_summary_is_qbo_words_detail_element_and_code():
    fault = QboFault("not_found", "610", "Object Not Found", "inactive", "CustomerRef")
    assert fault.summary() == "Object Not Found: inactive (CustomerRef) [610]"
    assert QboFault("server").summary() == "server [server]"
    # detail already part of the message is not repeated
    assert QboFault("validation", "2020", "Required: x", "x").summary() == "Required: x [2020]"


def test_connection_lost_is_auth_or_forbidden():
    assert ReconnectNeeded("gone").connection_lost
    assert QboFault("forbidden", "3100").connection_lost
    for kind in ("throttle", "server", "validation", "not_found", "duplicate"):
        assert not QboFault(kind).connection_lost


def test_deferred_is_a_retryable_throttle_in_real_seconds():
    deferred = Deferred(12.5)
    assert isinstance(deferred, QboFault)
    assert (deferred.kind, deferred.retry_after, deferred.retryable) == ("throttle", 12.5, True)
    assert Deferred(1.0, kind="server").kind == "server"


def test_lowercase_gateway_401_is_auth_and_token_is_redacted():
    fault = parse_fault(401, {}, GATEWAY_401)
    assert (fault.kind, fault.code) == ("auth", "3200")
    assert "AB0173" not in fault.detail and "AB0173" not in str(fault)
    assert "Token expired" in fault.detail


def test_lowercase_403_3100_is_forbidden_but_with_500_it_is_a_server_fault():
    assert parse_fault(403, {}, GATEWAY_403).kind == "forbidden"
    assert parse_fault(500, {}, GATEWAY_403).kind == "server"


def test_xml_throttle_with_namespace_waits_a_minute_by_default():
    fault = parse_fault(429, {"Content-Type": "application/xml"}, XML_THROTTLE)
    assert (fault.kind, fault.code) == ("throttle", "3001")
    assert fault.retry_after == 60.0
    assert fault.detail.startswith("The request limit was reached")


def test_throttle_honours_retry_after_in_seconds_and_as_http_date():
    assert parse_fault(429, {"retry-after": "7"}, XML_THROTTLE).retry_after == 7.0
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    fault = parse_fault(429, {"Retry-After": date}, XML_THROTTLE, now=now)
    assert fault.retry_after == pytest.approx(30.0)
    assert retry_after_seconds([("Retry-After", "garbage")]) is None


def test_throttle_recognised_even_when_qbo_says_403_in_the_body():
    # Older throttles: HTTP 403 with errorCode=003001 in the text.
    body = XML_THROTTLE.replace(b"statusCode=429", b"statusCode=403")
    assert parse_fault(403, {}, body).kind == "throttle"


def test_xml_401_and_misspelt_authorization_fault():
    assert parse_fault(401, {}, XML_401).kind == "auth"
    fault = parse_fault(401, {}, XML_120)
    assert (fault.kind, fault.code) == ("forbidden", "120")


def test_bare_xml_fault_gives_the_first_error_and_its_element():
    fault = parse_fault(400, {}, XML_BARE)
    assert (fault.kind, fault.code, fault.element) == ("validation", "2050", "firstname")
    assert fault.message == "Length of the field exceeds 21 chars"


@pytest.mark.parametrize("status", [502, 503, 504])
def test_html_gateway_pages_are_server_faults(status):
    fault = parse_fault(status, {"Content-Type": "text/html"}, HTML_503.encode())
    assert fault.kind == "server" and fault.retryable
    assert fault.message == "503 Service Temporarily Unavailable"
    assert fault.status == status


def test_empty_5xx_and_empty_429_and_empty_401():
    assert parse_fault(500, {}, b"").kind == "server"
    empty_429 = parse_fault(429, {}, b"")
    assert (empty_429.kind, empty_429.retry_after) == ("throttle", 60.0)
    assert parse_fault(401, {}, "").kind == "auth"


def test_a_200_carrying_a_fault_is_a_fault():
    fault = parse_fault(200, {}, SYSTEM_FAULT_500)
    assert (fault.kind, fault.code, fault.status) == ("server", "10000", 200)


def test_system_fault_500_is_retryable_server():
    assert parse_fault(500, {}, SYSTEM_FAULT_500).retryable


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("100", 401, "auth"),
        ("3200", 401, "auth"),
        ("120", 403, "forbidden"),
        ("3100", 403, "forbidden"),
        ("3100", 500, "server"),
        ("3001", 429, "throttle"),
        ("600", 400, "duplicate"),
        ("610", 400, "not_found"),
        ("2020", 400, "validation"),
        ("2050", 400, "validation"),
        ("2170", 400, "validation"),
        ("2500", 400, "validation"),
        ("4000", 400, "validation"),
        ("6000", 400, "validation"),
        ("6210", 400, "validation"),
        ("6240", 400, "duplicate"),
        ("5010", 400, "stale"),
        ("10000", 500, "server"),
        ("10000", 400, "server"),
        ("", 503, "server"),
        ("", 418, "unknown"),
        ("003200", 401, "auth"),
    ],
)
def test_code_table(code, status, kind):
    assert kind_for(code, status) == kind


def test_batch_item_fault_dict():
    item_fault = {
        "Error": [
            {
                "Message": "Object Not Found",
                "Detail": "Object Not Found : Something you're trying to use is inactive.",
                "code": "610",
                "element": "CustomerRef",
            }
        ],
        "type": "ValidationFault",
    }
    fault = fault_from_dict(item_fault)
    assert (fault.kind, fault.code, fault.element, fault.status) == (
        "not_found",
        "610",
        "CustomerRef",
        200,
    )


def test_code_missing_is_read_from_the_message():
    body = '{"fault":{"error":[{"message":"message=ThrottleExceeded; errorCode=003001"}]}}'
    assert parse_fault(200, {}, body).code == "3001"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        QboFault("teapot")


def test_reconnect_needed_is_an_auth_fault_that_is_never_retried():
    fault = ReconnectNeeded("reconnect")
    assert isinstance(fault, QboFault) and fault.kind == "auth" and not fault.retryable
