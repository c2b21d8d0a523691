# The list mixin first: the QBO list models inherit it.
from . import qbo_list_mixin
from . import (
    account_analytic_line,
    hr_employee,
    mail_message,
    project_project,
    qbo_class,
    qbo_customer,
    qbo_employee_mapping,
    qbo_export,
    qbo_export_result,
    qbo_export_send,
    qbo_item,
    qbo_oauth_state,
    qbo_payee,
    qbo_project_mapping,
    qbo_rate_window,
    qbo_token,
    res_company,
    res_config_settings,
    res_partner,
)
