"""What every noko_qbo tour test shares: no silent skip, screenshots, what the browser got.

``QboTourMixin`` goes before ``HttpCase`` in the bases:

- a tour that cannot run (no Chromium, no ``websocket-client``) fails the test, naming
  what to install: Odoo would skip it, and a skipped tour proves nothing;
- the tour step ``qboScreenshot(name)`` (``static/tests/tours/qbo_tour_screenshot.js``)
  saves ``<name>.png`` of the browser's window (``browser_size``, 1366 px wide) into the
  folder ``NOKO_QBO_SCREENSHOTS`` names; without it nothing is saved and the tour goes on.
  Failure screenshots stay Odoo's (``--screenshots`` folder);
- ``qbo_served()`` records every request the server answered (assets aside), and
  ``assertNotServed`` checks afterwards that no secret went out to the browser.
"""

import base64
import io
import json
import os
import unittest
from contextlib import contextmanager
from pathlib import Path
from unittest.mock import patch

from odoo import http
from odoo.tests.common import ChromeBrowser

#: the folder the tours' screenshots go to (README: noko_qbo/static/description)
SCREENSHOTS_ENV = "NOKO_QBO_SCREENSHOTS"
#: what ``qboScreenshot(name)`` logs in the browser's console (qbo_tour_screenshot.js)
SCREENSHOT_SIGNAL = "noko_qbo:screenshot:"
DONE_EVENT = "noko_qbo:screenshot-done"
NO_BROWSER = (
    "the browser tests need Chromium and websocket-client: `make browser` "
    "(Debian: apt-get install -y chromium; pip install websocket-client)"
)


class QboTourMixin:
    """Tour tests of noko_qbo (see the module docstring)."""

    browser_size = "1366x768"

    def setUp(self):
        super().setUp()
        self.qbo_screenshots = []
        handle_console = ChromeBrowser._handle_console
        test = self

        def _handle_console(browser, type, args=None, **kwargs):  # noqa: A002 - CDP's name
            text = (args or [{}])[0].get("value")
            if type == "log" and isinstance(text, str) and text.startswith(SCREENSHOT_SIGNAL):
                test._qbo_take_screenshot(browser, text[len(SCREENSHOT_SIGNAL) :])
                return None
            return handle_console(browser, type, args=args, **kwargs)

        self.startPatcher(patch.object(ChromeBrowser, "_handle_console", _handle_console))

    def browser_js(self, *args, **kwargs):
        try:
            return super().browser_js(*args, **kwargs)
        except unittest.SkipTest as skipped:
            self.fail(f"{NO_BROWSER} ({skipped})")

    # ------------------------------------------------------------- screenshots

    def _qbo_take_screenshot(self, browser, name):
        """Capture now (in the browser's event thread: no waiting here), then let the tour go on."""
        self.qbo_screenshots.append(name)
        folder = os.environ.get(SCREENSHOTS_ENV)
        if not folder:
            self._qbo_screenshot_done(browser, name)
            return
        target = Path(folder) / f"{Path(name).name}.png"

        def save(future):
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(base64.b64decode(future.result()["data"]))
                self._logger.info("Screenshot %s saved in %s", name, target)
            finally:
                self._qbo_screenshot_done(browser, name)

        browser._websocket_send(
            "Page.captureScreenshot", params={"format": "png"}, with_future=True
        ).add_done_callback(save)

    @staticmethod
    def _qbo_screenshot_done(browser, name):
        event = f"new CustomEvent({json.dumps(DONE_EVENT)}, {{detail: {json.dumps(name)}}})"
        browser._websocket_send(
            "Runtime.evaluate", params={"expression": f"window.dispatchEvent({event})"}
        )

    # ------------------------------------------------------- what the browser got

    @contextmanager
    def qbo_served(self):
        """A list filled with ``(path, request body, answer body)`` of every request served
        meanwhile (assets aside)."""
        served = []
        application = http.Application.__call__

        def serve(app, environ, start_response):
            path = environ.get("PATH_INFO", "")
            if "/static/" in path or path.startswith("/web/assets/"):
                return application(app, environ, start_response)
            size = int(environ.get("CONTENT_LENGTH") or 0)
            sent = environ["wsgi.input"].read(size) if size else b""
            environ["wsgi.input"] = io.BytesIO(sent)
            answer = application(app, environ, start_response)
            body = b"".join(answer)
            if hasattr(answer, "close"):
                answer.close()
            served.append((path, sent, body))
            return [body]

        with patch.object(http.Application, "__call__", serve):
            yield served

    def assertNotServed(self, served, secrets):
        """None of ``secrets`` (strings) in any answer ``qbo_served()`` recorded, except
        the answer to the request that carried it (the form echoing what was just typed)."""
        for label, secret in secrets.items():
            self.assertTrue(secret, f"no {label} to look for")
            secret = secret.encode()
            leaks = [path for path, sent, body in served if secret in body and secret not in sent]
            self.assertFalse(leaks, f"the {label} was sent to the browser by {leaks}")
