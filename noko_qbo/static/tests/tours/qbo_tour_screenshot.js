/**
 * A tour step that asks the test for a screenshot of the page as it is now
 * (noko_qbo/tests/tour_common.py, QboTourMixin): the test captures it when
 * NOKO_QBO_SCREENSHOTS names a folder, then answers, and the tour goes on.
 * Run outside such a test (a tour started by hand), the step waits a moment
 * for an answer that never comes and goes on.
 */
export const SCREENSHOT_SIGNAL = "noko_qbo:screenshot:";
const DONE_EVENT = "noko_qbo:screenshot-done";
const NO_ANSWER_MS = 3000;

export function qboScreenshot(name, trigger = "body") {
    return {
        content: `Screenshot ${name}`,
        trigger,
        async run() {
            const taken = new Promise((resolve) => {
                const timer = setTimeout(resolve, NO_ANSWER_MS);
                window.addEventListener(DONE_EVENT, function onDone(event) {
                    if (event.detail === name) {
                        clearTimeout(timer);
                        window.removeEventListener(DONE_EVENT, onDone);
                        resolve();
                    }
                });
            });
            console.log(SCREENSHOT_SIGNAL + name);
            await taken;
        },
    };
}
