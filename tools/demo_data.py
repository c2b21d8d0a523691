"""The demo's Odoo data: users, projects, employees and a month of timesheets.

``load(env, first, last, base_url)`` runs before the server starts, in a process of its
own: ``python tools/demo_data.py --config C --database D --first F --last L --url U``
(``main``, which opens the database the way ``odoo shell`` does and commits);
``map_after_sync(rpc)`` sets the mappings that need the QBO lists (an override, items, a
class) over JSON-RPC once the company is connected.

The names are chosen against ``qbo_sandbox/companies/demo.json`` (Larkspur Design Studio)
so that every way of finding a QBO counterpart shows up in the export, and a few fail:

- projects: exact name, a normalized name (``and`` for ``&``), a sub-customer (job),
  a manual override to a customer of another name, and one new client not in QBO;
- employees: exact names, a name without its accent, one found by work email only,
  a 1099 contractor (a QBO vendor), and one nobody in QBO.
"""

import argparse
import random
import sys
from datetime import date, timedelta

COMPANY_NAME = "Larkspur Design Studio"
USERS = {
    # login: (name (also the employee's, if any), email, password, groups (xml ids))
    "manager": (
        "Maya Brooks",
        "maya@larkspur.example",
        "manager",
        ("hr_timesheet.group_timesheet_manager", "project.group_project_manager"),
    ),
    "employee": (
        "Emily Platt",
        "emily@larkspur.example",
        "employee",
        ("hr_timesheet.group_hr_timesheet_user",),
    ),
}

# name, Odoo customer (partner) or None, how QBO finds it, tasks (descriptions)
PROJECTS = [
    (
        "Cool Cars",
        "Cool Cars",
        "exact name: QBO customer Cool Cars",
        [
            "Dealer microsite: homepage layout",
            "Photo retouching for the spring lineup",
            "Inventory page wireframes",
            "Client call: feedback on the logo variants",
            "Print ad for the Sunday paper",
        ],
    ),
    (
        "A and W Landscaping",
        "A and W Landscaping",
        "normalized name: QBO customer A & W Landscaping",
        [
            "Brochure copy edits",
            "Seasonal flyer design",
            "Site visit and photos of finished gardens",
            "Van decal artwork",
        ],
    ),
    (
        "Menu Redesign",
        "Café Zoë",
        "sub-customer (job): QBO Café Zoë:Menu Redesign",
        [
            "Menu typography and grid",
            "Illustrations for the dessert page",
            "Proof corrections after tasting session",
            "Print vendor coordination",
        ],
    ),
    (
        "Freeman Rebrand",
        "Freeman Sports Inc.",
        "manual override: set to QBO customer Freeman Sporting Goods",
        [
            "Brand guidelines draft",
            "Storefront mockups",
            "Workshop with the marketing team",
            "Color palette exploration",
        ],
    ),
    (
        "Harborview Hotel Website",
        "Harborview Hotel Group",
        "UNMAPPABLE: a new client not yet created in QBO",
        [
            "Discovery workshop",
            "Room booking flow wireframes",
            "Competitor site review",
        ],
    ),
]
OVERRIDES = {"Freeman Rebrand": "Freeman Sporting Goods"}
PROJECT_ITEMS = {"Menu Redesign": ("Design", "Design Services")}
DEFAULT_ITEM = "Hours"

# name, work email, hourly cost, how QBO finds it, days worked, project weights
EMPLOYEES = [
    (
        "Emily Platt",
        "emily@larkspur.example",
        65,
        "exact name: QBO employee",
        5,
        {"Cool Cars": 5, "Menu Redesign": 3, "A and W Landscaping": 2},
    ),
    (
        "Priya Raman",
        "priya@larkspur.example",
        80,
        "exact name: QBO employee",
        5,
        {"Freeman Rebrand": 4, "Harborview Hotel Website": 2, "Cool Cars": 2},
    ),
    (
        "Tomas Ortega",
        "tomas@larkspur.example",
        60,
        "name without accent: QBO Tomás Ortega",
        5,
        {"A and W Landscaping": 4, "Freeman Rebrand": 2, "Menu Redesign": 1},
    ),
    (
        "Marc Lee",
        "marcus.lee@larkspur.example",
        55,
        "work email only: QBO Marcus Lee",
        4,
        {"Menu Redesign": 3, "Cool Cars": 2, "Harborview Hotel Website": 1},
    ),
    (
        "Nadia Petrova",
        "nadia@petrova.example",
        70,
        "1099 contractor: QBO vendor",
        3,
        {"Freeman Rebrand": 3, "Cool Cars": 1},
    ),
    (
        "Jordan Blake",
        "jordan@larkspur.example",
        50,
        "UNMAPPABLE: nobody in QBO",
        2,
        {"A and W Landscaping": 2, "Cool Cars": 1},
    ),
]


#: the sandbox's demo company gains this work email, so "Marc Lee" is found by email only
def last_month(today=None):
    """``(first day, last day)`` of the month before ``today``."""
    first_this = (today or date.today()).replace(day=1)
    last = first_this - timedelta(days=1)
    return last.replace(day=1), last


def timesheet_values(first, last, seed=19):
    """A month of weekday timesheets: 2-4 entries a day, quarter hours, 5-8.5 h a day."""
    rng = random.Random(seed)
    tasks = {name: descriptions for name, _partner, _how, descriptions in PROJECTS}
    rows = []
    day = first
    while day <= last:
        for name, _email, _cost, _how, days_a_week, weights in EMPLOYEES:
            # part-timers work their first N weekdays; nobody works weekends
            if day.weekday() >= min(days_a_week, 5):
                continue
            quarters = int(rng.choice([5.0, 6.0, 7.0, 7.5, 8.0, 8.0, 8.5]) * 4)
            count = rng.choice([2, 3, 3, 4])
            cuts = sorted(rng.sample(range(1, quarters), count - 1))
            bounds = [0, *cuts, quarters]
            projects = rng.choices(list(weights), weights=list(weights.values()), k=count)
            for index, project in enumerate(projects):
                rows.append(
                    {
                        "employee": name,
                        "project": project,
                        "date": day,
                        "unit_amount": (bounds[index + 1] - bounds[index]) / 4,
                        "name": rng.choice(tasks[project]),
                    }
                )
        day += timedelta(days=1)
    return rows


def load(env, first, last, base_url):
    """Company, users, partners, projects, employees, timesheets (``env``: superuser)."""
    company = env.company
    company.name = COMPANY_NAME
    env.ref("base.user_admin").write({"password": "admin", "tz": "UTC"})
    users = _create_users(env, company)
    projects = _create_projects(env, company)
    employees = _create_employees(env, company, users)
    lines = env["account.analytic.line"].create(
        [
            {
                "name": row["name"],
                "project_id": projects[row["project"]].id,
                "employee_id": employees[row["employee"]].id,
                "unit_amount": row["unit_amount"],
                "date": row["date"],
            }
            for row in timesheet_values(first, last)
        ]
    )
    params = env["ir.config_parameter"].sudo()
    params.set_param("web.base.url", base_url)
    params.set_param("web.base.url.freeze", "True")
    return len(lines)


def _create_users(env, company):
    from odoo import Command  # noqa: PLC0415 - only where Odoo is importable

    return {
        login: env["res.users"].create(
            {
                "name": name,
                "login": login,
                "password": password,
                "email": email,
                "tz": "UTC",
                "company_id": company.id,
                "company_ids": [Command.set(company.ids)],
                "group_ids": [Command.set([env.ref(xmlid).id for xmlid in groups])],
            }
        )
        for login, (name, email, password, groups) in USERS.items()
    }


def _create_projects(env, company):
    return {
        name: env["project.project"].create(
            {
                "name": name,
                "partner_id": env["res.partner"].create({"name": partner, "is_company": True}).id,
                "allow_timesheets": True,
                "company_id": company.id,
            }
        )
        for name, partner, _how, _tasks in PROJECTS
    }


def _create_employees(env, company, users):
    """One employee each; the demo users' own employees are linked to them."""
    by_name = {spec[0]: users[login] for login, spec in USERS.items()}
    return {
        name: env["hr.employee"].create(
            {
                "name": name,
                "work_email": email,
                "hourly_cost": cost,
                "company_id": company.id,
                "user_id": by_name.get(name, env["res.users"]).id,
            }
        )
        for name, email, cost, _how, _days, _weights in EMPLOYEES
    }


def map_after_sync(rpc):
    """Over JSON-RPC as admin, once the QBO lists are synced: default item, override, class."""

    def find(model, name):
        ids = rpc.call(model, "search", [[("name", "=", name)]], limit=1)
        if not ids:
            raise RuntimeError(f"{model} {name!r} not found after the list sync")
        return ids[0]

    company_id = rpc.call("res.company", "search", [[]], limit=1)[0]
    rpc.call(
        "res.company",
        "write",
        [[company_id], {"qbo_default_item_id": find("qbo.item", DEFAULT_ITEM)}],
    )
    rpc.call("qbo.project.mapping", "action_qbo_open_screen", [])  # one mapping row each

    def mapping_of(project):
        return rpc.call(
            "qbo.project.mapping",
            "search",
            [[("project_id", "=", find("project.project", project))]],
            limit=1,
        )

    for project, customer in OVERRIDES.items():
        rpc.call(
            "qbo.project.mapping",
            "write",
            [mapping_of(project), {"customer_id": find("qbo.customer", customer)}],
        )
    for project, (item, qbo_class) in PROJECT_ITEMS.items():
        rpc.call(
            "qbo.project.mapping",
            "write",
            [
                mapping_of(project),
                {"item_id": find("qbo.item", item), "class_id": find("qbo.class", qbo_class)},
            ],
        )


def main(argv=None):
    """Load the demo data into a database noko_qbo is installed in; prints ``DEMO_LINES n``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--config", required=True, help="the Odoo config file")
    parser.add_argument("--database", required=True)
    parser.add_argument("--first", required=True, type=date.fromisoformat)
    parser.add_argument("--last", required=True, type=date.fromisoformat)
    parser.add_argument("--url", required=True, help="Odoo's base URL (web.base.url)")
    args = parser.parse_args(argv)
    from odoo import SUPERUSER_ID, api  # noqa: PLC0415 - only where Odoo is importable
    from odoo.modules.registry import Registry  # noqa: PLC0415
    from odoo.tools import config  # noqa: PLC0415

    config.parse_config(["-c", args.config, "-d", args.database], setup_logging=True)
    with Registry(args.database).cursor() as cr:  # commits on success
        env = api.Environment(cr, SUPERUSER_ID, {})
        env = env(context=env["res.users"].context_get())
        count = load(env, args.first, args.last, args.url)
    print("DEMO_LINES", count, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
