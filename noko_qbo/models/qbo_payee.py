from odoo import api, fields, models


class QboPayee(models.Model):
    """A QBO Employee or Vendor: both may be the payee of a TimeActivity."""

    _name = "qbo.payee"
    _inherit = "qbo.list.mixin"
    _description = "QuickBooks Online employee or vendor"

    payee_type = fields.Selection(
        [("employee", "Employee"), ("vendor", "Vendor")], required=True, readonly=True
    )
    email = fields.Char(readonly=True, index=True)
    bill_rate = fields.Float(
        readonly=True, help="QuickBooks' billing rate per hour for this person."
    )
    billable_time = fields.Boolean(
        "Time Billable by Default",
        readonly=True,
        default=True,
        help="QuickBooks' BillableTime of an employee: off means their time is not billed.",
    )

    # QBO numbers employees and vendors independently: Employee 5 and Vendor 5 may both exist.
    _qbo_id_uniq = models.Constraint(
        "unique(company_id, payee_type, qbo_id)",
        "A QuickBooks employee or vendor is cached once per company.",
    )

    _ENTITIES = {"Employee": "employee", "Vendor": "vendor"}

    @api.model
    def _qbo_sources(self):
        return [("Employee", ""), ("Vendor", "")]

    @api.model
    def _qbo_values(self, row, entity):
        values = super()._qbo_values(row, entity)
        values.update(
            payee_type=self._ENTITIES[entity],
            email=(row.get("PrimaryEmailAddr") or {}).get("Address") or False,
            bill_rate=float(row.get("BillRate") or 0.0),
            billable_time=row.get("BillableTime", True) is not False,
        )
        return values

    @api.model
    def _qbo_scope(self, entity):
        return [("payee_type", "=", self._ENTITIES[entity])]

    def _qbo_key(self):
        return (self.payee_type, self.qbo_id)

    @api.model
    def _qbo_key_of(self, values):
        return (values["payee_type"], values["qbo_id"])

    @api.depends("name", "payee_type")
    def _compute_display_name(self):
        labels = dict(self._fields["payee_type"]._description_selection(self.env))
        for payee in self:
            payee.display_name = f"{payee.name} ({labels.get(payee.payee_type, '')})"
