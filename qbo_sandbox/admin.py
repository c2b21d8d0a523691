"""``/_sandbox/<command>``: SandboxServer's test API over HTTP, for other processes."""

import json

# command -> (SandboxServer method, name of its positional path argument), e.g.
# ``/_sandbox/entities/TimeActivity`` calls ``entities(entity="TimeActivity")``.
ADMIN_COMMANDS = {
    "issue_tokens": ("issue_tokens", "realm_id"),
    "fail_next": ("fail_next", None),
    "apply_then_drop": ("apply_then_drop", None),
    "revoke_tokens": ("revoke_tokens", "realm_id"),
    "set_closed_books": ("set_closed_books", None),
    "set_time_tracking": ("set_time_tracking", None),
    "deny_next_authorize": ("deny_next_authorize", None),
    "entities": ("entities", "entity"),
    "company": ("company", "realm_id"),
    "stats": ("stats", "realm_id"),
    "seed": ("seed", None),
    "reset": ("reset", None),
    "advance_clock": ("advance_clock", None),
    "simulate_other_app": ("simulate_other_app", None),
    "throttle_for": ("throttle_for", None),
    "bill": ("bill_time_activities", None),
    "delete": ("delete_time_activities", None),
    "webhook": ("set_webhook", None),
    "webhook_deliveries": ("webhook_deliveries", None),
    "flush_webhooks": ("flush_webhooks", None),
}


def admin_arguments(command, argument, params, body):
    """Positional and keyword arguments from the path, the query string and a JSON body.

    Query-string values are read as JSON when they parse (``n=3`` is 3,
    ``enabled=false`` is False) and as plain strings otherwise.
    """
    kwargs = {key: _value(value) for key, value in params.items()}
    if body.strip():
        data = json.loads(body)
        if command == "seed":
            return [data], {}
        if not isinstance(data, dict):
            raise ValueError("the body must be a JSON object")
        kwargs.update(data)
    if command == "set_closed_books" and "date" in kwargs:
        kwargs["date_or_none"] = kwargs.pop("date")
    positional = ADMIN_COMMANDS[command][1]
    if argument and positional:
        kwargs[positional] = argument
    return [], kwargs


def _value(text):
    try:
        return json.loads(text)
    except ValueError:
        return text
