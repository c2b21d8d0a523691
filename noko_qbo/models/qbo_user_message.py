"""The one place that turns a QBO fault (or a "not connected" error) into the user's words.

Every model that calls QBO for a user goes through :func:`qbo_user_errors`
(like connector-jira's ``handle_user_api_errors``): QBO's own message and code
come from :meth:`QboFault.summary`; what the user should do is added here, in
their language.
"""

from contextlib import contextmanager

from odoo.exceptions import UserError

from ..qbo.errors import QboFault


def user_message(env, error):
    """The text a user reads for ``error`` (a ``QboFault`` or ``UserError``)."""
    if isinstance(error, QboFault):
        if error.code == "copied_database":
            return env._(
                "%(reason)s Nothing was sent. An administrator decides in Settings > QuickBooks "
                "Online: keep the connection (this is the production database) or disconnect.",
                reason=error.message,
            )
        if error.connection_lost:
            return env._(
                "The connection to QuickBooks Online is lost (%(fault)s): an administrator "
                "must connect again in Settings > QuickBooks Online.",
                fault=error.summary(),
            )
        return env._("QuickBooks Online answered: %(fault)s", fault=error.summary())
    return error.args[0] if error.args else str(error)


def refusal_message(env, fault):
    """What a manager reads on a line QBO refused: QBO's own words, and its code."""
    return env._("QuickBooks refused it: %(fault)s", fault=fault.summary())


def refusal_cause(env, fault):
    """The cause a run groups refused lines by: QBO's message and code, not the line's detail."""
    return env._(
        "QuickBooks refused it: %(message)s [%(code)s]",
        message=fault.message or "?",
        code=fault.code or "?",
    )


def count_lines(env, count):
    """``1 line``, ``2 lines``: the one wording of a number of timesheet lines."""
    if count == 1:
        return env._("1 line")
    return env._("%(count)s lines", count=count)


@contextmanager
def qbo_user_errors(env, explain=None):
    """Raise QBO faults met inside the block as ``UserError`` in the user's words.

    ``explain(text)`` wraps the text in what the caller was doing ("Unlocking
    needs the connection... %s"); with it, a ``UserError`` raised inside (e.g.
    "not connected") is wrapped too.
    """
    try:
        yield
    except (QboFault, UserError) as error:
        if isinstance(error, UserError) and explain is None:
            raise
        text = user_message(env, error)
        raise UserError(explain(text) if explain else text) from error


def notification(env, message, kind):
    """A toast for a Settings button's answer (``kind``: success, warning, danger)."""
    return {
        "type": "ir.actions.client",
        "tag": "display_notification",
        "params": {
            "title": env._("QuickBooks Online"),
            "message": message,
            "type": kind,
            "sticky": kind == "danger",
            "next": {"type": "ir.actions.client", "tag": "soft_reload"},
        },
    }
