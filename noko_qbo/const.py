"""Names the addon's parts share: groups, states, settings keys, sizes.

Routes live on their controllers (``controllers/``), selections' labels here so
models, views and tests agree on one list.
"""

#: QuickBooks managers: export, unlock, map, read runs (Noko: "account owner or supervisor").
MANAGER_GROUP = "noko_qbo.group_qbo_manager"
#: Settings administrators: connect, disconnect, see the app's credentials.
ADMIN_GROUP = "base.group_system"

#: ``account.analytic.line.qbo_state``: draft (free) -> approved (locked, waiting) -> exported;
#: exported -> deleted when QBO no longer has its TimeActivity (locked, never sent again
#: automatically; a QuickBooks manager unlocks it or exports it again).
LINE_STATES = [
    ("draft", "Not exported"),
    ("approved", "Approved (waiting)"),
    ("exported", "Exported"),
    ("deleted", "Deleted in QuickBooks"),
]
LOCKED_STATES = ("approved", "exported", "deleted")

#: ``account.analytic.line.qbo_billing_status``: the TimeActivity's BillableStatus in QBO.
BILLING_STATUSES = [
    ("not_billable", "Not billable"),
    ("unbilled", "Billable, not billed yet"),
    ("billed", "Billed in QuickBooks"),
]
#: QBO's ``BillableStatus`` -> ``qbo_billing_status``.
BILLING_STATUS_OF = {
    "NotBillable": "not_billable",
    "Billable": "unbilled",
    "HasBeenBilled": "billed",
}

#: ``qbo.customer.customer_type``: how QBO files the customer.
CUSTOMER_TYPES = [
    ("customer", "Customer"),
    ("sub_customer", "Sub-customer"),
    ("project", "Project"),
]

#: ``qbo.export.state``: the run.
RUN_STATES = [
    ("queued", "Queued"),
    ("running", "Running"),
    ("done", "Done"),
    ("done_with_errors", "Done with problems"),
    ("failed", "Failed"),
]

#: ``qbo.export.result.state``: what a run did with one line.
RESULT_STATES = [
    ("pending", "Waiting"),
    ("exported", "Exported"),
    ("skipped", "Skipped"),
    ("failed", "Needs attention"),
]

#: ``qbo.export.result.priority``: a run lists its results in this order (problems first).
RESULT_PRIORITY = ["failed", "pending", "exported", "skipped"]

#: ``qbo.export.schedule.interval``: how often a scheduled export runs.
SCHEDULE_INTERVALS = [("weekly", "Every week"), ("monthly", "Every month")]

#: Settings action (Settings > QuickBooks Online).
SETTINGS_ACTION = "noko_qbo.res_config_settings_action"

#: ``ir.config_parameter`` behind the declared setting "Lines per export job".
CHUNK_SIZE_PARAM = "noko_qbo.export_chunk_size"
#: Lines per job: a crash costs at most one chunk's bookkeeping (then reconciled).
DEFAULT_CHUNK_SIZE = 500
#: How many lines needing attention a run's summary lists.
SUMMARY_LINES = 50
