// The audit log (#/audit?user=&action=&recording_id=): newest first, "Older"
// pages with next_before.

import { get, paths, query } from './api.js';
import { field, fill, h, showError } from './dom.js';
import { fmtTime } from './format.js';

const FILTERS = [['user', 'User'], ['action', 'Action'], ['recording_id', 'Recording id']];
const COLUMNS = ['Time', 'User', 'Role', 'Tenant', 'Action', 'Recording', 'Detail', 'Remote'];
const LIMIT = 100;

export function render(main, ctx) {
  const inputs = {};
  const form = h('form', { id: 'audit-form', class: 'card form-grid' },
    FILTERS.map(([name, label]) => {
      inputs[name] = h('input', { id: `audit-${name.replace('_', '-')}`, name, type: 'text', value: ctx.query.get(name) || '' });
      return field(label, inputs[name]);
    }),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', id: 'audit-submit', class: 'btn btn-primary', text: 'Filter' })));
  const tbody = h('tbody');
  const auditTable = h('table', { id: 'audit-table', class: 'grid', dataset: { state: 'loading' } },
    h('thead', null, h('tr', null, COLUMNS.map((c) => h('th', { text: c })))), tbody);
  const older = h('button', { type: 'button', id: 'audit-older', class: 'btn', text: 'Older', hidden: true });
  fill(main, h('div', { id: 'page-audit', class: 'page' },
    h('div', { class: 'page-title' }, h('h1', { text: 'Audit log' })),
    form,
    h('section', { class: 'card' }, h('div', { class: 'table-wrap' }, auditTable), h('div', { class: 'more-row' }, older))));

  let before = null;
  let filters = {};
  let shown = 0;

  async function load(append) {
    auditTable.dataset.state = 'loading';
    older.disabled = true;
    try {
      const d = await get(paths.audit() + query({ limit: LIMIT, ...filters, before: append ? before : undefined }), { signal: ctx.signal });
      const items = d.items || [];
      if (!append) {
        tbody.replaceChildren();
        shown = 0;
      }
      for (const e of items) tbody.append(row(e));
      shown += items.length;
      if (shown === 0) tbody.append(h('tr', { class: 'empty' }, h('td', { colspan: COLUMNS.length, text: 'No audit records.' })));
      before = d.next_before ?? null;
      older.hidden = before === null;
      auditTable.dataset.state = 'ready';
    } catch (err) {
      if (err.name === 'AbortError') return;
      auditTable.dataset.state = 'error';
      showError(err, 'Audit log');
    } finally {
      older.disabled = false;
    }
  }

  function row(e) {
    return h('tr', { dataset: { auditId: e.id ?? '', action: e.action || '' } },
      h('td', { class: 'nowrap', text: fmtTime(e.at) }),
      h('td', { text: e.user || '' }),
      h('td', { text: e.role || '' }),
      h('td', { text: e.tenant || '' }),
      h('td', { class: 'mono', text: e.action || '' }),
      h('td', null, e.recording_id ? h('a', { class: 'mono', href: `#/recording/${encodeURIComponent(e.recording_id)}`, text: e.recording_id }) : ''),
      h('td', { class: 'wrap', text: typeof e.detail === 'string' ? e.detail : (e.detail ? JSON.stringify(e.detail) : '') }),
      h('td', { class: 'mono', text: e.remote || '' }));
  }

  function apply() {
    filters = {};
    for (const [name] of FILTERS) {
      const v = inputs[name].value.trim();
      if (v) filters[name] = v;
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
    const s = new URLSearchParams(filters).toString();
    const hash = s ? `#/audit?${s}` : '#/audit';
    if (location.hash !== hash) history.pushState(null, '', hash);
    load(false);
  });
  older.addEventListener('click', () => load(true));
  apply();
  load(false);
}
