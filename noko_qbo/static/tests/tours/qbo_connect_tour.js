/**
 * The admin connects the company in Settings: the Intuit app's keys, Save,
 * Connect to QuickBooks, Intuit's consent (the sandbox approves at once and
 * redirects back), Settings again showing the connected company.
 * Run by noko_qbo/tests/test_tour_connect.py, which points the company at
 * its sandbox and passes nothing else: the keys are the sandbox's test app.
 */
import { registry } from "@web/core/registry";
import { qboScreenshot } from "@noko_qbo/../tests/tours/qbo_tour_screenshot";

const CLIENT_ID = "sandbox-test-client";
const CLIENT_SECRET = "noko-qbo-test-secret";

registry.category("web_tour.tours").add("noko_qbo_connect", {
    steps: () => [
        {
            content: "Open the QuickBooks Online settings",
            trigger: ".settings_tab .tab[data-key='noko_qbo']",
            run: "click",
        },
        {
            content: "The company is not connected yet",
            trigger: ".app_settings_block[data-key='noko_qbo'] #qbo_status_setting:contains(Not connected)",
        },
        {
            content: "The sandbox's address is the custom environment's base URL",
            trigger: "div[name='qbo_base_url'] input:value(127.0.0.1)",
        },
        {
            content: "Enter the Intuit app's client ID",
            trigger: "div[name='qbo_client_id'] input",
            run: `edit ${CLIENT_ID}`,
        },
        {
            content: "Enter its client secret",
            trigger: "div[name='qbo_new_client_secret'] input",
            run: `edit ${CLIENT_SECRET}`,
        },
        {
            content: "Save the settings (the page reloads)",
            trigger: ".o_form_button_save",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Back to the QuickBooks Online settings",
            trigger: ".settings_tab .tab[data-key='noko_qbo']",
            run: "click",
        },
        {
            content: "The secret is stored, not shown back",
            trigger: "div[name='qbo_new_client_secret'] input[placeholder='Set: type to replace']",
            run() {
                if (this.anchor.value) {
                    throw new Error("the client secret came back into the form");
                }
            },
        },
        {
            content: "Connect to QuickBooks (Intuit's consent, then back here)",
            trigger: "button[name='action_qbo_connect']:contains(Connect to QuickBooks)",
            run: "click",
            expectUnloadPage: true,
        },
        {
            content: "Back in Settings: connected to the sandbox's company",
            trigger: "#qbo_status_setting .alert-success:contains(Connected to Larkspur Design Studio)",
        },
        {
            content: "The connected company's name beside the check mark",
            trigger: "#qbo_status_setting div[name='qbo_company_name']:contains(Larkspur Design Studio)",
        },
        qboScreenshot("settings_connected", "#qbo_health_setting"),
        {
            content: "No secret in the page",
            trigger: "button[name='action_qbo_test_connection']",
            run() {
                if (document.documentElement.outerHTML.includes(CLIENT_SECRET)) {
                    throw new Error("the client secret is in the page");
                }
            },
        },
    ],
});
