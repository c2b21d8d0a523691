"""One company's data (a realm): list entities, time activities, company settings."""

import copy
import threading

from . import faults

NAME_ENTITIES = ("Customer", "Employee", "Vendor")
LIST_ENTITIES = (*NAME_ENTITIES, "Item", "Class")
TRANSACTIONS = ("TimeActivity", "Invoice")
STORED_ENTITIES = (*LIST_ENTITIES, *TRANSACTIONS)
QUERYABLE_ENTITIES = (*STORED_ENTITIES, "CompanyInfo", "Preferences")
MAX_JOB_LEVELS = 5


class Realm:
    """In-memory store of one QBO company, indexed by Id and by unique name.

    All mutation happens under ``lock``; readers get deep copies so a
    response being serialized never sees a half-applied write. Every
    change to a record is announced through ``changed()`` (webhooks).
    """

    def __init__(self, realm_id, clock):
        self.realm_id = realm_id
        self.clock = clock
        self.lock = threading.RLock()
        self.records = {name: {} for name in STORED_ENTITIES}
        self.company_info = {}
        self.preferences = {}
        self._next_id = 1
        self._display_names = {}  # casefolded DisplayName -> (entity, Id): unique across payees
        self._item_names = {}
        self.deleted = {name: set() for name in TRANSACTIONS}  # deleted Ids answer differently
        self.invoice_of = {}  # TimeActivity Id -> Id of the Invoice that billed it
        self.listener = None  # listener(realm_id, entity, Id, operation, when): webhooks

    def changed(self, entity, record_id, operation):
        """Announce a Create/Update/Delete (called under ``lock``, so listeners stay cheap)."""
        if self.listener is not None:
            self.listener(self.realm_id, entity, record_id, operation, self.clock.now())

    # --- ids and metadata ---------------------------------------------------

    def new_id(self):
        with self.lock:
            value = str(self._next_id)
            self._next_id += 1
            return value

    def reserve_id(self, value):
        with self.lock:
            if value.isdigit():
                self._next_id = max(self._next_id, int(value) + 1)

    def metadata(self, created=None):
        now = self.clock.stamp()
        return {"CreateTime": created or now, "LastUpdatedTime": now}

    # --- reading ------------------------------------------------------------

    def get(self, entity, record_id):
        return self.records[entity].get(str(record_id))

    def all(self, entity):
        if entity == "CompanyInfo":
            return [self.company_info]
        if entity == "Preferences":
            return [self.preferences]
        return list(self.records[entity].values())

    def snapshot(self, entity):
        with self.lock:
            return copy.deepcopy(self.all(entity))

    # --- list entities (seeding) --------------------------------------------

    def add_list_entry(self, entity, record):
        """Store a Customer/Employee/Vendor/Item/Class, enforcing QBO's name rules."""
        with self.lock:
            if entity in NAME_ENTITIES:
                name = record.get("DisplayName") or ""
                if ":" in name:
                    raise faults.business(
                        f"DisplayName may not contain ':' ({name})", "DisplayName"
                    )
                key = name.casefold()
                if key in self._display_names:
                    raise faults.duplicate_name(name)
                self._display_names[key] = (entity, record["Id"])
            elif entity == "Item":
                key = record["Name"].casefold()
                if key in self._item_names:
                    raise faults.duplicate_name(record["Name"])
                self._item_names[key] = record["Id"]
            self.reserve_id(record["Id"])
            self.records[entity][record["Id"]] = record
            return record

    def find_by_name(self, entity, name):
        key = (name or "").casefold()
        for record in self.records[entity].values():
            label = (
                record.get("FullyQualifiedName") or record.get("DisplayName") or record.get("Name")
            )
            if (label or "").casefold() == key:
                return record
        return None

    # --- company settings -----------------------------------------------------

    def _other_pref(self, name):
        for pair in self.preferences.get("OtherPrefs", {}).get("NameValue", []):
            if pair.get("Name") == name:
                return pair
        return None

    @property
    def time_tracking(self):
        pair = self._other_pref("TimeTrackingFeatureEnabled")
        return pair is not None and str(pair.get("Value")).lower() == "true"

    def set_time_tracking(self, enabled):
        with self.lock:
            pair = self._other_pref("TimeTrackingFeatureEnabled")
            if pair is None:
                pair = {"Name": "TimeTrackingFeatureEnabled"}
                self.preferences.setdefault("OtherPrefs", {}).setdefault("NameValue", []).append(
                    pair
                )
            pair["Value"] = "true" if enabled else "false"
            self._touch_preferences()

    @property
    def closed_books(self):
        """The books-closing date (ISO string) or None."""
        return self.preferences.get("AccountingInfoPrefs", {}).get("BookCloseDate")

    def set_closed_books(self, closing_date):
        with self.lock:
            prefs = self.preferences.setdefault("AccountingInfoPrefs", {})
            if closing_date:
                prefs["BookCloseDate"] = str(closing_date)[:10]
            else:
                prefs.pop("BookCloseDate", None)
            self._touch_preferences()

    @property
    def projects_enabled(self):
        pair = self._other_pref("ProjectsEnabled")
        return pair is not None and str(pair.get("Value")).lower() == "true"

    @property
    def class_tracking(self):
        prefs = self.preferences.get("AccountingInfoPrefs", {})
        return bool(prefs.get("ClassTrackingPerTxn") or prefs.get("ClassTrackingPerTxnLine"))

    def _touch_preferences(self):
        self.preferences["SyncToken"] = str(int(self.preferences.get("SyncToken", "0")) + 1)
        self.preferences.setdefault("MetaData", {})["LastUpdatedTime"] = self.clock.stamp()
