/** Where bull-board's page loads {@link BOARD_STYLE} from, relative to its `<base href>` (the board's own path). */
export const BOARD_STYLE_PATH = 'asyncq/board.css';

/**
 * The stylesheet that hides bull-board's controls for the changes its API refuses here (see
 * `board-actions.ts`), so it shows only buttons that work. bull-board has an option to hide every
 * action (`readOnlyMode`), none to hide some, and it draws a button only from its own lists, so
 * they are hidden here by the selectors of the pinned @bull-board/ui 9.10.1: its CSS-module class
 * names and the lucide icon each control draws, which do not change with the language.
 * `dashboard-board.test.ts` fails if a refused control shows or a working one is gone.
 *
 * - A job's buttons (`ul.jobActions-*`): only Retry (refresh-cw), Promote (corner-up-left) and
 *   Clean (trash-2) stay; Duplicate, Update data, Reschedule, Change priority and Remove
 *   unprocessed children go, and so would any button a later version adds.
 * - A queue's menu (its page's ⋮ and its card's on the overview): Add job (plus), Set concurrency
 *   (chart-no-axes-gantt), Set rate limit (gauge) and Obliterate (ban) go; Retry all, Pause,
 *   Resume and Empty stay. (The rate limit is not offered anyway: the adapter does not support it.)
 * - The queue info panel's edit buttons (concurrency, rate limit), and the job schedulers' Run,
 *   Edit and Remove.
 * The queue's Retry all, Promote all and Clean all, and the overview's Pause all, Resume all and
 * Retry failed in all queues, all work and stay.
 */
export const BOARD_STYLE = `
ul[class*="jobActions-"] > li:not(:has(svg.lucide-refresh-cw, svg.lucide-corner-up-left, svg.lucide-trash-2)),
[role="menu"] > [role="menuitem"]:has(> svg.lucide-plus, > svg.lucide-chart-no-axes-gantt, > svg.lucide-gauge, > svg.lucide-ban),
dd[class*="valueWithAction-"] > button[class*="editButton-"],
td[class*="actionsCell-"] > button {
  display: none !important;
}
`;
