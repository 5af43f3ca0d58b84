// The REST API client (docs/api.md): JSON in and out, the CSRF token on every
// state-changing request, problem JSON turned into ApiError.

let csrfToken = '';
let onUnauthorized = null;

/** setCsrf keeps the session's CSRF token in memory (never in storage). */
export function setCsrf(token) {
  csrfToken = token || '';
}

/** csrf returns the session's CSRF token (for requests made without request()). */
export function csrf() {
  return csrfToken;
}

/** setUnauthorizedHandler registers what to do when a request answers 401. */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** ApiError is a failed API request: the problem JSON's title and detail. */
export class ApiError extends Error {
  constructor(status, title, detail, type) {
    super(detail ? `${title}: ${detail}` : title);
    this.name = 'ApiError';
    this.status = status;
    this.title = title;
    this.detail = detail || '';
    this.type = type || '';
  }
}

/** problemFrom reads an error response (problem JSON, or text) as ApiError. */
export async function problemFrom(res) {
  let title = `${res.status} ${res.statusText || 'error'}`.trim();
  let detail = '';
  let type = '';
  try {
    const text = await res.text();
    const ct = res.headers.get('Content-Type') || '';
    if (ct.includes('json')) {
      const p = JSON.parse(text);
      if (p && typeof p === 'object') {
        if (p.title) title = String(p.title);
        if (p.detail) detail = String(p.detail);
        if (p.type) type = String(p.type);
      }
    } else if (text) {
      detail = text.trim().slice(0, 500);
    }
  } catch (_) {
    // The body is unreadable: the status line is all there is.
  }
  return new ApiError(res.status, title, detail, type);
}

function needsCsrf(method) {
  return method !== 'GET' && method !== 'HEAD';
}

/**
 * request performs one API call. body (if any) is sent as JSON. It resolves
 * to the decoded JSON (null for 204) or rejects with ApiError. A 401 calls
 * the unauthorized handler unless opts.allow401 is set.
 */
export async function request(method, path, body, opts = {}) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (needsCsrf(method)) headers['X-CSRF-Token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
    cache: 'no-store',
    signal: opts.signal,
  });
  if (!res.ok) {
    const err = await problemFrom(res);
    if (res.status === 401 && !opts.allow401 && onUnauthorized) onUnauthorized(err);
    throw err;
  }
  if (res.status === 204 || method === 'HEAD') return null;
  const ct = res.headers.get('Content-Type') || '';
  if (!ct.includes('json')) return null;
  return res.json();
}

export const get = (path, opts) => request('GET', path, undefined, opts);
export const post = (path, body, opts) => request('POST', path, body, opts);
export const put = (path, body, opts) => request('PUT', path, body, opts);
export const del = (path, opts) => request('DELETE', path, undefined, opts);

/** query builds "?a=1&b=2" from an object or URLSearchParams, skipping empty values. */
export function query(params) {
  const q = new URLSearchParams();
  const entries = params instanceof URLSearchParams ? params.entries() : Object.entries(params);
  for (const [k, v] of entries) {
    if (v === undefined || v === null || v === '') continue;
    q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

// Every endpoint the UI uses, written out whole so the package test can
// check each against docs/api.md.
export const paths = {
  login: () => '/api/v1/auth/login',
  logout: () => '/api/v1/auth/logout',
  me: () => '/api/v1/auth/me',
  recordings: () => '/api/v1/recordings',
  recording: (id) => `/api/v1/recordings/${enc(id)}`,
  media: (id) => `/api/v1/recordings/${enc(id)}/media`,
  peaks: (id) => `/api/v1/recordings/${enc(id)}/peaks`,
  screenUpload: (id) => `/api/v1/recordings/${enc(id)}/screen`,
  screenEvents: () => '/api/v1/screen/events',
  live: () => '/api/v1/live',
  listen: (id) => `/api/v1/live/${enc(id)}/listen`,
  callControl: () => '/api/v1/calls/control',
  rules: () => '/api/v1/admin/rules',
  rulesCheck: () => '/api/v1/admin/rules/check',
  tenants: () => '/api/v1/admin/tenants',
  users: () => '/api/v1/admin/users',
  user: (name) => `/api/v1/admin/users/${enc(name)}`,
  audit: () => '/api/v1/audit',
  holds: () => '/api/v1/holds',
  hold: (id) => `/api/v1/holds/${enc(id)}`,
  callHold: (uuid) => `/api/v1/holds/call/${enc(uuid)}`,
};
