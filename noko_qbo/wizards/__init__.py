from . import (
    base_module_uninstall,
    qbo_export_preview,
    qbo_export_preview_line,
    qbo_export_preview_problem,
    qbo_relink,
)
