"""The addon's translations, exported by Odoo itself: the .pot and every <lang>.po in step.

    python3 tools/translations.py check   # make lint: fails when the .pot or a .po is stale
    python3 tools/translations.py pot     # rewrite noko_qbo/i18n/noko_qbo.pot
    python3 tools/translations.py po      # the .pot, then every noko_qbo/i18n/<lang>.po

Each command installs noko_qbo into a throw-away database (``noko_qbo_i18n_<pid>``,
dropped at the end) and runs ``odoo i18n export -l pot``. Only Odoo's export knows every
term: besides ``_()``/``self.env._()`` in Python it reads the registry and the module's
records (field labels and help, selection values, view arch, actions, menus, mail
templates, crons), so a static scan of the sources would miss or misname terms.

An entry is its msgid and where it is used (``code:addons/noko_qbo/...``,
``model:ir.model.fields,field_description:noko_qbo.field_...``): Odoo imports a .po
translation into a record only through such an occurrence, so a label reused by a new
field is a change even when the msgid already exists.

``po`` keeps every translation whose msgid still exists (also one equal to its source,
which Odoo's own export would blank), adds new msgids with an empty msgstr and drops
removed ones. ``check`` fails on a stale .pot or .po and lists untranslated msgids
without failing: translating is the last step, after the strings settle.

Prints ``TRANSLATIONS CHECK SKIPPED: <reason>`` and exits 0 when Odoo cannot be imported
(the Odoo suite does the same).
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from odoo_env import OdooNotFound, find_odoo, odoo_command, write_config

ROOT = Path(__file__).resolve().parent.parent
ADDON = "noko_qbo"
I18N = ROOT / ADDON / "i18n"
POT = I18N / f"{ADDON}.pot"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["check", "pot", "po"])
    args = parser.parse_args(argv)
    try:
        import polib  # Odoo's own dependency: present wherever Odoo is
    except ImportError as exc:
        return _skipped(f"{exc} (polib comes with Odoo)")
    try:
        odoo = find_odoo()
    except OdooNotFound as exc:
        return _skipped(str(exc))
    with tempfile.TemporaryDirectory(prefix="noko_qbo_i18n_") as tmp:
        exported = Path(tmp) / f"{ADDON}.pot"
        _export_pot(odoo, Path(tmp), exported)
        pot = polib.pofile(str(exported), wrapwidth=78)
        if args.command == "check":
            return _check(polib, pot)
        _write_pot(polib, pot)
        if args.command == "po":
            for path in sorted(I18N.glob("*.po")):
                _update_po(polib, pot, path)
    return 0


def _skipped(reason):
    print(f"TRANSLATIONS CHECK SKIPPED: {reason}", flush=True)
    return 0


def _export_pot(odoo, workdir, target):
    database = f"noko_qbo_i18n_{os.getpid()}"
    config = write_config(workdir / "odoo.conf", odoo, database, data_dir=workdir / "data")
    odoo_cmd = [*odoo_command(odoo)]
    env = odoo.environ()
    print(f"Odoo {odoo.version}: installing {ADDON} in {database} to export its terms", flush=True)
    try:
        _run([*odoo_cmd, "-c", str(config), "-i", ADDON, "--stop-after-init"], env)
        _run(
            [*odoo_cmd, "i18n", "export", "-c", str(config), "-d", database]
            + ["-l", "pot", "-o", str(target), ADDON],
            env,
        )
    finally:
        subprocess.run(["dropdb", "--if-exists", *odoo.pg_args, database], check=False)


def _run(command, env):
    done = subprocess.run(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    # Odoo exits 0 even when a data file fails to load: read the log
    log = done.stdout.splitlines()
    errors = [line for line in log if " ERROR " in line or " CRITICAL " in line]
    if done.returncode or errors:
        print(done.stdout[-20000:])
        sys.exit(f"{' '.join(command[:4])}... failed")


def _entries(po):
    """{msgid: occurrences}: what Odoo needs to apply a translation where it belongs."""
    return {
        entry.msgid: tuple(sorted(f"{name}:{line}" for name, line in entry.occurrences))
        for entry in po
        if not entry.obsolete
    }


def _check(polib, exported):
    failures = []
    if not POT.exists():
        failures.append(f"{_rel(POT)} is missing")
    else:
        failures += _differences(_rel(POT), _entries(polib.pofile(str(POT))), _entries(exported))
    for path in sorted(I18N.glob("*.po")):
        po = polib.pofile(str(path))
        failures += _differences(_rel(path), _entries(po), _entries(exported))
        untranslated = [entry.msgid for entry in po if not entry.obsolete and not entry.msgstr]
        if untranslated:
            print(f"{_rel(path)}: {len(untranslated)} msgid(s) not translated yet:")
            for msgid in untranslated:
                print(f"    {msgid!r}")
    if failures:
        print("Translations are stale:", *failures, sep="\n  ", file=sys.stderr)
        print("Run: python3 tools/translations.py po", file=sys.stderr)
        return 1
    print(f"{_rel(POT)} and {len(list(I18N.glob('*.po')))} .po file(s) match Odoo's export")
    return 0


def _differences(name, committed, exported):
    failures = [f"{name}: missing msgid {msgid!r}" for msgid in exported if msgid not in committed]
    failures += [f"{name}: unused msgid {msgid!r}" for msgid in committed if msgid not in exported]
    failures += [
        f"{name}: msgid {msgid!r} is used elsewhere now: {', '.join(exported[msgid])}"
        for msgid in exported
        if msgid in committed and committed[msgid] != exported[msgid]
    ]
    return failures


def _write_pot(polib, exported):
    """Write the .pot unless only its dates would change (no diff for nothing)."""
    if POT.exists() and _undated(polib.pofile(str(POT))) == _undated(exported):
        print(f"{_rel(POT)}: up to date")
        return
    I18N.mkdir(exist_ok=True)
    exported.save(str(POT))
    print(f"{_rel(POT)}: written ({len(exported)} msgids)")


def _undated(po):
    return re.sub(r'^"(POT-Creation-Date|PO-Revision-Date): .*$', "", str(po), flags=re.M)


def _update_po(polib, pot, path):
    """The .pot's entries with this language's translations where the msgid still exists."""
    old = polib.pofile(str(path), wrapwidth=78)
    translations = {entry.msgid: entry.msgstr for entry in old if not entry.obsolete}
    new = polib.POFile(wrapwidth=78)
    new.header = old.header or pot.header
    new.metadata = {**pot.metadata, **old.metadata}
    new.metadata["POT-Creation-Date"] = pot.metadata["POT-Creation-Date"]
    for entry in pot:
        new.append(
            polib.POEntry(
                msgid=entry.msgid,
                msgstr=translations.get(entry.msgid, ""),
                occurrences=entry.occurrences,
                comment=entry.comment,
                flags=entry.flags,
            )
        )
    if _entries(new) == _entries(old) and all(
        translations.get(entry.msgid, "") == entry.msgstr for entry in new
    ):
        print(f"{_rel(path)}: up to date")
        return
    new.save(str(path))
    missing = sum(1 for entry in new if not entry.msgstr)
    print(f"{_rel(path)}: written ({len(new)} msgids, {missing} to translate)")


def _rel(path):
    return path.relative_to(ROOT).as_posix()


if __name__ == "__main__":
    sys.exit(main())
