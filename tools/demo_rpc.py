"""A browser-shaped Odoo client for the demo: a session cookie and the web client's JSON-RPC."""

import itertools

import requests


class RpcError(Exception):
    """An error Odoo answered (its message, as the web client would show it)."""


class OdooSession:
    def __init__(self, url, database):
        self.url = url.rstrip("/")
        self.database = database
        self.http = requests.Session()
        self.ids = itertools.count(1)
        self.context = {}

    def jsonrpc(self, path, params):
        answer = self.http.post(
            self.url + path,
            json={"jsonrpc": "2.0", "method": "call", "id": next(self.ids), "params": params},
            timeout=120,
        )
        answer.raise_for_status()
        body = answer.json()
        if body.get("error"):
            data = body["error"].get("data") or {}
            raise RpcError(data.get("message") or body["error"].get("message") or str(body))
        return body.get("result")

    def login(self, login, password):
        info = self.jsonrpc(
            "/web/session/authenticate",
            {"db": self.database, "login": login, "password": password},
        )
        if not info or not info.get("uid"):
            raise RpcError(f"login {login!r} refused")
        self.context = dict(info.get("user_context") or {})
        return info

    def call(self, model, method, args=(), context=None, **kwargs):
        kwargs["context"] = {**self.context, **(context or {})}
        return self.jsonrpc(
            f"/web/dataset/call_kw/{model}.{method}",
            {"model": model, "method": method, "args": list(args), "kwargs": kwargs},
        )

    def button(self, model, method, ids, context=None):
        """What a ``type="object"`` button sends; returns the action it answers."""
        return self.jsonrpc(
            f"/web/dataset/call_button/{model}.{method}",
            {
                "model": model,
                "method": method,
                "args": [ids],
                "kwargs": {"context": {**self.context, **(context or {})}},
            },
        )

    def run_action(self, xmlid, context=None):
        """A server action from the Action menu, as the web client runs it."""
        action = self.jsonrpc("/web/action/load", {"action_id": xmlid})
        return self.jsonrpc(
            "/web/action/run",
            {"action_id": action["id"], "context": {**self.context, **(context or {})}},
        )
