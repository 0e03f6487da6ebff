/** The asyncq page's stylesheet: system fonts only, nothing fetched from elsewhere. */
export const PAGE_STYLE = `
:root { color-scheme: light dark; --fg: #1d232b; --muted: #667085; --bg: #f6f7f9; --card: #fff; --line: #d9dde3; --done: #2f855a; --failed: #c53030; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ee; --muted: #98a2b3; --bg: #12161c; --card: #1b2129; --line: #2c3440; --done: #48bb78; --failed: #fc8181; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; gap: 1.2em; align-items: baseline; padding: .8em 1.5em; background: var(--card); border-bottom: 1px solid var(--line); }
header.top h1 { margin: 0; font-size: 1.3em; }
main { padding: 1em 1.5em; display: grid; gap: 1.2em; }
a { color: inherit; }
.muted { color: var(--muted); }
#status.stale { color: var(--failed); }
section.queue { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1em 1.2em; }
section.queue > header { display: flex; gap: 1em; align-items: baseline; }
section.queue h2 { margin: 0 0 .4em; font-size: 1.15em; word-break: break-all; }
.flags { color: var(--failed); font-weight: 600; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: .8em; margin: .6em 0; }
.tile { border: 1px solid var(--line); border-radius: 6px; padding: .5em .7em; }
.tile h3 { margin: 0; font-size: .75em; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
.tile .big { font-size: 1.15em; font-weight: 600; margin: .2em 0; }
table { border-collapse: collapse; margin: .6em 0; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .2em .9em .2em 0; border-bottom: 1px solid var(--line); }
th { font-weight: 500; color: var(--muted); font-size: .85em; }
table.workers td:nth-child(4) { max-width: 40em; overflow-wrap: anywhere; }
.chart svg { width: 100%; height: 120px; border: 1px solid var(--line); border-radius: 6px; }
polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
polyline.done { stroke: var(--done); }
polyline.failed { stroke: var(--failed); }
.key.done { color: var(--done); }
.key.failed { color: var(--failed); }
.totals { font-size: .85em; }
.empty { color: var(--muted); }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1em 1.2em; }
.card h2 { margin: 0 0 .4em; font-size: 1.15em; }
.tools { display: flex; gap: 1em; align-items: center; }
.tools input[type=search] { min-width: 22em; padding: .3em .5em; }
.buttons { display: flex; flex-wrap: wrap; gap: .6em; align-items: center; margin: .4em 0; }
button { font: inherit; padding: .2em .7em; border: 1px solid var(--line); border-radius: 5px; background: var(--bg); color: inherit; cursor: pointer; }
table.sortable th button { border: 0; background: none; padding: 0; color: var(--muted); font-size: 1em; }
table.sortable th button[aria-sort=ascending]::after { content: " ▲"; }
table.sortable th button[aria-sort=descending]::after { content: " ▼"; }
table.queues { width: 100%; }
table.queues td:first-child { word-break: break-all; }
tr.state-paused td:nth-child(2), tr.state-shut-down td:nth-child(2), tr.state-stuck td:nth-child(2), tr.state-no-workers td:nth-child(2) { color: var(--failed); font-weight: 600; }
table.failure-groups td:nth-child(3) { font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
td button { margin-right: .3em; }
svg.axes { width: 100%; max-width: 900px; height: auto; display: block; margin: .3em 0 .8em; }
svg.axes .axis { stroke: var(--muted); stroke-width: 1; }
svg.axes .grid { stroke: var(--line); stroke-width: 1; stroke-dasharray: 3 3; }
svg.axes .tick { fill: var(--muted); font-size: 11px; }
polyline.completed { stroke: var(--done); }
polyline.p50 { stroke: var(--done); }
polyline.p95, .key.p95 { stroke: var(--failed); color: var(--failed); }
.key.p50 { color: var(--done); }
.notice { margin: .8em 1.5em 0; padding: .5em .8em; border-radius: 6px; border: 1px solid var(--done); }
.notice.bad { border-color: var(--failed); color: var(--failed); }
section.task pre, section.attempts pre { margin: .2em 0 .6em; padding: .5em .7em; background: var(--bg); border: 1px solid var(--line); border-radius: 5px; white-space: pre-wrap; overflow-wrap: anywhere; font: 12px/1.4 ui-monospace, monospace; }
section.task .facts th, section.attempts .facts th { vertical-align: top; padding-right: 1.2em; }
section.attempt { border-top: 1px solid var(--line); margin-top: .8em; padding-top: .6em; }
section.attempt h3 { margin: 0 0 .3em; font-size: 1em; }
section.outcome-failed h3, section.outcome-lost h3, section.task .error, section.attempt .error { color: var(--failed); }
section.outcome-completed h3 { color: var(--done); }
`;
