"""19.0.2: QuickBooks mappings move from project/employee columns to rows of our own.

19.0.1 kept the overrides on ``project_project`` (``qbo_customer_id``,
``qbo_without_customer``, ``qbo_item_id``, ``qbo_class_id``) and
``hr_employee`` (``qbo_payee_id``); those columns still exist until the end of
this update, when Odoo drops the removed fields.
"""

from odoo import SUPERUSER_ID, api
from odoo.tools.sql import column_exists

PROJECT_COLUMNS = ("qbo_customer_id", "qbo_without_customer", "qbo_item_id", "qbo_class_id")


def migrate(cr, version):
    if not version:
        return
    env = api.Environment(cr, SUPERUSER_ID, {"active_test": False})
    _move_project_mappings(env)
    _move_employee_mappings(env)


def _move_project_mappings(env):
    cr = env.cr
    if not all(column_exists(cr, "project_project", name) for name in PROJECT_COLUMNS):
        return
    cr.execute(
        """SELECT p.id, COALESCE(p.company_id, c.company_id, i.company_id, k.company_id),
                  p.qbo_customer_id, COALESCE(p.qbo_without_customer, false),
                  p.qbo_item_id, p.qbo_class_id
             FROM project_project p
        LEFT JOIN qbo_customer c ON c.id = p.qbo_customer_id
        LEFT JOIN qbo_item i ON i.id = p.qbo_item_id
        LEFT JOIN qbo_class k ON k.id = p.qbo_class_id
            WHERE p.qbo_customer_id IS NOT NULL OR p.qbo_without_customer
               OR p.qbo_item_id IS NOT NULL OR p.qbo_class_id IS NOT NULL"""
    )
    names = ("project_id", "company_id", "customer_id", "without_customer", "item_id", "class_id")
    rows = cr.fetchall()
    # A project of no company ("Send without a customer" only) held for every company.
    every_company = env["res.company"].search([]).ids
    values = [
        dict(zip(names, (row[0], company_id, *row[2:]), strict=True))
        for row in rows
        for company_id in ([row[1]] if row[1] else every_company)
    ]
    env["qbo.project.mapping"].create(values)


def _move_employee_mappings(env):
    cr = env.cr
    if not column_exists(cr, "hr_employee", "qbo_payee_id"):
        return
    cr.execute("SELECT id, qbo_payee_id FROM hr_employee WHERE qbo_payee_id IS NOT NULL")
    env["qbo.employee.mapping"].create(
        [
            {"employee_id": employee_id, "payee_id": payee_id}
            for employee_id, payee_id in cr.fetchall()
        ]
    )
