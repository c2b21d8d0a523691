"""tools/browser.py: the tours' browser is found, installed when it can be, else a failure."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "browser.py"
spec = importlib.util.spec_from_file_location("noko_browser_check", SCRIPT)
browser = importlib.util.module_from_spec(spec)
spec.loader.exec_module(browser)


def run(path, **env):
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={"PATH": str(path), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def fake_browser(folder, name="chromium"):
    exe = folder / name
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    return exe


def test_missing_browser_that_cannot_be_installed_fails_saying_what_to_install(tmp_path):
    answer = run(tmp_path, **{browser.NO_INSTALL_ENV: "1"})
    assert answer.returncode == 2
    assert "BROWSER MISSING" in answer.stderr
    assert "apt-get install -y chromium" in answer.stderr


def test_a_browser_on_path_is_the_one_used(tmp_path):
    exe = fake_browser(tmp_path)
    answer = run(tmp_path, **{browser.NO_INSTALL_ENV: "1"})
    assert answer.returncode == 0, answer.stderr
    assert str(exe) in answer.stdout


def test_check_only_never_installs(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(browser, "can_install", lambda: True)
    monkeypatch.setattr(browser.subprocess, "run", pytest.fail)
    with pytest.raises(browser.BrowserMissing, match="make browser"):
        browser.ensure_browser(install=False, say=lambda _text: None)


def test_missing_browser_is_installed_with_apt_when_it_can(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(browser, "can_install", lambda: True)
    commands = []

    def apt(command, check):
        commands.append(command)
        if command[:2] == ["apt-get", "install"]:
            fake_browser(tmp_path)
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(browser.subprocess, "run", apt)
    assert browser.ensure_browser(say=lambda _text: None) == str(tmp_path / "chromium")
    assert commands == [list(command) for command in browser.APT_INSTALL]


def test_no_install_variable_stands_for_a_user_who_cannot(monkeypatch):
    monkeypatch.setenv(browser.NO_INSTALL_ENV, "1")
    assert not browser.can_install()
    monkeypatch.delenv(browser.NO_INSTALL_ENV)
    root_with_apt = os.geteuid() == 0 and browser.shutil.which("apt-get") is not None
    assert browser.can_install() == root_with_apt
