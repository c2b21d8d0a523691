"""qbo_sandbox is its own distribution (qbo-sandbox), built from its folder in place."""

import tomllib
from fnmatch import fnmatch
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "qbo_sandbox"
NOT_SHIPPED = {"pyproject.toml", ".gitignore", "README.md"}  # README is the long description


def _project():
    return tomllib.loads((PACKAGE / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_distribution_is_stdlib_only_python_3_11_with_a_command():
    project = _project()["project"]
    assert project["name"] == "qbo-sandbox"
    assert project["dependencies"] == []
    assert project["requires-python"] == ">=3.11"
    assert project["scripts"] == {"qbo-sandbox": "qbo_sandbox.__main__:main"}


def test_every_file_of_the_folder_is_in_the_distribution():
    setuptools = _project()["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"qbo_sandbox": "."}
    assert setuptools["packages"] == ["qbo_sandbox"]
    data = setuptools["package-data"]["qbo_sandbox"]
    shipped = [
        path.relative_to(PACKAGE).as_posix()
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and not _build_output(path)
    ]
    left_out = [
        name
        for name in shipped
        if name not in NOT_SHIPPED
        and not ("/" not in name and name.endswith(".py"))  # modules of the one package
        and not any(fnmatch(name, pattern) for pattern in data)
    ]
    assert left_out == []
    assert any(fnmatch("companies/demo.json", pattern) for pattern in data)


def _build_output(path):
    parts = path.relative_to(PACKAGE).parts
    return parts[0] == "build" or parts[0].endswith(".egg-info")
