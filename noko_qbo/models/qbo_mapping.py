"""How Odoo projects and employees find their QuickBooks counterparts.

The mapping of each project and employee lives in a row of our own
(``qbo.project.mapping``, ``qbo.employee.mapping``): an optional manual override,
else automatic matching by name; it never guesses: two candidates make an *ambiguous* result that is
reported, not picked.

Name matching runs in two rounds; the first round with any candidate decides:

1. **exact**: the names are equal once surrounding whitespace is removed;
2. **normalized**: :func:`normalize_name` of both sides are equal.

A QBO customer answers to its full name (``FullyQualifiedName``, e.g.
``Acme:Website``) and to its own name (the last segment, ``Website``), so a
sub-customer (job) matches a project named after it; when two jobs of
different parents share a name, the result is ambiguous.

Among the candidates of the deciding round, active ones win; only when every
candidate is inactive in QBO is the result ``inactive`` (one) or
``ambiguous`` (several).
"""

import re
import unicodedata
from collections import defaultdict, namedtuple

#: ``record``: the cached QBO record (empty recordset when none); ``found_by``: how it
#: was found (see :data:`FOUND_BY`); ``message``: a translated sentence naming the Odoo
#: record, for previews and forms; ``mapping_id``: the mapping row to open to fix it.
Resolution = namedtuple("Resolution", "record found_by message mapping_id")

#: Resolutions that block an export (nothing, or no single active record, was found).
UNRESOLVED = ("missing", "ambiguous", "inactive")

FOUND_BY = [
    ("manual", "Manual"),
    ("name", "Automatic by name"),
    ("email", "Automatic by email"),
    ("none", "Without customer"),
    ("missing", "Missing"),
    ("ambiguous", "Ambiguous"),
    ("inactive", "Inactive in QuickBooks"),
]

_NON_WORD = re.compile(r"[^\w]+")
_AMPERSAND = re.compile(r"\s*&\s*")


def normalize_name(name):
    """The form under which two names count as the same party.

    - case-insensitive (``casefold``);
    - accents removed (``Café`` = ``Cafe``): Odoo and QBO are often typed on
      different keyboards;
    - ``&`` reads as ``and`` (``Smith & Co`` = ``Smith and Co``);
    - punctuation counts as a space (``Acme, Inc.`` = ``Acme Inc``), and
      runs of whitespace collapse; surrounding whitespace is ignored;
    - nothing else: legal suffixes (``Inc``, ``LLC``) and word order matter.
    """
    if not name:
        return ""
    text = unicodedata.normalize("NFKD", name)
    text = "".join(char for char in text if not unicodedata.combining(char))
    text = _AMPERSAND.sub(" and ", text.casefold())
    text = _NON_WORD.sub(" ", text).replace("_", " ")
    return " ".join(text.split())


class NameIndex:
    """Cached QBO records by exact and normalized name (built once per company)."""

    def __init__(self, records, names_of):
        self.exact = defaultdict(set)
        self.normalized = defaultdict(set)
        self.records = {record.id: record for record in records}
        for record in records:
            for name in names_of(record):
                if name and name.strip():
                    self.exact[name.strip()].add(record.id)
                    self.normalized[normalize_name(name)].add(record.id)

    def candidates(self, name):
        """Ids matching ``name``: the exact round if it finds any, else the normalized one."""
        if not name or not name.strip():
            return set()
        return self.exact.get(name.strip()) or self.normalized.get(normalize_name(name)) or set()


class EmailIndex:
    def __init__(self, records):
        self.by_email = defaultdict(set)
        self.records = {record.id: record for record in records}
        for record in records:
            if record.email:
                self.by_email[record.email.strip().casefold()].add(record.id)

    def candidates(self, email):
        return self.by_email.get((email or "").strip().casefold(), set())


def pick(records_by_id, ids):
    """``(record_or_None, found_by)`` of candidate ids: one active wins, else inactive/ambiguous."""
    if not ids:
        return None, "missing"
    candidates = [records_by_id[i] for i in sorted(ids)]
    active = [record for record in candidates if record.active_in_qbo]
    if len(active) == 1:
        return active[0], "name"
    if len(active) > 1:
        return None, "ambiguous"
    if len(candidates) == 1:
        return candidates[0], "inactive"
    return None, "ambiguous"


def customer_names(customer):
    """What a cached customer answers to: its full name and its own (last) segment."""
    full = customer.fully_qualified_name or customer.name or ""
    return {full, full.rsplit(":", 1)[-1], customer.name or ""}


def search_by_found_by(mappings_model, operator, value):
    """Domain on a mapping's computed ``found_by``: resolves every mapping the user sees.

    Set-based (one resolution pass for all of them), so filters such as "needs
    attention" work on the mapping screens.
    """
    if operator not in ("in", "not in"):
        return NotImplemented
    wanted = set(value)
    resolutions = mappings_model.search([])._qbo_resolve()
    matching = [rid for rid, resolution in resolutions.items() if resolution.found_by in wanted]
    return [("id", operator, matching)]
