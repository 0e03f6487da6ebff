// The task page's address, for the server's pages and, as source, for the page's script: so each
// function here is self-contained (no imports, no module-level values).

/** The task page's address (relative to the dashboard's root): the queue and the task's id, in the query. */
export function taskHref(queue: string, id: string): string {
  return `task?queue=${encodeURIComponent(queue)}&id=${encodeURIComponent(id)}`;
}

/**
 * The task links' part of the asyncq page's script (`pageScript` in page-assets.ts puts it before
 * the pages' own parts): `taskLink(queue, id)`, an `<a>` to the task's page, and
 * `taskLinks(queue, ids)`, several, comma-separated. The id reaches the page as textContent only.
 */
export function taskLinkScript(): string {
  return `// ---- links to a task's page
const taskHref = ${taskHref.toString()};
function taskLink(queue, id) {
  const a = document.createElement('a');
  a.href = taskHref(queue, id);
  a.textContent = id;
  return a;
}
function taskLinks(queue, ids) {
  return ids.flatMap((id, i) => (i === 0 ? [taskLink(queue, id)] : [', ', taskLink(queue, id)]));
}
`;
}
