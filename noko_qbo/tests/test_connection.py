from odoo.tests import tagged

from .common import QboCase
from .test_oauth_callback import CallbackMixin


@tagged("post_install", "-at_install")
class TestConnection(CallbackMixin, QboCase):
    qbo_connect_on_setup = False

    def test_connect_refresh_disconnect(self):
        params = self.start_connect()
        company, problem = self.env["res.company"]._qbo_oauth_callback(
            params["state"], code=params["code"], realm_id=params["realmId"]
        )
        self.env.invalidate_all()
        self.assertIsNone(problem)
        self.assertTrue(company._qbo_is_connected())
        # refresh: the rotated token is stored
        source = company._qbo_token_source()
        first = source.current()
        rotated = source.refresh(first)
        self.env.invalidate_all()
        self.assertEqual(company.qbo_refresh_token, rotated.refresh_token)
        self.assertNotEqual(rotated.refresh_token, first.refresh_token)
        # disconnect: revoked at Intuit, forgotten here
        company._qbo_disconnect()
        self.env.invalidate_all()
        self.assertFalse(company._qbo_is_connected())
        self.assertFalse(company.qbo_refresh_token)
        self.assertFalse(company.qbo_realm_id)
        self.assertEqual(company.qbo_last_message_type, "success")
        grant = self.sandbox.oauth._refresh[rotated.refresh_token].grant
        self.assertTrue(grant.revoked)

    def test_test_connection_reports_company_and_time_tracking(self):
        self.qbo_connect(self.company)
        self.sandbox.set_time_tracking(False)
        action = self.company._qbo_action_test_connection()
        self.assertEqual(action["params"]["type"], "warning")
        self.assertIn("Larkspur Design Studio", action["params"]["message"])
        self.assertFalse(self.company.qbo_time_tracking)
        self.sandbox.set_time_tracking(True)
        action = self.company._qbo_action_test_connection()
        self.assertEqual(action["params"]["type"], "success")
        self.assertTrue(self.company.qbo_time_tracking)
        self.assertTrue(self.company.qbo_tracks_classes)

    def test_test_connection_reports_a_revoked_app(self):
        self.qbo_connect(self.company)
        self.sandbox.revoke_tokens()
        action = self.company._qbo_action_test_connection()
        self.assertEqual(action["params"]["type"], "danger")

    def test_settings_buttons_act_on_the_current_company(self):
        settings = self.env["res.config.settings"].create(
            {"qbo_new_client_secret": "rotated-secret"}
        )
        action = settings.action_qbo_connect()
        self.assertEqual(action["type"], "ir.actions.act_url")
        self.assertEqual(self.company.qbo_client_secret, "rotated-secret")
        self.assertFalse(settings.qbo_new_client_secret)
        self.assertEqual(
            settings.qbo_redirect_uri.rsplit("/", 3)[1:], ["noko_qbo", "oauth", "callback"]
        )
