"""Everything that speaks HTTP to Intuit. Pure Python: never import odoo here."""
