// The live monitor's judgement (no DOM): which calls in progress are failed
// for the supervisor, and why. docs/api.md: a call is failed when it has CTI
// alerts, a monitored party whose recording_state is failed, or a live
// channel without audio_arriving.

/** ctiForLive finds the CTI call of a live call: same CallUUID or a party carrying its recording id. */
export function ctiForLive(call, ctiCalls) {
  return (ctiCalls || []).filter((c) => (c.call_uuid && c.call_uuid === call.call_uuid) ||
    (c.parties || []).some((p) => p.recording_id && p.recording_id === call.recording_id));
}

/** ctiProblems lists why a CTI call is failed (empty when it is not). */
export function ctiProblems(cti) {
  const out = [];
  for (const a of cti.alerts || []) out.push(`alert ${a}`);
  for (const p of cti.parties || []) {
    if (p.monitored && p.recording_state === 'failed') out.push(`recording failed for DN ${p.dn || '?'}`);
  }
  return out;
}

/**
 * liveProblems lists why a live call is failed: channels without audio
 * ("no audio") and the problems of its CTI call ("recording failed").
 * It returns {noAudio: [...], failed: [...]}.
 */
export function liveProblems(call, ctiCalls) {
  const noAudio = [];
  for (const ch of call.channels || []) {
    if (ch.audio_arriving) continue;
    let r = `no audio on channel ${ch.channel}`;
    if (ch.dn) r += ` (DN ${ch.dn})`;
    if (ch.held) r += ', held';
    noAudio.push(r);
  }
  if (noAudio.length && call.paused) noAudio.push('recording paused');
  const failed = [];
  for (const c of ctiForLive(call, ctiCalls)) {
    for (const p of ctiProblems(c)) if (!failed.includes(p)) failed.push(p);
  }
  return { noAudio, failed };
}

/** liveStatus is the badge of a live call: null when fine, else {label, reasons}. */
export function liveStatus(call, ctiCalls) {
  const { noAudio, failed } = liveProblems(call, ctiCalls);
  if (failed.length) return { label: 'recording failed', reasons: [...failed, ...noAudio] };
  if (noAudio.length) return { label: 'no audio', reasons: noAudio };
  return null;
}

/** elapsedMs is the time since an RFC 3339 start, never negative. */
export function elapsedMs(startedAt, nowMs) {
  const t = Date.parse(startedAt);
  if (Number.isNaN(t)) return null;
  return Math.max(0, nowMs - t);
}

// Recording control (POST /api/v1/calls/control): which buttons a call or a
// CTI party gets, the request body, and the notice after a request.

/** canControl reports whether a role may control recordings (admins and supervisors). */
export function canControl(role) {
  return role === 'admin' || role === 'supervisor';
}

/** liveOps is the control ops of a live recording: pause or resume, then stop. */
export function liveOps(call) {
  return [call.paused ? 'resume' : 'pause', 'stop'];
}

/**
 * partyOps is the control ops of a CTI party: start when it is monitored and
 * not recording (state empty, stopped or failed), keep and discard when it
 * is pre-recorded.
 */
export function partyOps(party) {
  const ops = [];
  const st = party.recording_state || '';
  if (party.monitored && (st === '' || st === 'stopped' || st === 'failed')) ops.push('start');
  if (party.decision === 'prerecord') ops.push('keep', 'discard');
  return ops;
}

/** confirmOp reports whether an op takes a second click (it cannot be undone). */
export function confirmOp(op) {
  return op === 'stop' || op === 'discard';
}

/** controlRequest is the body of POST /api/v1/calls/control, without empty fields. */
export function controlRequest(op, dn, callUUID, connID) {
  const req = { op };
  if (dn) req.dn = dn;
  if (callUUID) req.call_uuid = callUUID;
  else if (connID) req.conn_id = connID;
  return req;
}

/** controlKey identifies a control button across re-renders. */
export function controlKey(req) {
  return `${req.op}|${req.dn || ''}|${req.call_uuid || ''}|${req.conn_id || ''}`;
}

/** controlNotice is the banner text after an accepted request: {text, detail}. */
export function controlNotice(req, res) {
  const r = res || {};
  const dn = r.dn || req.dn || r.call_uuid || req.call_uuid || r.conn_id || req.conn_id || '?';
  const parts = [];
  if (r.call_uuid) parts.push(`call ${r.call_uuid}`);
  if (r.conn_id) parts.push(`conn ${r.conn_id}`);
  if (r.record_id) parts.push(`record ${r.record_id}`);
  return { text: `${r.op || req.op} ${r.state || 'requested'} for ${dn}`, detail: parts.join(' · ') };
}
