/**
 * Two parts of the asyncq page's script (see `pageScript` in page-assets.ts, which puts them
 * together with the helpers they use: getJson, act, cellRow, button, every, q, n, plural,
 * taskLinks...).
 */

/** The home page: the table of every queue, polled from `api/queues`, sorted and filtered in the browser. */
export const HOME_SCRIPT = `// ---- home: the table of every queue
function home() {
  const tbody = document.querySelector('[data-rows="queues"]');
  const filter = document.getElementById('filter');
  const shown = document.getElementById('shown');
  let summaries = null;
  let sortBy = 0, descending = false;
  const draw = () => {
    if (!summaries) return;
    const needle = filter.value.trim().toLowerCase();
    const rows = summaries.map((s) => ({ s, r: queueRow(s) })).filter((x) => x.s.name.toLowerCase().includes(needle));
    rows.sort((a, b) => {
      const x = a.r.keys[sortBy], y = b.r.keys[sortBy];
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x) < String(y) ? -1 : String(x) > String(y) ? 1 : 0;
      return (descending ? -c : c) || (a.s.name < b.s.name ? -1 : 1);
    });
    tbody.replaceChildren(...rows.map(({ s, r }) => {
      const tr = cellRow(r.cells);
      tr.dataset.queue = s.name;
      tr.className = 'state-' + r.state.replace(/ /g, '-');
      const a = document.createElement('a');
      a.href = 'queue?name=' + q(s.name);
      a.textContent = s.name;
      tr.firstChild.replaceChildren(a);
      return tr;
    }));
    if (rows.length === 0) tbody.replaceChildren(cellRow([summaries.length === 0 ? 'no queue yet' : 'no queue matches the filter'], 'muted'));
    setText(shown, needle ? rows.length + ' of ' + plural(summaries.length, 'queue') : plural(summaries.length, 'queue'));
  };
  for (const b of document.querySelectorAll('button[data-sort]')) {
    b.addEventListener('click', () => {
      const i = Number(b.dataset.sort);
      descending = sortBy === i ? !descending : i >= 2;
      sortBy = i;
      for (const o of document.querySelectorAll('button[data-sort]')) o.removeAttribute('aria-sort');
      b.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      draw();
    });
  }
  filter.addEventListener('input', draw);
  const poll = async () => {
    summaries = (await getJson('api/queues')).queues;
    draw();
  };
  poll().then(updated, stale);
  every(poll);
}
`;

/** The failures page: failed tasks grouped by error, each group retried or removed whole. */
export const FAILURES_SCRIPT = `// ---- failures: failed tasks grouped by error
function failuresPage() {
  const scope = body.queue;
  const tbody = document.querySelector('[data-rows="failures"]');
  const read = document.querySelector('[data-f="read"]');
  const load = async () => {
    const r = await getJson('api/failures' + (scope === undefined ? '' : '?name=' + q(scope)));
    setText(read, r.read.toLocaleString('en-US') + ' failed task' + (r.read === 1 ? '' : 's') + ' in ' + r.groups.length + ' group' + (r.groups.length === 1 ? '' : 's') + (r.truncated ? ' (the newest 1,000 of each queue)' : ''));
    tbody.replaceChildren(...r.groups.map((g) => {
      const tr = cellRow(failureCells(g));
      tr.lastChild.replaceChildren(...taskLinks(g.queue, g.taskIds));
      tr.title = g.example;
      if (canAct) {
        const td = document.createElement('td');
        for (const a of ['retry', 'remove']) {
          const ask = (a === 'retry' ? 'Retry ' : 'Remove ') + plural(g.count, 'failed task') + ' of ' + g.queue + ' with the error "' + g.key + '"?' + (a === 'remove' ? ' This cannot be undone.' : '');
          td.appendChild(button(a + ' ' + n(g.count), async () => {
            if (await act('api/failures/' + a + '?name=' + q(g.queue), { group: g.key }, ask)) await load();
          }));
        }
        tr.appendChild(td);
      }
      return tr;
    }));
    if (r.groups.length === 0) tbody.replaceChildren(cellRow(['no failed task'], 'muted'));
  };
  load().then(updated, stale);
  every(load);
}
`;
