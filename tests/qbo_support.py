"""Shared helpers of the QBO client tests."""

import random

from noko_qbo.qbo.client import QboClient
from noko_qbo.qbo.environments import resolve
from noko_qbo.qbo.oauth import OAuthClient, Tokens
from noko_qbo.qbo.retry import RetryPolicy
from noko_qbo.qbo.tokens import RotatingTokens

#: The app the sandbox's ``issue_tokens()`` grants to (its refresh grant checks it).
CLIENT_ID = "sandbox-test-client"


def connect(server, *, limits=None, persist=None, oauth_session=None, **kwargs):
    """A QboClient on ``server``'s demo company with fresh tokens and quick retries."""
    env = resolve("custom", server.base_url)
    oauth = OAuthClient(env, CLIENT_ID, "secret", "https://x/cb", session=oauth_session)
    tokens = Tokens.from_response(server.issue_tokens(), realm_id=server.realm_id)
    source = RotatingTokens(oauth, tokens, persist or (lambda tokens: None))
    time_scale = server.clock.time_scale
    kwargs.setdefault("timeout", (2, 5))
    kwargs.setdefault(
        "retry",
        RetryPolicy(base_delay=0.01, max_delay=0.05, time_scale=time_scale, rng=random.Random(0)),
    )
    return QboClient(env, server.realm_id, source, limits=limits, time_scale=time_scale, **kwargs)
