from . import (
    test_concurrency,
    test_connection,
    test_export_flow,
    test_line_lock,
    test_lists,
    test_mapping,
    test_mapping_access,
    test_oauth_callback,
    test_preview,
    test_security,
    test_security_groups,
    test_token_refresh,
)
