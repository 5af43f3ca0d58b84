// The search page (#/search?...): every filter of GET /api/v1/recordings, a
// results table with the total count and "More" paging. The form's state is
// the hash query, so a search can be bookmarked.

import { get, paths, query } from './api.js';
import { field, fill, h, select, showError } from './dom.js';
import { agentLabel, fmtDuration, fmtTime } from './format.js';
import { statusBadge } from './recording.js';
import { apiQuery, DEFAULT_SORT, FILTERS, queryFromValues, valuesFromQuery } from './searchquery.js';

const COLUMNS = ['Start time', 'Duration', 'Recorded DN', 'Other DN', 'Agent', 'ANI', 'DNIS', 'Direction', 'Status', 'Tenant'];

export function render(main, ctx) {
  const values = valuesFromQuery(ctx.query);
  const controls = {};
  const inputs = FILTERS.map((f) => {
    const attrs = { id: `f-${f.name}`, name: f.name };
    let control;
    if (f.options) {
      control = select(attrs, f.options, values[f.name]);
    } else {
      control = h('input', {
        ...attrs, type: f.type || 'text', value: values[f.name] || '',
        ...(f.type === 'number' ? { min: '0', step: '1' } : {}),
        ...(f.type === 'datetime-local' ? { step: '1' } : {}),
        ...(f.hint ? { placeholder: f.hint } : {}),
      });
    }
    controls[f.name] = control;
    return field(f.label, control);
  });

  const extRows = h('div', { id: 'ext-rows', class: 'ext-rows' });
  const addExtRow = (k = '', v = '') => {
    const row = h('div', { class: 'ext-row' },
      h('input', { type: 'text', class: 'ext-key', placeholder: 'Key, e.g. GEN_USR_CustomerId', value: k, 'aria-label': 'External data key' }),
      h('span', { class: 'ext-sep', text: ':' }),
      h('input', { type: 'text', class: 'ext-value', placeholder: 'Value (* wildcard)', value: v, 'aria-label': 'External data value' }),
      h('button', { type: 'button', class: 'btn btn-small ext-remove', text: 'Remove', onclick: () => row.remove() }));
    extRows.append(row);
    return row;
  };
  for (const [k, v] of values.ext) addExtRow(k, v);

  const form = h('form', { id: 'search-form', class: 'card search-form', autocomplete: 'off' },
    h('div', { class: 'form-grid' }, inputs),
    h('div', { class: 'ext-block' },
      h('span', { class: 'field-label', text: 'External data' }),
      extRows,
      h('button', { type: 'button', id: 'ext-add', class: 'btn btn-small', text: '+ Add key:value', onclick: () => addExtRow().querySelector('input').focus() })),
    h('div', { class: 'form-actions' },
      h('button', { type: 'submit', id: 'search-submit', class: 'btn btn-primary', text: 'Search' }),
      h('button', { type: 'button', id: 'search-reset', class: 'btn', text: 'Reset', onclick: reset })));

  const count = h('span', { id: 'result-count', class: 'result-count' });
  const tbody = h('tbody');
  const results = h('table', { id: 'results', class: 'grid results', dataset: { state: 'loading' } },
    h('thead', null, h('tr', null, COLUMNS.map((c) => h('th', { text: c })))), tbody);
  const more = h('button', { type: 'button', id: 'more', class: 'btn', hidden: true, text: 'More' });
  const page = h('div', { id: 'page-search', class: 'page' },
    h('div', { class: 'page-title' }, h('h1', { text: 'Recordings' })),
    form,
    h('section', { class: 'card' },
      h('div', { class: 'card-head' }, h('h2', { text: 'Results' }), count),
      h('div', { class: 'table-wrap' }, results),
      h('div', { class: 'more-row' }, more)));
  fill(main, page);

  let inflight = null;
  let cursor = null;
  let shown = 0;
  let total = null;

  function currentValues() {
    const v = { ext: [] };
    for (const f of FILTERS) v[f.name] = controls[f.name].value;
    for (const row of extRows.querySelectorAll('.ext-row')) {
      v.ext.push([row.querySelector('.ext-key').value, row.querySelector('.ext-value').value]);
    }
    return v;
  }

  function reset() {
    for (const f of FILTERS) controls[f.name].value = f.name === 'sort' ? DEFAULT_SORT : '';
    extRows.replaceChildren();
    submit();
  }

  function submit(e) {
    if (e) e.preventDefault();
    const q = queryFromValues(currentValues());
    const s = q.toString();
    const hash = s ? `#/search?${s}` : '#/search';
    if (location.hash !== hash) history.pushState(null, '', hash);
    ctx.rememberSearch(hash);
    run(q);
  }
  form.addEventListener('submit', submit);

  function setCount() {
    const n = total === null ? `${shown}` : `${shown} of ${total}`;
    count.textContent = total === 0 ? 'No recordings' : `${n} recording${(total ?? shown) === 1 ? '' : 's'}`;
    count.dataset.total = total === null ? '' : String(total);
  }

  async function load(q, append) {
    if (inflight) inflight.abort();
    const ctl = new AbortController();
    inflight = ctl;
    ctx.signal.addEventListener('abort', () => ctl.abort(), { once: true });
    results.dataset.state = 'loading';
    results.setAttribute('aria-busy', 'true');
    more.disabled = true;
    // A search over many recordings can take a moment: say it is running.
    const moreText = more.textContent;
    if (append) more.textContent = 'Loading…';
    else {
      count.textContent = 'Searching…';
      count.classList.add('progress');
    }
    try {
      const res = await get(paths.recordings() + query(apiQuery(q, append ? cursor : null)), { signal: ctl.signal });
      const items = res.items || [];
      if (!append) {
        tbody.replaceChildren();
        shown = 0;
        total = typeof res.count === 'number' ? res.count : null;
      }
      for (const r of items) tbody.append(row(r));
      shown += items.length;
      if (shown === 0) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: COLUMNS.length, text: 'No recordings match these filters.' })));
      cursor = res.next_cursor || null;
      more.hidden = !cursor;
      setCount();
      results.dataset.state = 'ready';
    } catch (err) {
      if (err.name === 'AbortError') return;
      results.dataset.state = 'error';
      showError(err, 'Search');
    } finally {
      more.disabled = false;
      more.textContent = moreText;
      if (inflight === ctl) {
        inflight = null;
        results.removeAttribute('aria-busy');
        count.classList.remove('progress');
        if (results.dataset.state !== 'ready') setCount();
      }
    }
  }

  let lastQuery = ctx.query;
  function run(q) {
    cursor = null;
    lastQuery = q;
    load(q, false);
  }
  more.addEventListener('click', () => load(lastQuery, true));

  function open(id) {
    location.hash = `#/recording/${encodeURIComponent(id)}`;
  }

  function row(r) {
    const tr = h('tr', { class: 'clickable', tabindex: '0', dataset: { recordingId: r.id }, title: `Open recording ${r.id}` },
      h('td', { class: 'nowrap', text: fmtTime(r.started_at || r.start_time) }),
      h('td', { class: 'num', text: fmtDuration(r.duration_ms) }),
      h('td', { text: r.recorded_dn || '' }),
      h('td', { text: r.other_dn || '' }),
      h('td', { text: agentLabel(r.agent) }),
      h('td', { text: r.caller || '' }),
      h('td', { text: r.dialed || '' }),
      h('td', { text: r.direction || '' }),
      h('td', null, statusBadge(r.status, r.status_reason),
        r.has_screen ? h('span', { class: 'badge screen-marker', title: 'has screen video', text: '▣ screen' }) : null,
        r.has_screen ? h('img', {
          class: 'screen-thumb', alt: '', loading: 'lazy', width: 80, src: `${paths.media(r.id)}?kind=thumbnail`,
          onerror: (e) => { e.target.hidden = true; },
        }) : null),
      h('td', { text: r.tenant || '' }));
    tr.addEventListener('click', () => open(r.id));
    tr.addEventListener('keydown', (e) => {
      if (e.key === 'Enter') open(r.id);
    });
    return tr;
  }

  ctx.rememberSearch(location.hash || '#/search');
  run(ctx.query);
  return () => {
    if (inflight) inflight.abort();
  };
}
