"""What every cached QuickBooks list (customers, payees, items, classes) shares.

The cache is per company and refreshed by :meth:`res.company._qbo_sync_lists`:
incrementally (``MetaData.LastUpdatedTime``) where QBO allows, with inactive
records included (``Active IN (true, false)``), and written set-based: one
search for the existing rows, one batched create, writes only where a value
changed.
"""

from datetime import UTC

from odoo import api, fields, models

from ..qbo.query import quote
from ..qbo.timestamps import parse_timestamp


class QboListMixin(models.AbstractModel):
    _name = "qbo.list.mixin"
    _description = "QuickBooks Online list record"
    _order = "name, id"
    _check_company_auto = True

    company_id = fields.Many2one(
        "res.company",
        required=True,
        index=True,
        readonly=True,
        default=lambda self: self.env.company,
    )
    qbo_id = fields.Char("QuickBooks Id", required=True, readonly=True, index=True)
    name = fields.Char(required=True, readonly=True)
    active_in_qbo = fields.Boolean("Active in QuickBooks", default=True, readonly=True)
    qbo_updated_at = fields.Datetime("Updated in QuickBooks", readonly=True)

    # ------------------------------------------------------------------ hooks

    @api.model
    def _qbo_sources(self):
        """Hook: the ``(entity, extra WHERE condition)`` pairs this model caches."""
        raise NotImplementedError

    @api.model
    def _qbo_values(self, row, entity):
        """Hook: field values for one QBO record (``row`` is its JSON dict)."""
        updated = parse_timestamp((row.get("MetaData") or {}).get("LastUpdatedTime"))
        return {
            "qbo_id": str(row["Id"]),
            "name": row.get("DisplayName") or row.get("FullyQualifiedName") or row.get("Name"),
            "active_in_qbo": bool(row.get("Active", True)),
            "qbo_updated_at": updated.astimezone(UTC).replace(tzinfo=None) if updated else False,
        }

    @api.model
    def _qbo_scope(self, entity):
        """Hook: domain of the cached records one source owns (for full syncs)."""
        return []

    def _qbo_key(self):
        """Hook: what identifies a cached record within its company."""
        return self.qbo_id

    @api.model
    def _qbo_key_of(self, values):
        return values["qbo_id"]

    # ------------------------------------------------------------------ sync

    @api.model
    def _qbo_sync(self, company, client, marks, full=False):
        """Bring this list up to date for ``company``; updates ``marks`` in place.

        ``marks`` maps ``"<model>/<entity>"`` to the newest ``LastUpdatedTime``
        seen (QBO's own string): the next sync asks only for records changed
        since (``>=``: the same second may hold records we did not see yet;
        reading a record twice is harmless). A full sync reads everything and
        marks cached records QBO no longer returns as inactive.
        """
        for entity, where in self._qbo_sources():
            mark_key = f"{self._name}/{entity}"
            since = None if full else marks.get(mark_key)
            conditions = ["Active IN (true, false)"]
            if where:
                conditions.append(where)
            if since:
                conditions.append(f"MetaData.LastUpdatedTime >= {quote(since)}")
            rows = client.query_all(entity, where=" AND ".join(conditions))
            self._qbo_store(company, rows, entity, full=full or not since)
            stamps = [(row.get("MetaData") or {}).get("LastUpdatedTime") for row in rows]
            stamps = [stamp for stamp in stamps if stamp]
            if stamps:
                newest = max(stamps, key=parse_timestamp)
                if not since or parse_timestamp(newest) >= parse_timestamp(since):
                    marks[mark_key] = newest

    @api.model
    def _qbo_store(self, company, rows, entity, full=False):
        """Create or update the cached records for ``rows`` (set-based)."""
        values_list = [self._qbo_values(row, entity) for row in rows]
        cache = self.sudo().with_context(active_test=False)
        existing = cache.search(
            [("company_id", "=", company.id), ("qbo_id", "in", [v["qbo_id"] for v in values_list])]
            + self._qbo_scope(entity)
        )
        by_key = {record._qbo_key(): record for record in existing}
        to_create = []
        seen = cache.browse()
        for values in values_list:
            record = by_key.get(self._qbo_key_of(values))
            if record is None:
                to_create.append({**values, "company_id": company.id})
                continue
            seen |= record
            changes = {
                name: value
                for name, value in values.items()
                if (record[name] or False) != (value or False)
            }
            if changes:
                record.write(changes)
        seen |= cache.create(to_create)
        if full:
            gone = (
                cache.search(
                    [("company_id", "=", company.id), ("active_in_qbo", "=", True)]
                    + self._qbo_scope(entity)
                )
                - seen
            )
            gone.write({"active_in_qbo": False})
        self._qbo_after_store(company, rows, seen)
        return seen

    @api.model
    def _qbo_after_store(self, company, rows, records):
        """Hook: link records to each other once all of them exist (parents...)."""
