// The live monitor (#/live): GET /api/v1/live every second, calls in progress
// with per-channel audio status, failed calls flagged, CTI calls with alerts,
// live listening, and for admins and supervisors recording control
// (POST /api/v1/calls/control: pause, resume, stop, start, keep, discard).

import { get, paths, post } from './api.js';
import { badge, card, fill, h, showError, showNotice, svg } from './dom.js';
import { channelRoleLabel, fmtDuration, fmtTime } from './format.js';
import { LiveListener } from './listen.js';
import { canControl, confirmOp, controlKey, controlNotice, controlRequest, ctiProblems, elapsedMs, liveOps, liveStatus, partyOps } from './livestate.js';

const POLL_MS = 1000;
const LIVE_COLUMNS = ['Started', 'Duration', 'Agent', 'Recorded DN', 'Other DN', 'Tenant', 'Mode', 'Channels', 'Status', 'Listen'];
const CTI_COLUMNS = ['CallUUID', 'ConnID', 'Type', 'ANI', 'Tenant', 'Parties', 'Problems'];
const OP_LABELS = { start: '● Start', pause: '❚❚ Pause', resume: '▶ Resume', stop: '■ Stop', keep: 'Keep', discard: 'Discard' };
const OP_TITLES = {
  start: 'Start recording this party', pause: 'Pause the recording', resume: 'Resume the recording',
  stop: 'Stop the recording', keep: 'Keep the pre-recording', discard: 'Discard the pre-recording',
};

function recIcon() {
  return svg('svg', { class: 'rec-icon', viewBox: '0 0 12 12', width: '12', height: '12', role: 'img', 'aria-label': 'recording' },
    svg('title', { text: 'audio arriving' }),
    svg('circle', { cx: '6', cy: '6', r: '5' }));
}

function callKey(c) {
  return c.recording_id || `${c.call_uuid}|${c.recorded_dn}`;
}

export function render(main, ctx) {
  const controls = canControl(ctx.user && ctx.user.role);
  const liveColumns = controls ? [...LIVE_COLUMNS, 'Control'] : LIVE_COLUMNS;
  const summary = h('span', { id: 'live-summary', class: 'muted' });
  const status = h('span', { id: 'live-status', class: 'live-status', dataset: { state: 'loading' }, text: 'Connecting…' });
  const liveBody = h('tbody');
  const liveTable = h('table', { id: 'live-calls', class: 'grid live', dataset: { state: 'loading' } },
    h('thead', null, h('tr', null, liveColumns.map((c) => h('th', { text: c })))), liveBody);
  const emptyRow = h('tr', { class: 'empty' }, h('td', { colspan: liveColumns.length, text: 'No calls in progress.' }));
  const ctiAll = h('input', { type: 'checkbox', id: 'cti-all' });
  const ctiTitle = h('h2', { text: 'CTI calls with alerts' });
  const ctiCount = h('span', { class: 'muted', id: 'cti-count' });
  const ctiBody = h('tbody');
  const ctiTable = h('table', { id: 'cti-calls', class: 'grid' },
    h('thead', null, h('tr', null, CTI_COLUMNS.map((c) => h('th', { text: c })))), ctiBody);

  const listenWhat = h('span', { id: 'listening-what' });
  const meters = [0, 1].map((c) => h('span', { class: 'meter', dataset: { channel: c }, title: `level of channel ${c}` }, h('span', { class: 'meter-fill' })));
  const stopBtn = h('button', { type: 'button', id: 'listen-stop', class: 'btn btn-danger', text: '■ Stop' });
  const listening = h('div', { id: 'listening', class: 'listening', hidden: true, role: 'status' },
    h('span', { class: 'pulse', 'aria-hidden': 'true' }), h('strong', { text: 'Listening' }), listenWhat, meters, stopBtn);

  const page = h('div', { id: 'page-live', class: 'page' },
    h('div', { class: 'page-title' }, h('h1', { text: 'Live calls' }), summary, h('span', { class: 'spacer' }), status),
    listening,
    h('section', { class: 'card' }, h('div', { class: 'table-wrap' }, liveTable)),
    card(null, { id: 'cti-card' },
      h('div', { class: 'card-head' }, ctiTitle, ctiCount, h('span', { class: 'spacer' }),
        h('label', { class: 'inline' }, ctiAll, ' show all CTI calls')),
      h('div', { class: 'table-wrap' }, ctiTable)));
  fill(main, page);

  const rows = new Map();
  let last = { items: [], cti: [] };
  let current = null;

  // Recording control. One request at a time: every control button is
  // disabled while it is in flight. Stop and discard take a second click
  // (armed = the key of the button waiting for it). The CTI table is rebuilt
  // from data, so this state lives here, not in the buttons.
  let inflight = false;
  let armed = null;

  function controlButton(req, label) {
    const b = h('button', { type: 'button', class: 'btn btn-small control', dataset: { op: req.op, dn: req.dn || '' }, title: OP_TITLES[req.op] });
    b.addEventListener('click', () => sendControl(b.controlRequest));
    setControl(b, req, label);
    return b;
  }

  // setControl points a button at a request and shows its state.
  function setControl(b, req, label) {
    b.controlRequest = req;
    b.dataset.dn = req.dn || '';
    const isArmed = armed === controlKey(req);
    b.textContent = isArmed ? `Really ${req.op} ${label}?` : OP_LABELS[req.op];
    b.classList.toggle('btn-danger', isArmed);
    if (isArmed) b.dataset.confirm = 'true';
    else delete b.dataset.confirm;
    b.disabled = inflight;
  }

  async function sendControl(req) {
    if (inflight) return;
    const key = controlKey(req);
    if (confirmOp(req.op) && armed !== key) {
      armed = key;
      refreshControls();
      return;
    }
    armed = null;
    inflight = true;
    refreshControls();
    try {
      const res = await post(paths.callControl(), req, { signal: ctx.signal });
      if (stopped) return;
      const n = controlNotice(req, res);
      showNotice(n.text, n.detail);
      pollNow();
    } catch (err) {
      if (!stopped) showError(err, `${req.op} ${req.dn || req.call_uuid || req.conn_id || ''}`.trim());
    } finally {
      inflight = false;
      if (!stopped) refreshControls();
    }
  }

  function refreshControls() {
    for (const r of rows.values()) updateControls(r);
    renderCti(last);
  }

  // Listening.
  function stopListening() {
    if (!current) return;
    current.listener.stop();
    const r = rows.get(current.key);
    if (r) markListening(r, null);
    current = null;
    listening.hidden = true;
    listening.dataset.state = 'idle';
  }
  stopBtn.addEventListener('click', stopListening);

  function markListening(r, channel) {
    r.tr.classList.toggle('is-listening', channel !== null);
    if (channel === null) delete r.tr.dataset.listening;
    else r.tr.dataset.listening = String(channel);
    for (const b of r.buttons) b.setAttribute('aria-pressed', String(channel !== null && Number(b.dataset.channel) === channel));
  }

  function startListening(call, channel) {
    stopListening();
    let listener;
    try {
      listener = new LiveListener(call.recording_id, channel, {
        onOpen: () => { listening.dataset.state = 'open'; },
        onLevel: (c, rms) => {
          listening.dataset.frames = String(listener.frames);
          const m = meters[c];
          if (m) m.firstChild.style.width = `${Math.min(100, Math.round(Math.sqrt(rms) * 140))}%`;
        },
        onEnd: (msg, isError) => {
          if (!current || current.listener !== listener) return;
          stopListening();
          if (isError) showError({ title: 'Listening stopped', detail: msg });
          else showNotice(msg);
        },
      });
    } catch (err) {
      showError({ title: 'Cannot listen', detail: err.message });
      return;
    }
    const key = callKey(call);
    current = { listener, key, channel };
    const chans = call.channels || [];
    const named = (c) => {
      const ch = chans.find((x) => x.channel === c);
      return ch ? `${channelRoleLabel(ch)} ${ch.name || ch.dn || ''}`.trim() : `party ${c}`;
    };
    const who = channel === -1 ? 'both parties' : named(channel);
    listenWhat.textContent = `${call.agent_name || call.recorded_dn || '?'} ↔ ${call.ani || call.other_dn || '?'} — ${who}`;
    meters.forEach((m, c) => { m.title = `level of ${named(c)}`; });
    for (const m of meters) m.firstChild.style.width = '0%';
    meters.forEach((m, c) => { m.hidden = channel !== -1 && channel !== c; });
    listening.hidden = false;
    listening.dataset.state = 'connecting';
    listening.dataset.frames = '0';
    listening.dataset.recordingId = call.recording_id;
    listening.dataset.channel = String(channel);
    const r = rows.get(key);
    if (r) markListening(r, channel);
  }

  // Rows.
  function newRow(call) {
    const cells = {};
    for (const name of ['started', 'dur', 'agent', 'dn', 'other', 'tenant', 'mode', 'channels', 'status']) cells[name] = h('td');
    cells.dur.className = 'num dur';
    cells.agent.className = 'nowrap';
    cells.started.className = controls ? 'started' : 'nowrap'; // date over time: room for the controls
    const buttons = [];
    const listen = h('td', { class: 'listen-cell' });
    if (call.recording_id) {
      // Labelled by who is on the channel (Agent, Customer), set in updateRow.
      for (const ch of [-1, 0, 1]) {
        const b = h('button', {
          type: 'button', class: 'btn btn-small listen', dataset: { channel: ch }, 'aria-pressed': 'false',
          text: ch === -1 ? 'Both' : `Party ${ch}`, title: ch === -1 ? 'Listen to both parties' : `Listen to party ${ch}`,
        });
        b.addEventListener('click', () => startListening(rows.get(callKey(call)).call, ch));
        buttons.push(b);
        listen.append(b);
      }
    }
    const tr = h('tr', { dataset: { recordingId: call.recording_id || '', callUuid: call.call_uuid || '' } },
      cells.started, cells.dur, cells.agent, cells.dn, cells.other, cells.tenant, cells.mode, cells.channels, cells.status, listen);
    const r = { tr, cells, buttons, call, controls: null };
    if (controls) {
      r.controls = {};
      const td = h('td', { class: 'control-cell' });
      for (const op of ['pause', 'resume', 'stop']) {
        r.controls[op] = controlButton(liveRequest(op, call), call.recorded_dn || '');
        td.append(r.controls[op]);
      }
      tr.append(td);
    }
    return r;
  }

  function liveRequest(op, call) {
    return controlRequest(op, call.recorded_dn, call.call_uuid);
  }

  function updateControls(r) {
    if (!r.controls) return;
    const ops = liveOps(r.call);
    for (const [op, b] of Object.entries(r.controls)) {
      b.hidden = !ops.includes(op);
      setControl(b, liveRequest(op, r.call), r.call.recorded_dn || '');
    }
  }

  function channelView(ch) {
    const who = ch.name && ch.name !== ch.dn ? `${ch.name} · ${ch.dn || ''}` : (ch.dn || ch.label || '');
    return h('div', { class: 'chan', dataset: { channel: ch.channel, audio: ch.audio_arriving ? 'true' : 'false', role: ch.role || 'party' }, title: `channel ${ch.channel}${ch.last_packet_at ? `, last packet ${fmtTime(ch.last_packet_at)}` : ''}` },
      ch.audio_arriving ? recIcon() : h('span', { class: 'no-audio-dot', 'aria-label': 'no audio', title: 'no audio arriving' }),
      h('span', { class: 'chan-name', text: `${channelRoleLabel(ch)} ${who}`.trim() }),
      ch.codec ? h('span', { class: 'muted', text: ` ${ch.codec}` }) : null,
      h('span', { class: 'muted', text: ` · ${Number(ch.packets || 0).toLocaleString()} pkts` }),
      ch.held ? badge('held', 'warn') : null,
      ch.audio_arriving ? null : h('span', { class: 'chan-warn', text: ' no audio' }));
  }

  function updateRow(r, call, cti, now) {
    r.call = call;
    const c = r.cells;
    const started = fmtTime(call.started_at);
    if (c.started.textContent !== started) fill(c.started, started.split(' ').map((part, i) => [i ? ' ' : null, h('span', { class: 'nowrap', text: part })]));
    c.dur.dataset.started = call.started_at || '';
    c.dur.textContent = fmtDuration(elapsedMs(call.started_at, now));
    const agent = call.agent_name ? (call.agent_id ? `${call.agent_name} (${call.agent_id})` : call.agent_name) : (call.agent_id || '');
    if (c.agent.textContent !== agent) c.agent.textContent = agent;
    c.dn.textContent = call.recorded_dn || '';
    c.other.textContent = call.other_dn || '';
    for (const b of r.buttons) {
      const n = Number(b.dataset.channel);
      if (n < 0) continue;
      const ch = (call.channels || []).find((x) => x.channel === n);
      if (!ch) continue;
      const label = channelRoleLabel(ch);
      if (b.textContent !== label) b.textContent = label;
      b.title = `Listen to ${`${label.toLowerCase()} ${ch.name || ch.dn || ''}`.trim()}`;
    }
    c.tenant.textContent = call.tenant || '';
    c.mode.textContent = call.mode || '';
    fill(c.channels, (call.channels || []).map((ch) => channelView(ch)));
    const st = liveStatus(call, cti);
    r.tr.classList.toggle('failed', !!st);
    r.tr.dataset.failed = st ? 'true' : 'false';
    fill(c.status,
      call.paused ? badge('paused', 'warn', { class: 'badge badge-warn badge-paused' }) : null,
      st ? [badge(st.label, 'error', { class: 'badge badge-error badge-failed', dataset: { failed: st.label } }),
        h('div', { class: 'reason', text: st.reasons.join('; ') })]
        : (call.paused ? null : badge('recording', 'ok')));
    updateControls(r);
  }

  function renderLive(data, now) {
    const items = data.items || [];
    const cti = data.cti || [];
    const seen = new Set();
    let failed = 0;
    emptyRow.remove();
    items.forEach((call, i) => {
      const key = callKey(call);
      seen.add(key);
      let r = rows.get(key);
      if (!r) {
        r = newRow(call);
        rows.set(key, r);
      }
      updateRow(r, call, cti, now);
      if (r.tr.dataset.failed === 'true') failed++;
      // Server order; a row already in place is not moved (a click on it stays intact).
      const at = liveBody.children[i];
      if (at !== r.tr) liveBody.insertBefore(r.tr, at || null);
    });
    for (const [key, r] of rows) {
      if (seen.has(key)) continue;
      r.tr.remove();
      rows.delete(key);
    }
    if (items.length === 0) liveBody.append(emptyRow);
    if (current) {
      const r = rows.get(current.key);
      if (r) markListening(r, current.channel);
    }

    const withAlerts = renderCti(data);
    summary.textContent = `${items.length} call${items.length === 1 ? '' : 's'} in progress · ${failed} failed · ${withAlerts.length} CTI alert${withAlerts.length === 1 ? '' : 's'}`;
    liveTable.dataset.state = 'ready';
    liveTable.dataset.count = String(items.length);
  }

  function partyControls(c, pt) {
    const ops = partyOps(pt);
    if (!ops.length) return null;
    return h('span', { class: 'party-controls' }, ops.map((op) => controlButton(controlRequest(op, pt.dn, c.call_uuid, c.conn_id), pt.dn || '')));
  }

  // renderCti fills the CTI table (rebuilt only when what it shows changed,
  // so a button under the pointer stays put) and returns the calls with alerts.
  let ctiShown = '';
  function renderCti(data) {
    const cti = data.cti || [];
    const problems = cti.map((c) => ({ c, p: ctiProblems(c) }));
    const withAlerts = problems.filter((x) => x.p.length);
    const shownCti = ctiAll.checked ? problems : withAlerts;
    ctiCount.textContent = `${withAlerts.length} with alerts, ${cti.length} in all`;
    const sig = JSON.stringify([ctiAll.checked, inflight, armed, shownCti.map((x) => x.c)]);
    if (sig === ctiShown) return withAlerts;
    ctiShown = sig;
    fill(ctiBody, shownCti.length ? shownCti.map(({ c, p }) => h('tr', { class: p.length ? 'failed' : '', dataset: { callUuid: c.call_uuid || '', failed: p.length ? 'true' : 'false' } },
      h('td', { class: 'mono', text: c.call_uuid || '' }),
      h('td', { class: 'mono', text: c.conn_id || '' }),
      h('td', { text: c.call_type || '' }),
      h('td', { text: c.ani || '' }),
      h('td', { text: c.tenant || '' }),
      h('td', null, (c.parties || []).map((pt) => h('div', { class: 'party', dataset: { dn: pt.dn || '' } },
        h('strong', { text: pt.dn || '?' }),
        pt.agent_id ? h('span', { class: 'muted', text: pt.agent_name ? ` ${pt.agent_name} (agent ${pt.agent_id})` : ` agent ${pt.agent_id}` }) : null,
        pt.monitored ? badge('monitored', 'neutral') : null,
        pt.recording_state ? badge(pt.recording_state, pt.recording_state === 'failed' ? 'error' : pt.recording_state === 'on' ? 'ok' : 'neutral') : null,
        pt.decision ? h('span', { class: 'muted', text: ` ${pt.decision}` }) : null,
        pt.recording_id ? h('a', { href: `#/recording/${encodeURIComponent(pt.recording_id)}`, class: 'mono small', text: ` ${pt.recording_id}` }) : null,
        controls ? partyControls(c, pt) : null))),
      h('td', null, p.length ? [badge('recording failed', 'error', { class: 'badge badge-error badge-failed' }), h('div', { class: 'reason', text: p.join('; ') })] : badge('ok', 'ok'))))
      : h('tr', { class: 'empty' }, h('td', { colspan: CTI_COLUMNS.length, text: ctiAll.checked ? 'No CTI calls.' : 'No CTI calls with alerts.' })));
    return withAlerts;
  }

  ctiAll.addEventListener('change', () => {
    ctiTitle.textContent = ctiAll.checked ? 'CTI calls' : 'CTI calls with alerts';
    renderLive(last, Date.now());
  });

  // Polling (one request at a time) and the duration clock.
  let stopped = false;
  let timer = 0;
  let failures = 0;
  let polling = false;
  let again = false;
  async function poll() {
    clearTimeout(timer);
    polling = true;
    try {
      last = await get(paths.live(), { signal: ctx.signal });
      if (stopped) return;
      renderLive(last, Date.now());
      if (failures) showNotice('Live view reconnected.');
      failures = 0;
      status.dataset.state = 'ok';
      status.textContent = `Updated ${fmtTime(new Date().toISOString()).slice(11)}`;
    } catch (err) {
      if (err.name === 'AbortError' || stopped) return;
      failures++;
      status.dataset.state = 'error';
      status.textContent = 'Connection problem — retrying';
      if (failures === 1) showError(err, 'Live calls');
    } finally {
      polling = false;
      if (!stopped) timer = setTimeout(poll, again ? 0 : POLL_MS);
      again = false;
    }
  }
  // pollNow polls at once (after the request in flight, if any).
  function pollNow() {
    if (stopped) return;
    if (polling) {
      again = true;
      return;
    }
    poll();
  }
  poll();
  const tick = setInterval(() => {
    const now = Date.now();
    for (const r of rows.values()) r.cells.dur.textContent = fmtDuration(elapsedMs(r.call.started_at, now));
  }, 1000);

  return () => {
    stopped = true;
    clearTimeout(timer);
    clearInterval(tick);
    stopListening();
  };
}
