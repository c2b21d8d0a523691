from odoo import api, fields, models

from .qbo_mapping import (
    HOW_SELECTION,
    NameIndex,
    Resolution,
    customer_names,
    is_mapping_write,
    pick,
    search_by_how,
)

#: What a QuickBooks manager may write on a project without project write rights.
QBO_MAPPING_FIELDS = ("qbo_customer_id", "qbo_without_customer", "qbo_item_id", "qbo_class_id")


class ProjectProject(models.Model):
    _inherit = "project.project"

    qbo_customer_id = fields.Many2one(
        "qbo.customer",
        string="QuickBooks Customer",
        groups="noko_qbo.group_qbo_manager",
        check_company=True,
        domain="[('active_in_qbo', '=', True)]",
        help="Leave empty to match a QuickBooks customer or sub-customer by the project's name "
        "(then by its customer's name). Several projects may share one customer.",
    )
    qbo_without_customer = fields.Boolean(
        string="Send Without a QuickBooks Customer",
        groups="noko_qbo.group_qbo_manager",
        help="Internal time (meetings, training): sent to QuickBooks for payroll without a "
        "customer, never billable. A QuickBooks customer set above wins.",
    )
    qbo_item_id = fields.Many2one(
        "qbo.item",
        string="QuickBooks Service Item",
        groups="noko_qbo.group_qbo_manager",
        check_company=True,
        domain="[('active_in_qbo', '=', True)]",
        help="Leave empty to use the default service item from Settings.",
    )
    qbo_class_id = fields.Many2one(
        "qbo.class",
        string="QuickBooks Class",
        groups="noko_qbo.group_qbo_manager",
        check_company=True,
        domain="[('active_in_qbo', '=', True)]",
    )
    qbo_tracks_classes = fields.Boolean(
        compute="_compute_qbo_tracks_classes", groups="noko_qbo.group_qbo_manager"
    )
    qbo_effective_customer_id = fields.Many2one(
        "qbo.customer",
        string="Effective QuickBooks Customer",
        compute="_compute_qbo_customer_mapping",
        groups="noko_qbo.group_qbo_manager",
    )
    qbo_customer_how = fields.Selection(
        HOW_SELECTION,
        string="QuickBooks Customer Found",
        compute="_compute_qbo_customer_mapping",
        search="_search_qbo_customer_how",
        groups="noko_qbo.group_qbo_manager",
    )
    qbo_customer_message = fields.Char(
        compute="_compute_qbo_customer_mapping", groups="noko_qbo.group_qbo_manager"
    )

    def write(self, vals):
        if is_mapping_write(self, vals, QBO_MAPPING_FIELDS):
            return super(ProjectProject, self.sudo()).write(vals)
        return super().write(vals)

    @api.depends("company_id")
    @api.depends_context("company")
    def _compute_qbo_tracks_classes(self):
        for project in self:
            project.qbo_tracks_classes = (
                (project.company_id or self.env.company).sudo().qbo_tracks_classes
            )

    @api.depends("name", "partner_id", "company_id", "qbo_customer_id", "qbo_without_customer")
    @api.depends_context("company")
    def _compute_qbo_customer_mapping(self):
        resolutions = self._qbo_resolve_customers()
        for project in self:
            resolution = resolutions[project.id]
            project.qbo_effective_customer_id = resolution.record
            project.qbo_customer_how = resolution.how
            project.qbo_customer_message = resolution.message

    def _search_qbo_customer_how(self, operator, value):
        return search_by_how(self, "_qbo_resolve_customers", operator, value)

    def _qbo_resolve_customers(self, company=None):
        """``{project.id: Resolution}``: the QBO customer each project's time goes to.

        Set-based: one query for the projects' overrides and partners, one per
        company for its cached customers, whatever the number of projects.
        Projects without a company resolve in ``company`` (default: the
        current company); ``company`` also forces one company for all.
        """
        result = {}
        groups = {}
        for project in self:
            owner = company or project.company_id or self.env.company
            groups.setdefault(owner, []).append(project)
        for owner, projects in groups.items():
            customers = (
                self.env["qbo.customer"]
                .sudo()
                .with_context(active_test=False)
                .search([("company_id", "=", owner.id)])
            )
            index = NameIndex(customers, customer_names)
            for project in projects:
                result[project.id] = self._qbo_resolve_customer(project, index)
        return result

    def _qbo_resolve_customer(self, project, index):
        """Hook: one project's customer, given the company's ``NameIndex``."""
        _ = self.env._
        override = project.sudo().qbo_customer_id
        empty = self.env["qbo.customer"]
        if not override and project.sudo().qbo_without_customer:
            return Resolution(
                empty,
                "none",
                _(
                    "Project %(project)s: sent without a customer (internal time).",
                    project=project.display_name,
                ),
            )
        if override:
            if not override.active_in_qbo:
                return Resolution(
                    override.sudo(False),
                    "inactive",
                    _(
                        "Project %(project)s: customer %(customer)s is inactive in QuickBooks.",
                        project=project.display_name,
                        customer=override.display_name,
                    ),
                )
            return Resolution(
                override.sudo(False),
                "manual",
                _(
                    "Project %(project)s: set to %(customer)s.",
                    project=project.display_name,
                    customer=override.display_name,
                ),
            )
        record, how = pick(index.records, index.candidates(project.name))
        via_partner = False
        partner = project.partner_id.commercial_partner_id
        if how == "missing" and partner:
            record, how = pick(index.records, index.candidates(partner.name))
            via_partner = True
        if how == "name":
            message = (
                _(
                    "Project %(project)s: matched %(customer)s by its customer's name %(partner)s.",
                    project=project.display_name,
                    customer=record.display_name,
                    partner=partner.name,
                )
                if via_partner
                else _(
                    "Project %(project)s: matched %(customer)s by name.",
                    project=project.display_name,
                    customer=record.display_name,
                )
            )
            return Resolution(record.sudo(False), how, message)
        if how == "inactive":
            return Resolution(
                record.sudo(False),
                how,
                _(
                    "Project %(project)s: the matching customer %(customer)s is inactive "
                    "in QuickBooks.",
                    project=project.display_name,
                    customer=record.display_name,
                ),
            )
        if how == "ambiguous":
            return Resolution(
                empty,
                how,
                _(
                    "Project %(project)s: several QuickBooks customers match its name; "
                    "choose one on the project (Integrations tab).",
                    project=project.display_name,
                ),
            )
        return Resolution(
            empty,
            "missing",
            _(
                "Project %(project)s: no QuickBooks customer matches its name; choose one on the "
                "project (Integrations tab) or create it in QuickBooks and sync the lists.",
                project=project.display_name,
            ),
        )
