# Odoo's own runner runs the test modules imported here: every test_*.py must be.
from . import (
    test_concurrency,
    test_billing,
    test_connection,
    test_database_copies,
    test_export_flow,
    test_line_lock,
    test_lists,
    test_mapping,
    test_mapping_access,
    test_oauth_callback,
    test_preview,
    test_refusals_fixed,
    test_relink,
    test_security,
    test_security_groups,
    test_token_refresh,
)
