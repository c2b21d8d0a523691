"""noko_qbo/README.rst and static/description/index.html, generated from noko_qbo/readme/.

    python3 tools/readme.py          # regenerate both with OCA's oca-gen-addon-readme
    python3 tools/readme.py check    # make lint: fails when they are older than their sources

The generator is OCA's own (``oca-gen-addon-readme``, from OCA/maintainer-tools). It is
not published on PyPI, so ``make install`` cannot bring it; install it from its
repository at the revision ``.pre-commit-config.yaml`` pins (pandoc comes with
pypandoc-binary), or let pre-commit do it::

    pip install "oca-maintainers-tools @ git+https://github.com/OCA/maintainer-tools@REV" \\
        pypandoc-binary==1.17
    pre-commit run noko-qbo-readme --all-files

Fragments: the ten OCA renders (DESCRIPTION, CONTEXT, INSTALL, CONFIGURE, USAGE, DEVELOP,
ROADMAP, HISTORY, CONTRIBUTORS, CREDITS), as ``.md``. OCA's generator ignores any other
file, so ``EXTRA_FRAGMENTS`` folds ours into one of those as a section (``SECURITY.md``
becomes *Security* under Configuration); any other file in ``readme/`` fails the check
until it is added there.

``check`` needs no generator: the README's ``source digest`` (kept as written by
``--keep-source-digest``) is a sha256 over exactly what the generator reads: the
fragments, the manifest keys its template shows, the generator's arguments and
revision. A new data file in the manifest does not make the README stale; a changed
fragment, name, author, maintainer, license or development status does.
"""

import ast
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADDON = "noko_qbo"
ADDON_DIR = ROOT / ADDON
FRAGMENTS_DIR = ADDON_DIR / "readme"
README = ADDON_DIR / "README.rst"
INDEX = ADDON_DIR / "static" / "description" / "index.html"

# OCA/maintainer-tools revision (also pinned in .pre-commit-config.yaml)
GENERATOR_REV = "d4657f8c17a576d0c56c68064e199545ee75db52"
GENERATOR_ARGS = ["--org-name=noko-qbo", "--repo-name=noko_qbo", "--branch=19.0"]
OCA_FRAGMENTS = [
    "DESCRIPTION",
    "CONTEXT",
    "INSTALL",
    "CONFIGURE",
    "USAGE",
    "DEVELOP",
    "ROADMAP",
    "HISTORY",
    "CONTRIBUTORS",
    "CREDITS",
]
# Hook: fragments of ours -> (OCA fragment they become a section of, section title)
EXTRA_FRAGMENTS = {
    "SECURITY": ("CONFIGURE", "Security"),
    "USAGE_API": ("DEVELOP", "API"),
}
# the manifest keys gen_addon_readme.rst.jinja renders
MANIFEST_KEYS = ["name", "author", "maintainers", "license", "development_status"]
DIGEST_RE = re.compile(r"!! source digest: (sha256:\w+)")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["check"]:
        return check()
    if argv:
        sys.exit(__doc__)
    return generate()


def fragments():
    """{name: path} of readme/*.md; exits naming any file OCA would silently drop."""
    found, unknown = {}, []
    for path in sorted(FRAGMENTS_DIR.iterdir()):
        if path.name.startswith(".") or path.name == "newsfragments":
            continue
        name = path.stem
        if path.suffix == ".md" and (name in OCA_FRAGMENTS or name in EXTRA_FRAGMENTS):
            found[name] = path
        else:
            unknown.append(path.name)
    if unknown:
        sys.exit(
            f"readme/: {', '.join(unknown)} would not reach README.rst. oca-gen-addon-readme "
            f"renders {', '.join(n + '.md' for n in OCA_FRAGMENTS)}; add a fragment of ours "
            "to EXTRA_FRAGMENTS in tools/readme.py (the OCA fragment it joins as a section)."
        )
    if "DESCRIPTION" not in found:
        sys.exit("readme/DESCRIPTION.md is required")
    return found


def source_digest():
    manifest = ast.literal_eval((ADDON_DIR / "__manifest__.py").read_text(encoding="utf-8"))
    digest = hashlib.sha256()
    inputs = {
        "generator": [GENERATOR_REV, *GENERATOR_ARGS],
        "extra": EXTRA_FRAGMENTS,
        "manifest": {key: manifest.get(key) for key in MANIFEST_KEYS},
    }
    digest.update(json.dumps(inputs, sort_keys=True).encode())
    for name, path in sorted(fragments().items()):
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return "sha256:" + digest.hexdigest()


def check():
    expected = source_digest()
    stale = []
    for path in (README, INDEX):
        found = DIGEST_RE.findall(path.read_text(encoding="utf-8")) if path.exists() else []
        if found != [expected]:
            stale.append(path.relative_to(ROOT).as_posix())
    if stale:
        print(
            f"{' and '.join(stale)}: not generated from the current readme/ fragments and "
            "manifest. Run: python3 tools/readme.py (see its docstring for the generator)",
            file=sys.stderr,
        )
        return 1
    print("README.rst and index.html match readme/ and the manifest")
    return 0


def generate():
    generator = shutil.which("oca-gen-addon-readme")
    if not generator:
        sys.exit("oca-gen-addon-readme is not installed:\n\n" + __doc__.split("\n\n")[2])
    digest = source_digest()
    with tempfile.TemporaryDirectory() as tmp:
        addon = Path(tmp) / ADDON  # the generator takes the addon's name from its folder
        (addon / "readme").mkdir(parents=True)
        shutil.copy(ADDON_DIR / "__manifest__.py", addon)
        for name, text in _oca_fragments().items():
            (addon / "readme" / f"{name}.md").write_text(text, encoding="utf-8")
        # --keep-source-digest keeps this one
        (addon / "README.rst").write_text(f"!! source digest: {digest}\n", encoding="utf-8")
        subprocess.run(
            [generator, f"--addon-dir={addon}", *GENERATOR_ARGS, "--keep-source-digest"],
            check=True,
        )
        shutil.copy(addon / "README.rst", README)
        INDEX.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(addon / "static" / "description" / "index.html", INDEX)
    print(f"{README.relative_to(ROOT)} and {INDEX.relative_to(ROOT)} generated ({digest})")
    return 0


def _oca_fragments():
    """OCA's fragments, ours folded in as sections (``##``: one level under the fragment)."""
    found = fragments()
    texts = {
        name: found[name].read_text(encoding="utf-8") for name in OCA_FRAGMENTS if name in found
    }
    for name, (target, title) in EXTRA_FRAGMENTS.items():
        if name in found:
            section = f"## {title}\n\n{_headings_down(found[name].read_text(encoding='utf-8'))}"
            texts[target] = (texts[target].rstrip() + "\n\n" if target in texts else "") + section
    return texts


def _headings_down(markdown):
    """Its headings under the new ``##`` section: the highest becomes ``###`` (not in code)."""
    lines, fenced = [], False
    for line in markdown.splitlines(keepends=True):
        if line.startswith("```"):
            fenced = not fenced
        heading = not fenced and re.match(r"(#{1,6}) ", line)
        lines.append((len(heading.group(1)), line) if heading else (None, line))
    levels = [level for level, _line in lines if level]
    shift = 3 - min(levels) if levels else 0
    return "".join("#" * (level + shift) + line[level:] if level else line for level, line in lines)


if __name__ == "__main__":
    sys.exit(main())
