"""Where a project's time goes in QBO: one row per project and company (a binding).

The row holds the manual choices (customer, "without customer", service item,
class) and shows what the automatic matching found. QuickBooks managers edit
these rows, never the project itself: the project stays under Odoo's own
project rights (like OCA connector-jira's ``jira.project.project``).
"""

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError
from odoo.tools import SQL

from ..const import CUSTOMER_TYPES
from .qbo_access import check_caller
from .qbo_mapping import FOUND_BY, NameIndex, Resolution, customer_names, pick, search_by_found_by


class QboProjectMapping(models.Model):
    _name = "qbo.project.mapping"
    _description = "QuickBooks Online mapping of a project"
    _order = "company_id, project_id, id"
    _rec_name = "project_id"
    _check_company_auto = True

    project_id = fields.Many2one(
        "project.project", required=True, readonly=True, index=True, ondelete="cascade"
    )
    company_id = fields.Many2one(
        "res.company",
        required=True,
        readonly=True,
        index=True,
        help="The company whose QuickBooks Online this mapping is for (the project's company).",
    )
    partner_id = fields.Many2one(related="project_id.partner_id", string="Odoo Customer")
    customer_id = fields.Many2one(
        "qbo.customer",
        string="QuickBooks Customer",
        check_company=True,
        domain="[('active_in_qbo', '=', True)]",
        help="Leave empty to match a QuickBooks customer, sub-customer or project by the "
        "project's name (then by its customer's name). Several projects may share one.",
    )
    without_customer = fields.Boolean(
        string="Send Without a QuickBooks Customer",
        help="Internal time (meetings, training): sent to QuickBooks for payroll without a "
        "customer, never billable. A QuickBooks customer set above wins.",
    )
    item_id = fields.Many2one(
        "qbo.item",
        string="QuickBooks Service Item",
        check_company=True,
        domain="[('active_in_qbo', '=', True)]",
        help="Leave empty to use the default service item from Settings.",
    )
    class_id = fields.Many2one(
        "qbo.class",
        string="QuickBooks Class",
        check_company=True,
        domain="[('active_in_qbo', '=', True)]",
    )
    tracks_classes = fields.Boolean(related="company_id.qbo_tracks_classes")
    effective_customer_id = fields.Many2one(
        "qbo.customer", string="Time Goes To", compute="_compute_resolution"
    )
    effective_customer_type = fields.Selection(
        CUSTOMER_TYPES, string="Type", compute="_compute_resolution"
    )
    found_by = fields.Selection(
        FOUND_BY, string="Found", compute="_compute_resolution", search="_search_found_by"
    )
    message = fields.Char(compute="_compute_resolution")

    _project_company_uniq = models.Constraint(
        "unique(project_id, company_id)", "A project has one QuickBooks mapping per company."
    )

    @api.constrains("project_id", "company_id")
    def _check_project_company(self):
        for mapping in self:
            project_company = mapping.project_id.sudo().company_id
            if project_company and project_company != mapping.company_id:
                raise ValidationError(
                    self.env._(
                        "The project %(project)s belongs to %(company)s: its QuickBooks mapping "
                        "must be that company's.",
                        project=mapping.project_id.sudo().display_name,
                        company=project_company.name,
                    )
                )

    def write(self, vals):
        self._qbo_check_binding_kept(vals)
        return super().write(vals)

    def _qbo_check_binding_kept(self, vals):
        """A row maps one project in one company for good: it is never moved to another.

        Moved, a manager's row (and its customer) would take over another
        company's project, out of reach of the multi-company rule checked before
        the write.
        """
        for name in ("project_id", "company_id"):
            if name in vals and any(mapping[name].id != (vals[name] or False) for mapping in self):
                raise UserError(
                    self.env._(
                        "A QuickBooks mapping stays with its project and company: choose the "
                        "customer, service item or class instead."
                    )
                )

    # ------------------------------------------------------------------ rows

    @api.model
    def _qbo_for(self, projects, company, create=True):
        """``{project_id: mapping}`` in ``company`` (superuser), for its and shared projects.

        A row is created the first time a project is previewed or shown on the
        mapping screen (``INSERT ... ON CONFLICT``: two managers at once never
        fail). Export jobs pass ``create=False``: a project without a row then
        resolves from an unsaved one, and a job never waits on a row another
        transaction is inserting.
        """
        mappings = self.sudo()
        projects = projects.sudo().filtered(
            lambda project: project.company_id in (company, company.browse())
        )

        def existing():
            rows = mappings.search(
                [("project_id", "in", projects.ids), ("company_id", "=", company.id)]
            )
            return {mapping.project_id.id: mapping for mapping in rows}

        by_project = existing()
        missing = [project for project in projects if project.id not in by_project]
        if missing and create:
            self.env.cr.execute(
                SQL(
                    """INSERT INTO qbo_project_mapping
                           (project_id, company_id, without_customer,
                            create_uid, write_uid, create_date, write_date)
                       SELECT project, %(company)s, false, %(uid)s, %(uid)s,
                              now() AT TIME ZONE 'UTC', now() AT TIME ZONE 'UTC'
                         FROM unnest(%(projects)s::int[]) AS project
                       ON CONFLICT (project_id, company_id) DO NOTHING""",
                    company=company.id,
                    uid=self.env.uid,
                    projects=[project.id for project in missing],
                )
            )
            by_project = existing()
        elif missing:
            by_project.update(
                {
                    project.id: mappings.new({"project_id": project.id, "company_id": company.id})
                    for project in missing
                }
            )
        return by_project

    # ------------------------------------------------------------------ actions

    @api.model
    def action_qbo_open_screen(self):
        """The mapping screen: a row for every project of the current companies, then the list."""
        check_caller(self.env.companies)
        companies = self.env.companies
        projects = (
            self.env["project.project"]
            .sudo()
            .search(
                [("allow_timesheets", "=", True), ("company_id", "in", [False, *companies.ids])]
            )
        )
        for company in companies:
            self._qbo_for(projects, company)
        return self.env["ir.actions.act_window"]._for_xml_id("noko_qbo.qbo_project_mapping_action")

    def _qbo_action_open(self):
        """This mapping's form, in a dialog (Fix buttons, the project form)."""
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("QuickBooks Mapping"),
            "res_model": self._name,
            "res_id": self.id,
            "views": [(False, "form")],
            "target": "new",
        }

    def action_qbo_back_to_preview(self):
        """Save of the preview's Fix dialog (the form saved the row first): the export
        preview it was opened from, re-evaluated with this mapping."""
        check_caller(self, "write")
        return self.env["qbo.export.preview"]._qbo_back_from_fix()

    # ------------------------------------------------------------------ resolution

    @api.depends("project_id.name", "project_id.partner_id", "customer_id", "without_customer")
    def _compute_resolution(self):
        resolutions = self._qbo_resolve()
        for mapping in self:
            resolution = resolutions[mapping.id]
            mapping.effective_customer_id = resolution.record
            mapping.effective_customer_type = resolution.record.customer_type or False
            mapping.found_by = resolution.found_by
            mapping.message = resolution.message

    def _search_found_by(self, operator, value):
        return search_by_found_by(self, operator, value)

    def _qbo_resolve(self):
        """``{mapping.id: Resolution}``: the QBO customer each project's time goes to.

        Set-based: one query per company for its cached customers, whatever the
        number of projects.
        """
        result = {}
        for company in self.company_id:
            customers = (
                self.env["qbo.customer"]
                .sudo()
                .with_context(active_test=False)
                .search([("company_id", "=", company.id)])
            )
            index = NameIndex(customers, customer_names)
            for mapping in self.filtered(lambda m, company=company: m.company_id == company):
                result[mapping.id] = mapping._qbo_resolve_one(index)
        return result

    def _qbo_resolve_one(self, index):
        """Hook: one project's customer, given its company's ``NameIndex``."""
        self.ensure_one()
        mapping = self.sudo()
        project = mapping.project_id
        if mapping.customer_id:
            return self._qbo_manual(mapping.customer_id, project)
        if mapping.without_customer:
            return self._qbo_resolution(
                self.env["qbo.customer"],
                "none",
                self.env._(
                    "Project %(project)s: sent without a customer (internal time).",
                    project=project.display_name,
                ),
            )
        record, found_by = pick(index.records, index.candidates(project.name))
        partner = project.partner_id.commercial_partner_id
        if found_by == "missing" and partner:
            record, found_by = pick(index.records, index.candidates(partner.name))
            if found_by == "name":
                return self._qbo_resolution(
                    record,
                    found_by,
                    self.env._(
                        "Project %(project)s: matched %(customer)s by its customer's name "
                        "%(partner)s.",
                        project=project.display_name,
                        customer=record.display_name,
                        partner=partner.name,
                    ),
                )
        return self._qbo_automatic(record, found_by, project)

    def _qbo_manual(self, customer, project):
        if not customer.active_in_qbo:
            message = self.env._(
                "Project %(project)s: customer %(customer)s is inactive in QuickBooks.",
                project=project.display_name,
                customer=customer.display_name,
            )
            return self._qbo_resolution(customer, "inactive", message)
        message = self.env._(
            "Project %(project)s: set to %(customer)s.",
            project=project.display_name,
            customer=customer.display_name,
        )
        return self._qbo_resolution(customer, "manual", message)

    def _qbo_automatic(self, record, found_by, project):
        name = project.display_name
        if found_by == "name":
            message = self.env._(
                "Project %(project)s: matched %(customer)s by name.",
                project=name,
                customer=record.display_name,
            )
        elif found_by == "inactive":
            message = self.env._(
                "Project %(project)s: the matching customer %(customer)s is inactive in "
                "QuickBooks.",
                project=name,
                customer=record.display_name,
            )
        elif found_by == "ambiguous":
            record = None
            message = self.env._(
                "Project %(project)s: several QuickBooks customers match its name; choose one "
                "in its QuickBooks mapping.",
                project=name,
            )
        else:
            record = None
            message = self.env._(
                "Project %(project)s: no QuickBooks customer matches its name; choose one in its "
                "QuickBooks mapping or create it in QuickBooks and sync the lists.",
                project=name,
            )
        return self._qbo_resolution(record or self.env["qbo.customer"], found_by, message)

    def _qbo_resolution(self, record, found_by, message):
        return Resolution(record.sudo(False), found_by, message, self.id or 0)
