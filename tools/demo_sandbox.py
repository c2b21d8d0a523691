"""The sandbox part of `make demo`, and the whole demo on a machine without Odoo.

``start_sandbox`` starts ``qbo_sandbox`` (used by the full demo too). ``main`` is the
sandbox-only demo: it walks the OAuth dance a real app walks (authorize → code → tokens),
reads the company, creates a TimeActivity, prints the commands to do the same by hand, and
serves until Ctrl-C.
"""

import base64
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import requests

ROOT = Path(__file__).resolve().parent.parent
SANDBOX_PORT = int(os.environ.get("DEMO_SANDBOX_PORT", "8070"))
CLIENT_ID, CLIENT_SECRET = "demo-client", "demo-secret"
REDIRECT_URI = "http://localhost/callback"


def start_sandbox(port, company=None, log=None, **popen):
    """``qbo_sandbox`` on 127.0.0.1:``port`` (``company``: a company JSON file, default the
    shipped demo company); returns ``(process, base_url)`` once it answers."""
    command = [sys.executable, "-m", "qbo_sandbox", "--port", str(port)]
    if company:
        command += ["--company", str(company)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=log or subprocess.DEVNULL,
        stderr=log,
        **popen,
    )
    base_url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            requests.get(f"{base_url}/.well-known/openid_configuration", timeout=1)
            return process, base_url
        except requests.ConnectionError:
            if process.poll() is not None:
                raise RuntimeError(
                    f"qbo_sandbox did not start (port {port} taken? set DEMO_SANDBOX_PORT)"
                ) from None
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("qbo_sandbox did not answer within 10 s")


def connect(base_url):
    """The OAuth 2.0 authorization-code grant, as the addon's Connect button runs it."""
    discovery = requests.get(f"{base_url}/.well-known/openid_configuration", timeout=5).json()
    query = urlencode(
        {
            "client_id": CLIENT_ID,
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting",
            "redirect_uri": REDIRECT_URI,
            "state": "demo-state",
        }
    )
    consent = requests.get(
        f"{discovery['authorization_endpoint']}?{query}", allow_redirects=False, timeout=5
    )
    callback = parse_qs(urlparse(consent.headers["Location"]).query)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    tokens = requests.post(
        discovery["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": callback["code"][0],
            "redirect_uri": REDIRECT_URI,
        },
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
        timeout=5,
    ).json()
    return callback["realmId"][0], tokens


def worked_example(base_url, realm_id, tokens):
    api = f"{base_url}/v3/company/{realm_id}"
    session = requests.Session()
    session.headers.update(
        {"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"}
    )
    params = {"minorversion": 75}

    def query(statement):
        answer = session.get(f"{api}/query", params={**params, "query": statement}, timeout=5)
        return answer.json()["QueryResponse"]

    company = session.get(f"{api}/companyinfo/{realm_id}", params=params, timeout=5).json()
    customers = query("SELECT * FROM Customer ORDERBY DisplayName").get("Customer", [])
    employee = query("SELECT * FROM Employee MAXRESULTS 1")["Employee"][0]
    created = session.post(
        f"{api}/timeactivity",
        params={**params, "requestid": "demo-1"},
        json={
            "TxnDate": time.strftime("%Y-%m-%d"),
            "NameOf": "Employee",
            "EmployeeRef": {"value": employee["Id"]},
            "CustomerRef": {"value": customers[0]["Id"]},
            "Hours": 1,
            "Minutes": 30,
            "Description": "Demo: sent by make demo",
        },
        timeout=5,
    ).json()["TimeActivity"]
    print(f"Company: {company['CompanyInfo']['CompanyName']} (realm {realm_id})")
    print(f"Customers: {', '.join(c['FullyQualifiedName'] for c in customers)}")
    print(
        f"Created TimeActivity {created['Id']}: {created['Hours']}h{created['Minutes']:02d} "
        f"for {employee['DisplayName']} on {customers[0]['DisplayName']}"
    )
    print(
        "\nTry it yourself:\n"
        f"  TOKEN=$(curl -s -X POST {base_url}/_sandbox/issue_tokens | "
        'python3 -c \'import json,sys; print(json.load(sys.stdin)["result"]["access_token"])\')\n'
        f'  curl -s -H "Authorization: Bearer $TOKEN" -H "Accept: application/json" \\\n'
        f'    "{api}/query?minorversion=75&query=SELECT%20*%20FROM%20TimeActivity"\n'
        f"  curl -s {base_url}/_sandbox/stats\n"
    )


def main():
    process, base_url = start_sandbox(SANDBOX_PORT)
    try:
        realm_id, tokens = connect(base_url)
        print(f"qbo_sandbox serving on {base_url} (discovery: /.well-known/openid_configuration)")
        worked_example(base_url, realm_id, tokens)
        print("Serving until Ctrl-C.")
        process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        process.terminate()


if __name__ == "__main__":
    main()
