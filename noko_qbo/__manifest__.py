{
    "name": "QuickBooks Online Timesheet Export",
    "summary": "Export approved timesheets to QuickBooks Online as time activities",
    "version": "19.0.1.0.0",
    "category": "Services/Timesheets",
    "license": "LGPL-3",
    "author": "noko_qbo contributors",
    "website": "https://github.com/noko-qbo/noko_qbo",
    "depends": ["hr_timesheet", "mail", "queue_job"],
    "external_dependencies": {"python": ["quickbooks", "requests_oauthlib"]},
    "data": [
        "security/noko_qbo_security.xml",
    ],
    "installable": True,
    "application": False,
}
