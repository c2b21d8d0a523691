"""19.0.2: ``qbo.export.line`` is now ``qbo.export.result`` (what a run did with a line)."""

from odoo.tools import SQL
from odoo.tools.sql import table_exists

OLD, NEW = "qbo.export.line", "qbo.export.result"


def migrate(cr, version):
    if not version or not table_exists(cr, "qbo_export_line"):
        return
    for kind, old, new in (
        ("TABLE", "qbo_export_line", "qbo_export_result"),
        ("SEQUENCE", "qbo_export_line_id_seq", "qbo_export_result_id_seq"),
        ("INDEX", "qbo_export_line_pkey", "qbo_export_result_pkey"),
    ):
        cr.execute(
            SQL(f"ALTER {kind} IF EXISTS %s RENAME TO %s", SQL.identifier(old), SQL.identifier(new))
        )
    cr.execute("UPDATE ir_model SET model = %s WHERE model = %s", [NEW, OLD])
    cr.execute("UPDATE ir_model_fields SET model = %s WHERE model = %s", [NEW, OLD])
    cr.execute("UPDATE ir_model_fields SET relation = %s WHERE relation = %s", [NEW, OLD])
    cr.execute("UPDATE ir_model_data SET model = %s WHERE model = %s", [NEW, OLD])
    cr.execute(
        """UPDATE ir_model_data SET name = replace(name, 'qbo_export_line', 'qbo_export_result')
            WHERE module = 'noko_qbo' AND name LIKE '%%qbo_export_line%%'"""
    )
