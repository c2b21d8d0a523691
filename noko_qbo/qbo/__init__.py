"""Everything that speaks HTTP to QuickBooks Online, in plain Python.

This package never imports Odoo (nor the offline ``qbo_sandbox``): the Odoo
models decide *what* to send and record *what happened*; this layer decides
*how* to send it: OAuth with rotating refresh tokens (:mod:`.oauth`,
:mod:`.tokens`), pacing under Intuit's per-realm limits shared across
processes (:mod:`.limits`, :mod:`.windows`, :mod:`.pacing`), retries and
deadlines (:mod:`.retry`), batches plus single creates with reconciliation
after uncertain outcomes (:mod:`.sending`, :mod:`.reconciliation`), sync-back
reads (:mod:`.client`), webhook signatures and events (:mod:`.webhooks`), and
one error model (:class:`.errors.QboFault`).
"""
