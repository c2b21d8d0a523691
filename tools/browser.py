"""The browser the Odoo tours need: Chromium on PATH and ``websocket-client``.

``python tools/browser.py`` (``make browser``): says which browser the tours will use;
when there is none, installs Debian's ``chromium`` package if it can (root and
``apt-get``), else fails (exit 2) saying what to install. ``--check`` only checks
(``tools/odoo_suite.py`` runs it before the suite): Odoo skips a tour when it finds no
browser, and a skipped tour must not pass for a run one.

Never downloads a browser of its own (no Playwright, no Chrome for Testing).
``NOKO_QBO_BROWSER_NO_INSTALL=1`` behaves as a machine where it cannot install (not
root, no apt-get): how the failure path is tested.
"""

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys

#: what Odoo 19 looks for on PATH, in its order (odoo/tests/common.py, _find_executable)
BROWSERS = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")
NO_INSTALL_ENV = "NOKO_QBO_BROWSER_NO_INSTALL"
APT_INSTALL = (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"])
HOW_TO = (
    "install Debian's chromium package (as root: apt-get update && apt-get install -y "
    "chromium; or Google Chrome) so that one of {names} is on PATH"
)


class BrowserMissing(Exception):
    """No browser for the tours, or no ``websocket-client``: the message says what to install."""


def find_browser():
    """The browser Odoo's ``HttpCase`` will start, or None."""
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def can_install():
    """Whether this process may install the Debian package itself."""
    if os.environ.get(NO_INSTALL_ENV):
        return False
    return hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get") is not None


def check_websocket_client():
    if importlib.util.find_spec("websocket") is None:
        raise BrowserMissing(
            f"Odoo drives the browser with websocket-client, not importable by {sys.executable}: "
            "pip install -r requirements-odoo.txt (make install)"
        )


def ensure_browser(install=True, say=print):
    """The browser's path; installs Chromium first when missing and ``install`` and allowed."""
    check_websocket_client()
    found = find_browser()
    if found:
        return found
    how = HOW_TO.format(names=", ".join(BROWSERS))
    if not install:
        raise BrowserMissing(f"no browser for the Odoo tours: {how} (make browser)")
    if not can_install():
        raise BrowserMissing(
            f"no browser for the Odoo tours, and this user cannot install one "
            f"(not root or no apt-get): {how}"
        )
    say("no browser for the Odoo tours: installing Debian's chromium package")
    for command in APT_INSTALL:
        say("$ " + " ".join(command))
        if subprocess.run(command, check=False).returncode:
            raise BrowserMissing(f"`{' '.join(command)}` failed: {how}")
    found = find_browser()
    if not found:
        raise BrowserMissing(f"chromium installed, yet none of {', '.join(BROWSERS)} on PATH")
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="check only, never install")
    args = parser.parse_args(argv)
    try:
        found = ensure_browser(install=not args.check)
    except BrowserMissing as exc:
        print(f"BROWSER MISSING: {exc}", file=sys.stderr)
        return 2
    print(f"browser for the Odoo tours: {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
