from . import qbo_export_preview, qbo_export_preview_line
