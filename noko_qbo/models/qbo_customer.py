from odoo import api, fields, models

from ..const import CUSTOMER_TYPES


class QboCustomer(models.Model):
    """A QBO Customer, sub-customer (job) or Project, as cached for mapping projects.

    A QuickBooks Project is a sub-customer with ``IsProject``: time goes to it
    as its ``CustomerRef``, which every QBO edition accepts.
    """

    _name = "qbo.customer"
    _inherit = "qbo.list.mixin"
    _description = "QuickBooks Online customer"
    _rec_name = "fully_qualified_name"
    _order = "fully_qualified_name, id"

    fully_qualified_name = fields.Char(readonly=True, index=True)
    parent_id = fields.Many2one(
        "qbo.customer", readonly=True, index=True, ondelete="set null", check_company=True
    )
    is_job = fields.Boolean("Sub-customer", readonly=True)
    is_project = fields.Boolean("QuickBooks Project", readonly=True)
    customer_type = fields.Selection(
        CUSTOMER_TYPES,
        string="Type",
        compute="_compute_customer_type",
        store=True,
        help="Customer, sub-customer (job) or QuickBooks Project (a sub-customer QuickBooks "
        "shows under Projects).",
    )
    email = fields.Char(readonly=True)
    parent_qbo_id = fields.Char(readonly=True)

    _qbo_id_uniq = models.Constraint(
        "unique(company_id, qbo_id)", "A QuickBooks customer is cached once per company."
    )

    @api.model
    def _qbo_sources(self):
        return [("Customer", "")]

    @api.model
    def _qbo_values(self, row, entity):
        values = super()._qbo_values(row, entity)
        values.update(
            fully_qualified_name=row.get("FullyQualifiedName") or values["name"],
            is_job=bool(row.get("Job")),
            is_project=bool(row.get("IsProject")),
            email=(row.get("PrimaryEmailAddr") or {}).get("Address") or False,
            parent_qbo_id=str((row.get("ParentRef") or {}).get("value") or "") or False,
        )
        return values

    @api.depends("is_job", "is_project")
    def _compute_customer_type(self):
        for customer in self:
            customer.customer_type = (
                "project"
                if customer.is_project
                else "sub_customer"
                if customer.is_job
                else "customer"
            )

    @api.model
    def _qbo_after_store(self, company, rows, records):
        """Link sub-customers to their parent (one search for all parents)."""
        wanted = records.filtered(lambda c: c.parent_qbo_id != (c.parent_id.qbo_id or False))
        if not wanted:
            return
        parents = (
            self.sudo()
            .with_context(active_test=False)
            .search(
                [("company_id", "=", company.id), ("qbo_id", "in", wanted.mapped("parent_qbo_id"))]
            )
        )
        by_qbo_id = {parent.qbo_id: parent.id for parent in parents}
        for customer in wanted:
            customer.parent_id = by_qbo_id.get(customer.parent_qbo_id, False)

    @api.depends("fully_qualified_name", "name")
    def _compute_display_name(self):
        for customer in self:
            customer.display_name = customer.fully_qualified_name or customer.name
