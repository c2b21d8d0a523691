"""Webhooks: Intuit's signature, and both payload formats (legacy and CloudEvents)."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from noko_qbo.qbo.webhooks import Event, parse_events, verify_signature

# python-quickbooks' test vector (tests/unit/test_utils.py).
TOKEN, BODY, SIGNATURE = (
    "verify_me",
    b'{"stuff":"5"}',
    "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OA=",
)

LEGACY = {
    "eventNotifications": [
        {
            "realmId": "310687",
            "dataChangeEvent": {
                "entities": [
                    {
                        "name": "TimeActivity",
                        "id": "1",
                        "operation": "Delete",
                        "lastUpdated": "2015-10-05T14:42:19-0700",
                    },
                    {"name": "Customer", "id": "7", "operation": "Merge"},
                ]
            },
        },
        {
            "realmId": "999",
            "dataChangeEvent": {
                "entities": [
                    {
                        "name": "TimeActivity",
                        "id": "5",
                        "operation": "Update",
                        "lastUpdated": "2025-09-08T20:52:31.657Z",
                    }
                ]
            },
        },
    ]
}

CLOUD_EVENTS = [
    {
        "specversion": "1.0",
        "id": "88cd52aa-33b6-4351-9aa4-47572edbd068",
        "source": "intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=",
        "type": "qbo.timeactivity.deleted.v1",
        "datacontenttype": "application/json",
        "time": "2025-09-10T21:31:25.179851517Z",
        "intuitentityid": "1234",
        "intuitaccountid": "310687",
        "data": {},
    },
    {
        "specversion": "1.0",
        "id": "e2",
        "type": "qbo.customer.merged.v1",
        "intuitentityid": "8",
        "intuitaccountid": "310687",
    },
]


def test_the_public_test_vector_verifies():
    assert verify_signature(BODY, SIGNATURE, TOKEN)


@pytest.mark.parametrize(
    "signature",
    [None, "", "   ", "not base64!", "nfPLN16u3vMvv08ghDs+dOkLuirEVDy5wAeG/lmM2OB=", "é"],
)
def test_missing_wrong_or_garbage_signatures_do_not(signature):
    assert not verify_signature(BODY, signature, TOKEN)


def test_another_body_or_token_does_not_verify():
    assert not verify_signature(b'{"stuff":"6"}', SIGNATURE, TOKEN)
    assert not verify_signature(BODY, SIGNATURE, "verify_you")
    assert not verify_signature(BODY, SIGNATURE, "")


def test_legacy_notifications_give_one_event_per_entity_and_realm():
    events = parse_events(json.dumps(LEGACY).encode())
    assert events[0] == Event(
        realm_id="310687",
        entity="TimeActivity",
        entity_id="1",
        operation="Delete",
        occurred_at=datetime(2015, 10, 5, 14, 42, 19, tzinfo=timezone(timedelta(hours=-7))),
    )
    assert (events[1].entity, events[1].operation, events[1].occurred_at) == (
        "Customer",
        "Merge",
        None,
    )
    assert (events[2].realm_id, events[2].occurred_at.tzinfo) == ("999", UTC)


def test_cloud_events_are_read_into_the_same_events():
    events = parse_events(json.dumps(CLOUD_EVENTS))
    first = events[0]
    assert (first.realm_id, first.entity, first.entity_id, first.operation) == (
        "310687",
        "TimeActivity",
        "1234",
        "Delete",
    )
    assert first.occurred_at == datetime(2025, 9, 10, 21, 31, 25, 179851, tzinfo=UTC)
    assert first.event_id == "88cd52aa-33b6-4351-9aa4-47572edbd068"
    assert (events[1].entity, events[1].operation, events[1].occurred_at) == (
        "Customer",
        "Merge",
        None,
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b'{"something": "else"}',
        b'"a string"',
        b'{"eventNotifications": {"realmId": "1"}}',
        b'{"eventNotifications": [{"dataChangeEvent": {"entities": []}}]}',
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {}}]}',
        b'{"eventNotifications": [{"realmId": "1", "dataChangeEvent": {"entities": [{}]}}]}',
        b'[{"type": "qbo.timeactivity.deleted.v1", "intuitaccountid": "1"}]',
        b'[{"type": "com.example.other", "intuitentityid": "2", "intuitaccountid": "1"}]',
        b"[42]",
    ],
)
def test_malformed_bodies_raise_a_clear_value_error(body):
    with pytest.raises(ValueError, match="webhook|CloudEvents|eventNotifications|entities|entity"):
        parse_events(body)


def test_an_empty_delivery_has_no_events():
    assert parse_events(b"[]") == []
    assert parse_events(b'{"eventNotifications": []}') == []
