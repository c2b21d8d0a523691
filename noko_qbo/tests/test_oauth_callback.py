from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import requests

from odoo import fields
from odoo.tests import HttpCase, tagged

from .common import QboCase, QboSetupMixin


def _params(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


class CallbackMixin:
    def start_connect(self, company=None):
        """Connect as the current user: the sandbox's consent redirect's parameters."""
        company = company or self.company
        url = company._qbo_action_connect()["url"]
        answer = requests.get(url, allow_redirects=False, timeout=10)
        self.assertEqual(answer.status_code, 302)
        return _params(answer.headers["Location"])


@tagged("post_install", "-at_install")
class TestOAuthCallback(CallbackMixin, QboCase):
    qbo_connect_on_setup = False

    def callback(self, **params):
        """``(company, problem)`` of the callback with Intuit's redirect parameters."""
        company, problem = self.env["res.company"]._qbo_oauth_callback(
            params.get("state"),
            code=params.get("code"),
            realm_id=params.get("realmId"),
            error=params.get("error"),
        )
        self.env.invalidate_all()
        return company, problem

    def connected(self, **params):
        company, problem = self.callback(**params)
        self.assertIsNone(problem)
        return company

    def assertRejected(self, outcome, fragment):
        """Refused, told to this user only: the company's Settings message is untouched."""
        company, problem = outcome
        self.assertFalse(company._qbo_is_connected())
        self.assertIn(fragment, problem or "")
        self.assertFalse(company.qbo_last_message)

    def test_authorize_url_carries_a_state_bound_to_user_and_company(self):
        url = self.company._qbo_action_connect()["url"]
        params = _params(url)
        self.assertTrue(url.startswith(self.sandbox.base_url))
        base = self.env["ir.config_parameter"].sudo().get_param("web.base.url")
        self.assertEqual(params["redirect_uri"], base + "/noko_qbo/oauth/callback")
        state = self.env["qbo.oauth.state"].sudo().search([], limit=1)
        self.assertEqual(state.user_id, self.env.user)
        self.assertEqual(state.company_id, self.company)
        self.assertNotEqual(state.state_hash, params["state"])  # only a hash is stored
        self.assertGreater(state.expires_at, fields.Datetime.now())

    def test_callback_connects_and_reads_the_qbo_company(self):
        company = self.connected(**self.start_connect())
        self.assertEqual(company, self.company)
        self.assertTrue(company._qbo_is_connected())
        self.assertEqual(company.qbo_realm_id, self.sandbox.realm_id)
        self.assertEqual(company.qbo_company_name, "Larkspur Design Studio")
        self.assertTrue(company.qbo_time_tracking)
        self.assertEqual(company.qbo_last_message_type, "success")
        self.assertTrue(company.qbo_refresh_hard_expires_at)

    def test_missing_state_is_rejected(self):
        params = self.start_connect()
        params.pop("state")
        self.assertRejected(self.callback(**params), "no authorization state")

    def test_unknown_state_is_rejected(self):
        params = self.start_connect()
        params["state"] = "forged" + params["state"]
        self.assertRejected(self.callback(**params), "Unknown authorization state")

    def test_reused_state_is_rejected(self):
        params = self.start_connect()
        self.assertTrue(self.connected(**params)._qbo_is_connected())
        self.company._qbo_token_source().forget()
        self.company.sudo().qbo_last_message = False
        self.assertRejected(self.callback(**params), "already used")

    def test_expired_state_is_rejected(self):
        params = self.start_connect()
        state = self.env["qbo.oauth.state"].sudo().search([], limit=1)
        state.expires_at = fields.Datetime.now() - timedelta(seconds=1)
        self.assertRejected(self.callback(**params), "expired")

    def test_state_of_another_user_is_rejected(self):
        params = self.start_connect()
        other = self.qbo_user("qbo_other_admin", "base.group_system")
        company, problem = (
            self.env["res.company"]
            .with_user(other)
            ._qbo_oauth_callback(params["state"], code=params["code"], realm_id=params["realmId"])
        )
        self.env.invalidate_all()
        self.assertRejected((company.with_env(self.env), problem), "someone else")
        # the state stays usable by the admin who started it
        self.assertTrue(self.connected(**params)._qbo_is_connected())

    def test_state_for_a_company_out_of_reach_is_rejected(self):
        params = self.start_connect()
        other_company = self.env["res.company"].create({"name": "Elsewhere Ltd"})
        self.env.user.company_ids = other_company  # the admin lost access to self.company
        self.env.user.company_id = other_company
        company, problem = self.callback(**params)
        self.assertFalse(self.company._qbo_is_connected())
        self.assertIn("someone else", problem)
        self.assertFalse(self.company.qbo_last_message)

    def test_denied_consent_is_reported(self):
        self.sandbox.deny_next_authorize()
        params = self.start_connect()
        self.assertEqual(params.get("error"), "access_denied")
        self.assertRejected(self.callback(**params), "access_denied")

    def test_forged_realm_changes_nothing(self):
        """A valid state and code with another realmId: QBO denies that realm, nothing stored."""
        self.qbo_connect(self.company)
        self.company._qbo_sync_lists(force=True)
        self.env.invalidate_all()
        before = (self.company.qbo_realm_id, self.company.qbo_refresh_token)
        lists = self.env["qbo.customer"].search_count([("company_id", "=", self.company.id)])
        self.assertTrue(lists)
        other_realm = self.sandbox.seed({"CompanyInfo": {"CompanyName": "Someone Else Inc"}})
        params = self.start_connect()
        company, problem = self.callback(**{**params, "realmId": other_realm})
        self.assertIn("did not grant access", problem)
        self.assertFalse(company.qbo_last_message)
        self.assertEqual((self.company.qbo_realm_id, self.company.qbo_refresh_token), before)
        self.assertEqual(
            self.env["qbo.customer"].search_count([("company_id", "=", self.company.id)]), lists
        )


@tagged("post_install", "-at_install")
class TestOAuthCallbackHttp(CallbackMixin, QboSetupMixin, HttpCase):
    """The whole dance through HTTP (runs with pytest-odoo's --odoo-http or Odoo's runner)."""

    qbo_connect_on_setup = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._qbo_setup_class()

    def test_connect_through_the_browser_redirect(self):
        self.env["ir.config_parameter"].sudo().set_param("web.base.url", self.base_url())
        self.authenticate("admin", "admin")
        self.env = self.env(user=self.env.ref("base.user_admin"))
        self.company = self.env.user.company_id
        self.qbo_configure(self.company)
        params = self.start_connect(self.company)
        self.assertTrue(params["code"])
        answer = self.url_open(
            "/noko_qbo/oauth/callback?" + "&".join(f"{k}={v}" for k, v in params.items()),
            allow_redirects=False,
        )
        self.assertEqual(answer.status_code, 303)
        self.assertIn(
            "/odoo/action-noko_qbo.res_config_settings_action", answer.headers["Location"]
        )
        self.env.invalidate_all()
        self.assertTrue(self.company._qbo_is_connected())
        message = self.company.qbo_last_message
        # the same redirect again is refused: a page for this user, nothing stored
        answer = self.url_open(
            "/noko_qbo/oauth/callback?" + "&".join(f"{k}={v}" for k, v in params.items()),
            allow_redirects=False,
        )
        self.assertEqual(answer.status_code, 400)
        self.assertIn("already used", answer.text)
        self.env.invalidate_all()
        self.assertEqual(self.company.qbo_last_message, message)
