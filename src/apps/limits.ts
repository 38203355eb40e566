/**
 * Upper bound on processes of one type, whether set by app.json's formation or
 * by the scale API: a typo like web=1000 (or a hostile app.json) must not
 * start thousands of sandboxes on one server.
 */
export const MAX_PROCESSES_PER_TYPE = 100;
