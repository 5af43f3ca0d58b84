// The search form's model (no DOM): its filters, and the mapping between the
// form's values and the query string shared by the page's hash and the API.

import { toLocalInput, toRFC3339 } from './format.js';

export const DEFAULT_SORT = '-started_at';
export const PAGE_SIZE = 50;

/** The filters of GET /api/v1/recordings, in form order. */
export const FILTERS = [
  { name: 'since', label: 'From', type: 'datetime-local' },
  { name: 'until', label: 'To', type: 'datetime-local' },
  { name: 'min_duration', label: 'Min duration (s)', type: 'number' },
  { name: 'max_duration', label: 'Max duration (s)', type: 'number' },
  { name: 'dn', label: 'DN', hint: '* wildcard' },
  { name: 'agent', label: 'Agent', hint: '* wildcard' },
  { name: 'ani', label: 'ANI (caller)', hint: '* wildcard' },
  { name: 'dnis', label: 'DNIS (dialed)', hint: '* wildcard' },
  { name: 'call_uuid', label: 'CallUUID' },
  { name: 'conn_id', label: 'ConnID' },
  { name: 'tenant', label: 'Tenant' },
  {
    name: 'status', label: 'Status',
    options: [['', 'Any'], ['recording', 'Recording'], ['completed', 'Completed'], ['partial', 'Partial'], ['failed', 'Failed']],
  },
  {
    name: 'direction', label: 'Direction',
    options: [['', 'Any'], ['Inbound', 'Inbound'], ['Outbound', 'Outbound'], ['Internal', 'Internal'], ['Consult', 'Consult']],
  },
  { name: 'mode', label: 'Mode', options: [['', 'Any'], ['msr', 'MSR'], ['siprec', 'SIPREC'], ['cisco', 'Cisco (BiB, forking)'], ['plain', 'Plain SIP']] },
  { name: 'has_screen', label: 'Screen', options: [['', 'Any'], ['true', 'With screen video'], ['false', 'Without screen video']] },
  {
    name: 'sort', label: 'Sort',
    options: [['-started_at', 'Newest first'], ['started_at', 'Oldest first'], ['-duration', 'Longest first'], ['duration', 'Shortest first']],
  },
];

const TIME_FILTERS = new Set(['since', 'until']);

/**
 * queryFromValues builds the search query from form values: {name: string}
 * for each filter (since/until as datetime-local values) and ext: [[key,
 * value]...]. Empty values and the default sort are left out; an external
 * data row with a key and no value matches any value (KEY:*).
 */
export function queryFromValues(values) {
  const q = new URLSearchParams();
  for (const f of FILTERS) {
    let v = String(values[f.name] ?? '').trim();
    if (TIME_FILTERS.has(f.name)) v = toRFC3339(v);
    if (f.name === 'sort' && v === DEFAULT_SORT) continue;
    if (v !== '') q.append(f.name, v);
  }
  for (const [k, v] of values.ext || []) {
    const key = String(k ?? '').trim();
    if (!key) continue;
    const val = String(v ?? '').trim();
    q.append('ext', `${key}:${val === '' ? '*' : val}`);
  }
  return q;
}

/** valuesFromQuery is the inverse of queryFromValues, for filling the form. */
export function valuesFromQuery(q) {
  const values = { ext: [] };
  for (const f of FILTERS) {
    const v = q.get(f.name) || '';
    values[f.name] = TIME_FILTERS.has(f.name) ? toLocalInput(v) : v;
  }
  if (!values.sort) values.sort = DEFAULT_SORT;
  for (const e of q.getAll('ext')) {
    const i = e.indexOf(':');
    values.ext.push(i < 0 ? [e, ''] : [e.slice(0, i), e.slice(i + 1)]);
  }
  return values;
}

/**
 * apiQuery adds paging to a search query: the first page asks for the total
 * count, later pages carry the cursor.
 */
export function apiQuery(q, cursor, limit = PAGE_SIZE) {
  const out = new URLSearchParams();
  for (const f of FILTERS) {
    const v = q.get(f.name);
    if (v) out.append(f.name, v);
  }
  if (!out.has('sort')) out.set('sort', DEFAULT_SORT);
  for (const e of q.getAll('ext')) out.append('ext', e);
  out.set('limit', String(limit));
  if (cursor) out.set('cursor', cursor);
  else out.set('count', 'true');
  return out;
}
