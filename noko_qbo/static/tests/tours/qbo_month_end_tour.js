/**
 * A QuickBooks manager's month-end: All Timesheets, a filter, select, Export to
 * QuickBooks Online, the preview's grouped problem, Fix in a dialog, Save (the
 * preview comes back without it), Confirm, the run with its chatter.
 * Run by noko_qbo/tests/test_tour_month_end.py.
 */
import { registry } from "@web/core/registry";
import { qboScreenshot } from "@noko_qbo/../tests/tours/qbo_tour_screenshot";

const PROBLEMS = ".modal .o_field_widget[name=problem_ids]";

registry.category("web_tour.tours").add("noko_qbo_month_end", {
    url: "/odoo/action-hr_timesheet.timesheet_action_all",
    steps: () => [
        {
            content: "All Timesheets: open the search options",
            trigger: ".o_searchview_dropdown_toggler",
            run: "click",
        },
        {
            content: "Apply the saved month-end filter",
            trigger: ".o_favorite_menu .o-dropdown-item:contains(Month end tour)",
            run: "click",
        },
        {
            content: "Only the month-end lines are listed",
            trigger: ".o_list_view .o_data_row:contains(Month end tour work)",
        },
        {
            content: "Select every line of the filter",
            trigger: ".o_list_view thead .o_list_record_selector input",
            run: "click",
        },
        {
            content: "Export to QuickBooks Online",
            trigger: ".o_control_panel button:contains(Export to QuickBooks Online)",
            run: "click",
        },
        {
            content: "The preview groups the unmapped employee's lines in one problem",
            trigger: `${PROBLEMS} .o_data_row:contains(Tour Unmapped Person):contains(2 lines)`,
        },
        qboScreenshot("screenshot_preview", ".modal .o_qbo_preview_summary"),
        {
            content: "The lines with problems, what each becomes",
            trigger: ".modal .o_notebook a:contains(Lines with problems)",
            run: "click",
        },
        qboScreenshot(
            "screenshot_preview_lines",
            ".modal .o_field_widget[name=line_ids] .o_data_row:contains(Tour Unmapped Person)"
        ),
        {
            content: "Fix: the employee mapping opens in a dialog",
            trigger: `${PROBLEMS} .o_data_row:contains(Tour Unmapped Person) button[name=action_open_fix]`,
            run: "click",
        },
        {
            content: "Choose the QuickBooks employee",
            trigger: ".modal .o_field_widget[name=payee_id] input",
            run: "edit John Johnson",
        },
        {
            trigger: ".o-autocomplete--dropdown-item:contains(John Johnson)",
            run: "click",
        },
        {
            content: "Save: back to the preview, evaluated again",
            trigger: ".modal-footer button[name=action_qbo_back_to_preview]",
            run: "click",
        },
        {
            content: "The problem is gone, every line is ready",
            trigger: ".modal .o_form_view:not(:has([name=problem_ids])) .o_field_widget[name=count_ready]:contains(3)",
        },
        {
            content: "Confirm and export",
            trigger: ".modal-footer button[name=action_confirm]",
            run: "click",
        },
        {
            content: "The run, with its chatter",
            trigger: ".o_form_view .o-mail-Chatter",
        },
        {
            content: "The run is the current page",
            trigger: ".o_breadcrumb:contains(QuickBooks export)",
        },
    ],
});

/**
 * The same run once its jobs have sent it (the test performs them): its results
 * by cause and the summary in the chatter.
 */
registry.category("web_tour.tours").add("noko_qbo_export_run_done", {
    steps: () => [
        {
            content: "The run is done",
            trigger: ".o_form_view .o_statusbar_status button.o_arrow_button_current:contains(Done)",
        },
        {
            content: "Its summary is in the chatter",
            trigger: ".o-mail-Chatter .o-mail-Message:contains(exported)",
        },
        qboScreenshot("screenshot_export_run", ".o-mail-Chatter .o-mail-Message"),
    ],
});
