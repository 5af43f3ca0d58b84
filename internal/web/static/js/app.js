// openrec web UI entry point: session, header, hash router.
//
// Routes: #/login, #/search?..., #/recording/ID, #/live, #/screen, #/admin/rules,
// #/admin/users, #/admin/tenants, #/audit?... Every page but the login needs
// a session (GET /api/v1/auth/me); a 401 anywhere leads back to #/login.

import { get, paths, post, setCsrf, setUnauthorizedHandler } from './api.js';
import { byId, clearBanner, fill, h, showError } from './dom.js';
import { parseRoute } from './format.js';
import { renderRules, renderTenants, renderUsers } from './admin.js';
import * as audit from './audit.js';
import * as live from './live.js';
import * as login from './login.js';
import * as recording from './recording.js';
import * as screen from './screen.js';
import * as search from './search.js';

const ROUTES = [
  { path: ['login'], render: login.render, title: 'Sign in', public: true },
  { path: ['search'], render: search.render, title: 'Recordings', nav: 'nav-search' },
  { path: ['recording', '*'], render: recording.render, title: 'Recording', nav: 'nav-search' },
  { path: ['live'], render: live.render, title: 'Live calls', nav: 'nav-live' },
  { path: ['screen'], render: screen.render, title: 'Screen recording', nav: 'nav-screen' },
  { path: ['admin', 'rules'], render: renderRules, title: 'Rules', nav: 'nav-rules' },
  { path: ['admin', 'users'], render: renderUsers, title: 'Users', nav: 'nav-users' },
  { path: ['admin', 'tenants'], render: renderTenants, title: 'Tenants', nav: 'nav-tenants' },
  { path: ['audit'], render: audit.render, title: 'Audit log', nav: 'nav-audit' },
];

const session = { user: null };
let lastSearch = '#/search';
let current = null;
let keepBanner = false;

function findRoute(parts) {
  return ROUTES.find((r) => r.path.length === parts.length && r.path.every((p, i) => p === '*' || p === parts[i]));
}

function safeNext(next) {
  return next && next.startsWith('#/') && !next.startsWith('#/login') ? next : '#/search';
}

function setSession(res) {
  session.user = res ? res.user : null;
  setCsrf(res ? res.csrf_token : '');
  renderHeader();
}

function renderHeader() {
  const u = session.user;
  byId('nav').hidden = !u;
  byId('userbox').hidden = !u;
  document.body.dataset.role = u ? u.role : '';
  if (!u) return;
  for (const a of byId('nav').querySelectorAll('[data-roles]')) {
    a.hidden = !a.dataset.roles.split(' ').includes(u.role);
  }
  byId('nav-search').setAttribute('href', lastSearch);
  byId('session-user').textContent = u.name;
  byId('session-role').textContent = u.role;
  byId('session-role').dataset.role = u.role;
  byId('session-tenant').textContent = u.tenant ? `tenant ${u.tenant}` : '';
  byId('session-tenant').hidden = !u.tenant;
}

function teardown() {
  if (!current) return;
  current.ctl.abort();
  if (typeof current.cleanup === 'function') {
    try {
      current.cleanup();
    } catch (err) {
      console.error(err);
    }
  }
  current = null;
}

async function route() {
  const { parts, query } = parseRoute(location.hash);
  if (parts.length === 0) {
    location.replace('#/search');
    return;
  }
  const def = findRoute(parts);
  if (def && !def.public && !session.user) {
    location.replace(`#/login?next=${encodeURIComponent(location.hash)}`);
    return;
  }
  if (def && def.public && session.user) {
    location.replace(safeNext(query.get('next')));
    return;
  }
  teardown();
  if (keepBanner) keepBanner = false;
  else clearBanner();
  const main = byId('app');
  for (const a of byId('nav').querySelectorAll('a')) a.classList.toggle('active', !!def && a.id === def.nav);
  document.title = `${def ? def.title : 'Not found'} · openrec`;
  document.body.dataset.route = parts[0];
  if (!def) {
    fill(main, h('div', { id: 'page-notfound', class: 'page' },
      h('section', { class: 'card' }, h('h1', { text: 'Page not found' }), h('a', { href: '#/search', text: 'Go to the recordings' }))));
    return;
  }
  const ctl = new AbortController();
  const me = { ctl, cleanup: null };
  current = me;
  const ctx = {
    parts,
    query,
    signal: ctl.signal,
    user: session.user,
    lastSearch,
    rememberSearch: (hash) => {
      lastSearch = hash;
      byId('nav-search').setAttribute('href', hash);
    },
    signedIn: (res) => {
      setSession(res);
      location.replace(safeNext(query.get('next')));
    },
  };
  try {
    const cleanup = await def.render(main, ctx);
    if (current === me) me.cleanup = cleanup;
    else if (typeof cleanup === 'function') cleanup();
  } catch (err) {
    showError(err, def.title);
  }
}

function onUnauthorized() {
  if (!session.user) return;
  setSession(null);
  teardown();
  keepBanner = true;
  showError({ title: 'Session expired', detail: 'Please sign in again.' });
  location.replace(`#/login?next=${encodeURIComponent(location.hash)}`);
}

async function logout() {
  try {
    await post(paths.logout());
  } catch (err) {
    if (err.status !== 401) showError(err, 'Sign out');
  }
  teardown();
  setSession(null);
  location.replace('#/login');
}

async function start() {
  setUnauthorizedHandler(onUnauthorized);
  byId('logout').addEventListener('click', logout);
  window.addEventListener('hashchange', route);
  try {
    setSession(await get(paths.me(), { allow401: true }));
  } catch (err) {
    setSession(null);
    if (err.status !== 401) {
      keepBanner = true;
      showError(err, 'Cannot reach the server');
    }
  }
  route();
}

start();
