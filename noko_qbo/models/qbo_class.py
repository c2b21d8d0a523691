from odoo import api, models


class QboClass(models.Model):
    """A QBO Class (only used when the QBO company tracks classes)."""

    _name = "qbo.class"
    _inherit = "qbo.list.mixin"
    _description = "QuickBooks Online class"

    _qbo_id_uniq = models.Constraint(
        "unique(company_id, qbo_id)", "A QuickBooks class is cached once per company."
    )

    @api.model
    def _qbo_sources(self):
        return [("Class", "")]

    @api.model
    def _qbo_values(self, row, entity):
        values = super()._qbo_values(row, entity)
        values["name"] = row.get("FullyQualifiedName") or row.get("Name") or values["name"]
        return values
