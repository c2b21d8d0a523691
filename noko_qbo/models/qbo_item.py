from odoo import api, fields, models


class QboItem(models.Model):
    """A QBO Service item (TimeActivity's ItemRef; Noko's "category")."""

    _name = "qbo.item"
    _inherit = "qbo.list.mixin"
    _description = "QuickBooks Online service item"

    unit_price = fields.Float(
        "Sales Price", readonly=True, help="QuickBooks' sales price per hour of this service."
    )

    _qbo_id_uniq = models.Constraint(
        "unique(company_id, qbo_id)", "A QuickBooks item is cached once per company."
    )

    @api.model
    def _qbo_sources(self):
        return [("Item", "Type = 'Service'")]

    @api.model
    def _qbo_values(self, row, entity):
        values = super()._qbo_values(row, entity)
        values["name"] = row.get("FullyQualifiedName") or row.get("Name") or values["name"]
        values["unit_price"] = float(row.get("UnitPrice") or 0.0)
        return values
