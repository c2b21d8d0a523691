"""Everything that speaks HTTP to QuickBooks Online, in plain Python.

This package never imports Odoo (nor the offline ``qbo_sandbox``): the Odoo
models decide *what* to send and record *what happened*; this layer decides
*how* to send it: OAuth with rotating refresh tokens, pacing under Intuit's
per-realm limits, retries, batching, reconciliation after uncertain outcomes,
and one error model (:class:`errors.QboFault`).
"""
