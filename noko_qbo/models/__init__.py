# The list mixin first: the QBO list models inherit it.
from . import qbo_list_mixin
from . import (
    account_analytic_line,
    hr_employee,
    project_project,
    qbo_class,
    qbo_customer,
    qbo_export,
    qbo_export_line,
    qbo_item,
    qbo_oauth_state,
    qbo_payee,
    qbo_token,
    res_company,
    res_config_settings,
)
