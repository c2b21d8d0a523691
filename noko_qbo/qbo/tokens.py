"""Where the API client gets its bearer token, and how rotation stays safe.

Intuit rotates the refresh token on every refresh; two workers refreshing
with the same token is the classic way to lose a connection. A
:class:`TokenSource` therefore serializes refreshes per company and hands the
rotated token to storage *before* anyone can use the new access token.
"""

from __future__ import annotations

import logging
import threading
from typing import Protocol, runtime_checkable

from .oauth import Tokens, utcnow

_logger = logging.getLogger(__name__)


@runtime_checkable
class TokenSource(Protocol):
    """What :class:`.client.QboClient` needs from whoever owns the tokens.

    The Odoo layer implements it with a row lock on the company's connection
    record; :class:`RotatingTokens` is the in-process implementation.
    """

    def current(self) -> Tokens:
        """The tokens to use now (refreshing first if the access token is about to expire)."""

    def refresh(self, stale: Tokens) -> Tokens:
        """Fresh tokens, given the ones a request was rejected with.

        Serialized per company; if someone else already refreshed since
        ``stale`` was handed out, return theirs instead of refreshing again.
        Persists the rotated refresh token before returning.
        """


def carry_over(current, refreshed):
    """The tokens to keep after a refresh: ``refreshed``, completed from ``current``.

    The rule every :class:`TokenSource` (the Odoo one too) follows: when the
    token endpoint returns no new refresh token, the current one stays valid
    and is kept with its expiries; the realm is kept when the answer has none.
    """
    if refreshed.realm_id is None:
        refreshed.realm_id = current.realm_id
    if not refreshed.refresh_token:
        refreshed.refresh_token = current.refresh_token
        refreshed.refresh_expires_at = current.refresh_expires_at
        refreshed.refresh_hard_expires_at = current.refresh_hard_expires_at
    return refreshed


class RotatingTokens:
    """In-process :class:`TokenSource`: one lock, one refresh at a time, persist first.

    ``persist(tokens)`` is called with every rotated :class:`Tokens` before it
    is returned to anyone. If it raises, the new tokens are kept aside and no
    caller gets them until a later ``current()``/``refresh()`` manages to
    persist them: an API call never runs on tokens storage has not seen.

    Hook: pass a ``lock`` shared with other sources of the same company (or a
    cross-process lock object with ``__enter__``/``__exit__``).
    """

    def __init__(
        self, oauth_client, tokens, persist, lock=None, *, refresh_margin=120.0, clock=utcnow
    ):
        self._oauth = oauth_client
        self._tokens = tokens
        self._persist = persist
        self._lock = lock or threading.RLock()
        self._unpersisted = None
        self.refresh_margin = refresh_margin
        self._clock = clock

    def current(self):
        with self._lock:
            self._flush()
            tokens = self._tokens
            if tokens.access_expires_within(self.refresh_margin, now=self._clock()):
                return self._refresh_locked(tokens)
            return tokens

    def refresh(self, stale):
        with self._lock:
            self._flush()
            return self._refresh_locked(stale)

    def _refresh_locked(self, stale):
        if stale is not None and self._tokens.access_token != stale.access_token:
            # Someone refreshed while this caller waited on the lock: reuse theirs.
            return self._tokens
        answer = self._oauth.refresh(self._tokens.refresh_token, realm_id=self._tokens.realm_id)
        fresh = carry_over(self._tokens, answer)
        self._unpersisted = fresh
        self._flush()
        _logger.info("QBO tokens refreshed and persisted for realm %s", fresh.realm_id)
        return self._tokens

    def _flush(self):
        """Persist pending rotated tokens; only then make them the current ones."""
        if self._unpersisted is None:
            return
        self._persist(self._unpersisted)
        self._tokens, self._unpersisted = self._unpersisted, None
