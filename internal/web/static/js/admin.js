// The admin pages: recording rules (#/admin/rules), users (#/admin/users)
// and tenants (#/admin/tenants).

import { del, get, paths, post, put } from './api.js';
import { badge, card, field, fill, h, select, showError, showNotice } from './dom.js';
import { fmtTime } from './format.js';

const ROLES = [['agent', 'agent'], ['supervisor', 'supervisor'], ['admin', 'admin']];

// ---- Rules ----

export function renderRules(main, ctx) {
  const info = h('p', { id: 'rules-info', class: 'muted' });
  const warnings = h('ul', { id: 'rules-warnings', class: 'warnings', hidden: true });
  const error = h('pre', { id: 'rules-error', class: 'error-box', hidden: true });
  const yaml = h('textarea', { id: 'rules-yaml', class: 'code', rows: '28', spellcheck: 'false', wrap: 'off', 'aria-label': 'Rules YAML', disabled: true });
  const dirty = h('span', { id: 'rules-dirty', class: 'muted', hidden: true, text: 'Unsaved changes' });
  const save = h('button', { type: 'button', id: 'rules-save', class: 'btn btn-primary', text: 'Save', disabled: true });
  const validate = h('button', { type: 'button', id: 'rules-validate', class: 'btn', text: 'Validate', disabled: true,
    title: 'Check the rules without saving them' });
  const result = h('span', { id: 'rules-result', role: 'status', class: 'muted' });
  const reload = h('button', { type: 'button', id: 'rules-reload', class: 'btn', text: 'Reload' });
  const page = h('div', { id: 'page-rules', class: 'page', dataset: { state: 'loading' } },
    h('div', { class: 'page-title' }, h('h1', { text: 'Recording rules' })),
    card(null, null, info, warnings, error, yaml,
      h('div', { class: 'form-actions' }, validate, save, reload, dirty, result,
        h('span', { class: 'spacer' }), h('span', { class: 'muted', text: 'Syntax: docs/rules.md. A rule set that does not compile is refused and the rules in force stay.' }))));
  fill(main, page);

  let saved = '';
  let readOnly = false;
  function setData(d) {
    saved = d.yaml || '';
    yaml.value = saved;
    yaml.disabled = false;
    // The server may say the rules cannot be saved (no rules file): read-only.
    readOnly = d.editable === false;
    yaml.readOnly = readOnly;
    save.disabled = readOnly;
    validate.disabled = false;
    dirty.hidden = true;
    const bits = [];
    if (d.path) bits.push(`File ${d.path}`);
    if (readOnly) bits.push('read-only: the rules are not kept in a file this server can write');
    if (typeof d.groups === 'number') bits.push(`${d.groups} group${d.groups === 1 ? '' : 's'}`);
    info.textContent = bits.join(' · ');
    const ws = d.warnings || [];
    fill(warnings, ws.map((w) => h('li', { text: typeof w === 'string' ? w : JSON.stringify(w) })));
    warnings.hidden = ws.length === 0;
    page.dataset.state = 'ready';
  }

  async function load() {
    try {
      setData(await get(paths.rules(), { signal: ctx.signal }));
      error.hidden = true;
    } catch (err) {
      if (err.name === 'AbortError') return;
      page.dataset.state = 'error';
      showError(err, 'Rules');
    }
  }

  save.addEventListener('click', async () => {
    save.disabled = true;
    try {
      const d = await put(paths.rules(), { yaml: yaml.value }, { signal: ctx.signal });
      setData(d);
      error.hidden = true;
      page.dataset.state = 'saved';
      showNotice('Rules saved.', d.warnings && d.warnings.length ? `${d.warnings.length} warning(s), see below.` : '');
    } catch (err) {
      if (err.name === 'AbortError') return;
      error.textContent = err.detail || err.title || err.message;
      error.hidden = false;
      page.dataset.state = 'invalid';
      showError(err, 'Rules not saved');
    } finally {
      save.disabled = readOnly;
    }
  });
  // Validate: the server compiles the rules (POST .../rules/check) and
  // saves nothing.
  validate.addEventListener('click', async () => {
    validate.disabled = true;
    validate.setAttribute('aria-busy', 'true');
    validate.textContent = 'Validating…';
    result.textContent = '';
    try {
      const d = await post(paths.rulesCheck(), { yaml: yaml.value }, { signal: ctx.signal });
      error.hidden = true;
      const ws = d.warnings || [];
      fill(warnings, ws.map((w) => h('li', { text: typeof w === 'string' ? w : JSON.stringify(w) })));
      warnings.hidden = ws.length === 0;
      result.textContent = `Valid: ${d.groups} group${d.groups === 1 ? '' : 's'}, ${d.rules} rule${d.rules === 1 ? '' : 's'}${ws.length ? `, ${ws.length} warning${ws.length === 1 ? '' : 's'}` : ''} — not saved yet`;
      result.className = 'ok-text';
      page.dataset.state = 'valid';
    } catch (err) {
      if (err.name === 'AbortError') return;
      error.textContent = err.detail || err.title || err.message;
      error.hidden = false;
      result.textContent = 'Not valid: see the error above';
      result.className = 'error-text';
      page.dataset.state = 'invalid';
    } finally {
      validate.disabled = false;
      validate.removeAttribute('aria-busy');
      validate.textContent = 'Validate';
    }
  });
  reload.addEventListener('click', load);
  yaml.addEventListener('input', () => {
    dirty.hidden = yaml.value === saved;
    result.textContent = '';
  });
  yaml.addEventListener('keydown', (e) => {
    if (e.key !== 'Tab' || e.shiftKey || e.ctrlKey || e.altKey || e.metaKey) return;
    e.preventDefault();
    yaml.setRangeText('  ', yaml.selectionStart, yaml.selectionEnd, 'end');
    yaml.dispatchEvent(new Event('input'));
  });
  load();
}

// ---- Users ----

export function renderUsers(main, ctx) {
  const name = h('input', { id: 'user-name', type: 'text', required: true, autocomplete: 'off', pattern: '[A-Za-z0-9._@\\-]{1,64}' });
  const password = h('input', { id: 'user-password', type: 'password', required: true, autocomplete: 'new-password' });
  const role = select({ id: 'user-role' }, ROLES, 'agent');
  const tenant = h('input', { id: 'user-tenant', type: 'text' });
  const agentId = h('input', { id: 'user-agent-id', type: 'text' });
  const form = h('form', { id: 'user-form', class: 'form-grid' },
    field('User name', name), field('Password', password), field('Role', role),
    field('Tenant', tenant, 'required for supervisors and agents'), field('Agent id', agentId, 'agents see their own recordings'),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', id: 'user-create', class: 'btn btn-primary', text: 'Create user' })));
  const tbody = h('tbody');
  const users = h('table', { id: 'users-table', class: 'grid', dataset: { state: 'loading' } },
    h('thead', null, h('tr', null, ['Name', 'Role', 'Tenant', 'Agent id', 'Status', 'Created', 'Actions'].map((t) => h('th', { text: t })))), tbody);
  const page = h('div', { id: 'page-users', class: 'page' },
    h('div', { class: 'page-title' }, h('h1', { text: 'Users' })),
    card('New user', null, form),
    h('section', { class: 'card' }, h('div', { class: 'table-wrap' }, users)));
  fill(main, page);

  async function load() {
    try {
      const d = await get(paths.users(), { signal: ctx.signal });
      const items = (d.items || []).slice().sort((a, b) => a.name.localeCompare(b.name));
      fill(tbody, items.length ? items.map(userRow) : h('tr', { class: 'empty' }, h('td', { colspan: 7, text: 'No users.' })));
      users.dataset.state = 'ready';
    } catch (err) {
      if (err.name === 'AbortError') return;
      users.dataset.state = 'error';
      showError(err, 'Users');
    }
  }

  async function act(what, fn) {
    try {
      await fn();
      showNotice(what);
      await load();
    } catch (err) {
      if (err.name !== 'AbortError') showError(err, what.replace(/\.$/, ' failed'));
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const body = { name: name.value.trim(), password: password.value, role: role.value, tenant: tenant.value.trim(), agent_id: agentId.value.trim() };
    act(`User ${body.name} created.`, async () => {
      await post(paths.users(), body, { signal: ctx.signal });
      form.reset();
    });
  });

  function userRow(u) {
    const tr = h('tr', { dataset: { user: u.name }, class: u.disabled ? 'disabled' : '' },
      h('td', { class: 'mono', text: u.name }),
      h('td', null, badge(u.role, u.role === 'admin' ? 'info' : 'neutral')),
      h('td', { text: u.tenant || '' }),
      h('td', { text: u.agent_id || '' }),
      h('td', null, u.disabled ? badge('disabled', 'error') : badge('active', 'ok')),
      h('td', { class: 'nowrap', text: fmtTime(u.created_at) }));
    const actions = h('td', { class: 'actions' });
    const button = (action, text, onclick, kind) => h('button', { type: 'button', class: `btn btn-small${kind ? ` btn-${kind}` : ''}`, dataset: { action }, text, onclick });
    const editor = (cells, onSave) => {
      closeEditors();
      const row = h('tr', { class: 'editor', dataset: { editor: u.name } },
        h('td', { colspan: 7 }, h('div', { class: 'inline-form' }, cells,
          button('save', 'Save', () => onSave(), 'primary'), button('cancel', 'Cancel', () => row.remove()))));
      tr.after(row);
      const first = row.querySelector('input, select');
      if (first) first.focus();
    };
    actions.append(
      button('edit', 'Edit', () => {
        const r = select({ class: 'edit-role', 'aria-label': 'Role' }, ROLES, u.role);
        const t = h('input', { type: 'text', class: 'edit-tenant', value: u.tenant || '', 'aria-label': 'Tenant', placeholder: 'tenant' });
        const a = h('input', { type: 'text', class: 'edit-agent-id', value: u.agent_id || '', 'aria-label': 'Agent id', placeholder: 'agent id' });
        editor([field('Role', r), field('Tenant', t), field('Agent id', a)], () => act(`User ${u.name} updated.`,
          () => put(paths.user(u.name), { role: r.value, tenant: t.value.trim(), agent_id: a.value.trim() }, { signal: ctx.signal })));
      }),
      button('password', 'Reset password', () => {
        const p = h('input', { type: 'password', class: 'edit-password', autocomplete: 'new-password', 'aria-label': 'New password' });
        editor([field(`New password for ${u.name}`, p)], () => {
          if (!p.value) {
            showError({ title: 'Password required', detail: 'Type the new password first.' });
            return;
          }
          act(`Password of ${u.name} reset.`, () => put(paths.user(u.name), { password: p.value }, { signal: ctx.signal }));
        });
      }),
      u.disabled
        ? button('enable', 'Enable', () => act(`User ${u.name} enabled.`, () => put(paths.user(u.name), { disabled: false }, { signal: ctx.signal })))
        : button('disable', 'Disable', () => act(`User ${u.name} disabled.`, () => put(paths.user(u.name), { disabled: true }, { signal: ctx.signal }))),
      button('delete', 'Delete', (e) => {
        const b = e.currentTarget;
        if (b.dataset.action !== 'confirm-delete') {
          b.dataset.action = 'confirm-delete';
          b.textContent = `Really delete ${u.name}?`;
          b.classList.add('btn-danger');
          return;
        }
        act(`User ${u.name} deleted.`, () => del(paths.user(u.name), { signal: ctx.signal }));
      }));
    tr.append(actions);
    return tr;
  }

  function closeEditors() {
    for (const r of tbody.querySelectorAll('tr.editor')) r.remove();
  }
  load();
}

// ---- Tenants ----

function listText(v) {
  if (!v) return '';
  if (!Array.isArray(v)) return typeof v === 'object' ? JSON.stringify(v) : String(v);
  return v.map((x) => (x && typeof x === 'object' ? (x.name || x.id || JSON.stringify(x)) : String(x))).join(', ');
}

function notifyView(n) {
  if (!n) return '';
  const values = Object.entries(n.values || {}).map(([k, v]) => `${k}=${v}`).join(', ');
  return h('div', null,
    n.enabled ? badge('on', 'ok') : badge('off', 'neutral'),
    n.key ? h('span', { class: 'mono', text: ` ${n.key}` }) : null,
    values ? h('div', { class: 'muted small', text: values }) : null);
}

export function renderTenants(main, ctx) {
  const tbody = h('tbody');
  const tenants = h('table', { id: 'tenants-table', class: 'grid', dataset: { state: 'loading' } },
    h('thead', null, h('tr', null, ['Name', 'Client name', 'DN include', 'DN exclude', 'Notification', 'Switches'].map((t) => h('th', { text: t })))), tbody);
  fill(main, h('div', { id: 'page-tenants', class: 'page' },
    h('div', { class: 'page-title' }, h('h1', { text: 'Tenants' }), h('span', { class: 'muted', text: 'read-only: tenants come from the configuration file' })),
    h('section', { class: 'card' }, h('div', { class: 'table-wrap' }, tenants))));
  (async () => {
    try {
      const d = await get(paths.tenants(), { signal: ctx.signal });
      const items = d.items || [];
      fill(tbody, items.length ? items.map((t) => h('tr', { dataset: { tenant: t.name || '' } },
        h('td', { text: t.name || '' }),
        h('td', { text: t.client_name || '' }),
        h('td', { class: 'wrap mono', text: listText(t.dn_include) }),
        h('td', { class: 'wrap mono', text: listText(t.dn_exclude) }),
        h('td', null, notifyView(t.notify)),
        h('td', { class: 'wrap', text: listText(t.switches) })))
        : h('tr', { class: 'empty' }, h('td', { colspan: 6, text: 'No tenants configured.' })));
      tenants.dataset.state = 'ready';
    } catch (err) {
      if (err.name === 'AbortError') return;
      tenants.dataset.state = 'error';
      showError(err, 'Tenants');
    }
  })();
}
