"""19.0.2.1: the run's email is short now (the chatter has the detail by cause).

Its template is ``noupdate`` (administrators may edit it), so an update keeps
the old body: load the file once more as an install would, which rewrites it.
"""

from odoo import SUPERUSER_ID, api
from odoo.tools.convert import convert_file


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {})
    convert_file(env, "noko_qbo", "data/mail_template_data.xml", None, mode="init")
