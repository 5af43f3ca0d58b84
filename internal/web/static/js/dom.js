// DOM helpers. Every piece of data reaches the page through textContent,
// attribute values or form values, never through HTML parsing.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * h creates an element. attrs: class, text, dataset {}, on<event> handlers,
 * value/checked/disabled/hidden/open/selected as properties, anything else
 * as an attribute. children: nodes, strings (as text), arrays, null.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  appendAll(el, children);
  return el;
}

/** svg creates an SVG element with attributes and children. */
export function svg(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') el.textContent = v;
    else if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  }
  appendAll(el, children);
  return el;
}

const PROPS = new Set(['value', 'checked', 'disabled', 'hidden', 'open', 'selected', 'multiple', 'required']);

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
    else if (k === 'text') el.textContent = String(v);
    else if (k === 'dataset') {
      for (const [dk, dv] of Object.entries(v)) if (dv !== undefined && dv !== null) el.dataset[dk] = String(dv);
    } else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (PROPS.has(k)) el[k] = v;
    else if (v === false) continue;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function appendAll(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
}

/** clear removes every child of el and appends the given children. */
export function fill(el, ...children) {
  el.replaceChildren();
  appendAll(el, children);
  return el;
}

/** $ finds one element by id. */
export const byId = (id) => document.getElementById(id);

/** table builds a <table> with a header row and a <tbody>. */
export function table(attrs, headers, rows) {
  return h('table', attrs,
    h('thead', null, h('tr', null, headers.map((t) => h('th', { text: t })))),
    h('tbody', null, rows || []));
}

/** card wraps content in a titled section. */
export function card(title, attrs, ...children) {
  return h('section', { class: 'card', ...(attrs || {}) },
    title ? h('h2', { text: title }) : null, children);
}

/** badge is a small coloured label; kind picks the colour. */
export function badge(text, kind, attrs) {
  return h('span', { class: `badge badge-${kind || 'neutral'}`, text, ...(attrs || {}) });
}

/** field is a labelled form control. */
export function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label', text: label }), control,
    hint ? h('span', { class: 'field-hint', text: hint }) : null);
}

/** select builds a <select> from [value, label] pairs. */
export function select(attrs, options, selected) {
  return h('select', attrs, options.map(([v, l]) => h('option', { value: v, text: l, selected: String(v) === String(selected ?? '') })));
}

/** kv builds a definition list from [label, value] pairs, skipping empty values. */
export function kv(pairs, attrs) {
  const dl = h('dl', { class: 'kv', ...(attrs || {}) });
  for (const [k, v] of pairs) {
    if (v === undefined || v === null || v === '') continue;
    dl.append(h('div', { class: 'kv-item' }, h('dt', { text: k }), h('dd', null, v instanceof Node ? v : String(v))));
  }
  return dl;
}

// The banner shows API failures (problem JSON title and detail) and notices.

/** showError displays an error in the banner; aborted requests are ignored. */
export function showError(err, context) {
  if (!err || err.name === 'AbortError') return;
  const title = err.title || (err.name && err.name !== 'Error' ? err.name : 'Error');
  const detail = err.title ? err.detail : err.message;
  showBanner('error', context ? `${context}: ${title}` : title, detail, err.status);
}

/** showNotice displays a success or information message in the banner. */
export function showNotice(text, detail) {
  showBanner('notice', text, detail);
}

function showBanner(kind, title, detail, status) {
  const banner = byId('banner');
  if (!banner) return;
  fill(banner,
    h('div', { class: 'banner-text' },
      h('strong', { class: 'banner-title', text: title }),
      detail ? h('span', { class: 'banner-detail', text: ` ${detail}` }) : null),
    h('button', { type: 'button', class: 'banner-close', 'aria-label': 'Dismiss', text: '×', onclick: clearBanner }));
  banner.className = `banner banner-${kind}`;
  banner.dataset.kind = kind;
  if (status) banner.dataset.status = String(status);
  else delete banner.dataset.status;
  banner.hidden = false;
}

/** clearBanner hides the banner. */
export function clearBanner() {
  const banner = byId('banner');
  if (!banner) return;
  banner.hidden = true;
  banner.replaceChildren();
  delete banner.dataset.kind;
  delete banner.dataset.status;
}
