from odoo import fields, models

from ..const import MANAGER_GROUP
from .qbo_access import check_caller


class ProjectProject(models.Model):
    """Projects know their QuickBooks mapping rows; they hold no QuickBooks data themselves."""

    _inherit = "project.project"

    qbo_mapping_ids = fields.One2many(
        "qbo.project.mapping",
        "project_id",
        string="QuickBooks Mapping",
        readonly=True,
        groups=MANAGER_GROUP,
    )

    def _qbo_mappings(self, company, create=True):
        """``{project_id: qbo.project.mapping}`` in ``company`` (see its ``_qbo_for``)."""
        return self.env["qbo.project.mapping"]._qbo_for(self, company, create=create)

    def _qbo_resolve_customers(self, company=None, create=True):
        """``{project.id: Resolution}``: the QBO customer each project's time goes to.

        In ``company`` when given (an export's company), else in each project's own
        company (the current one for projects shared by every company).
        """
        result = {}
        groups = {}
        for project in self.sudo():
            owner = company or project.company_id or self.env.company
            groups.setdefault(owner, self.browse())
            groups[owner] |= project
        for owner, projects in groups.items():
            mappings = projects._qbo_mappings(owner, create=create)
            rows = self.env["qbo.project.mapping"].sudo().concat(*mappings.values())
            resolutions = rows._qbo_resolve()
            result.update(
                {project_id: resolutions[mapping.id] for project_id, mapping in mappings.items()}
            )
        return result

    def action_qbo_open_mapping(self):
        """The project's QuickBooks mapping, in a dialog (QuickBooks managers)."""
        self.ensure_one()
        check_caller(self, "read")
        company = self.company_id or self.env.company
        return self._qbo_mappings(company)[self.id]._qbo_action_open()
