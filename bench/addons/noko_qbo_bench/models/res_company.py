"""The client of every Odoo process paces on the sandbox's scaled clock.

``bench/bench_export.py --workers N`` runs a real server: its workers cannot be
patched from outside the way the single-process benchmark patches
``_qbo_client_options``, so the time scale comes from a system parameter.
"""

from odoo import models

TIME_SCALE_PARAM = "noko_qbo_bench.time_scale"


class ResCompany(models.Model):
    _inherit = "res.company"

    def _qbo_client_options(self):
        options = super()._qbo_client_options()
        scale = self.env["ir.config_parameter"].sudo().get_param(TIME_SCALE_PARAM)
        if scale:
            options["time_scale"] = float(scale)
        return options
