from odoo.tests import HttpCase, tagged

from .common import QboSetupMixin
from .tour_common import QboTourMixin


@tagged("post_install", "-at_install")
class TestTourConnect(QboTourMixin, QboSetupMixin, HttpCase):
    """The admin's Connect in Settings, in Chromium, through the sandbox's consent redirect.

    The browser leaves Odoo for the sandbox's authorize page (same host, the sandbox's
    port), which approves at once and redirects to Odoo's callback, which exchanges the
    code with the sandbox and sends the browser back to Settings.
    """

    qbo_connect_on_setup = False

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls._qbo_setup_class()

    def test_admin_connects_in_settings(self):
        admin = self.env.ref("base.user_admin")
        company = admin.company_id
        # The admin's environment is the sandbox; the tour types the app's keys.
        company.write(
            {
                "qbo_environment": "custom",
                "qbo_base_url": self.sandbox.base_url,
                "qbo_client_id": False,
                "qbo_client_secret": False,
            }
        )
        self.assertFalse(company._qbo_is_connected())
        with self.qbo_served() as served:
            self.start_tour("/odoo/settings", "noko_qbo_connect", login="admin", timeout=60)
        self.assertEqual(self.qbo_screenshots, ["settings_connected"])
        self.env.invalidate_all()
        company = company.sudo()
        self.assertTrue(company._qbo_is_connected())
        self.assertEqual(company.qbo_realm_id, self.sandbox.realm_id)
        self.assertEqual(company.qbo_company_name, "Larkspur Design Studio")
        self.assertEqual(company.qbo_client_secret, "noko-qbo-test-secret")
        self.assertEqual(company.qbo_last_message_type, "success")
        # the callback went through Odoo, and the tokens are the ones the sandbox issued
        self.assertIn("/noko_qbo/oauth/callback", [path for path, _sent, _body in served])
        self.assertNotServed(
            served,
            {
                "client secret": company.qbo_client_secret,
                "access token": company.qbo_access_token,
                "refresh token": company.qbo_refresh_token,
            },
        )
