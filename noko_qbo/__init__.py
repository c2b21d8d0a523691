# Odoo loads the addon as ``odoo.addons.noko_qbo``. Imported as plain ``noko_qbo`` (the
# pure suite, the benchmarks), only its Odoo-free QBO layer ``noko_qbo.qbo`` is wanted.
if __name__.startswith("odoo.addons."):
    from . import controllers, models, wizards
