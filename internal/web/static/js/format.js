// Pure formatting and parsing helpers (no DOM), unit-tested with node.

const pad2 = (n) => String(n).padStart(2, '0');

/** fmtClock formats seconds as mm:ss (h:mm:ss from one hour). */
export function fmtClock(seconds) {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${pad2(m)}:${pad2(sec)}` : `${pad2(m)}:${pad2(sec)}`;
}

/** fmtDuration formats milliseconds as mm:ss; missing values are an em dash. */
export function fmtDuration(ms) {
  if (ms === undefined || ms === null || ms === '' || !Number.isFinite(Number(ms)) || Number(ms) < 0) return '—';
  return fmtClock(Number(ms) / 1000);
}

/** fmtTime formats an RFC 3339 time as local "YYYY-MM-DD HH:MM:SS". */
export function fmtTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}

/** fmtBytes formats a byte count with a binary unit. */
export function fmtBytes(n) {
  const v = Number(n);
  if (!Number.isFinite(v) || v < 0) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = v;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${x.toFixed(x < 10 ? 1 : 0)} ${units[i]}`;
}

/** toRFC3339 turns a datetime-local value (local time) into RFC 3339 UTC. */
export function toRFC3339(local) {
  if (!local) return '';
  const d = new Date(local);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace(/\.000Z$/, 'Z');
}

/** toLocalInput turns an RFC 3339 time into a datetime-local value. */
export function toLocalInput(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  const base = `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return d.getSeconds() ? `${base}:${pad2(d.getSeconds())}` : base;
}

/**
 * parseRoute splits a location hash "#/a/b?x=1" into its path segments and
 * query. An empty hash is the path "/".
 */
export function parseRoute(hash) {
  let s = String(hash || '').replace(/^#/, '');
  if (!s.startsWith('/')) s = `/${s}`;
  const qi = s.indexOf('?');
  const path = qi >= 0 ? s.slice(0, qi) : s;
  const query = new URLSearchParams(qi >= 0 ? s.slice(qi + 1) : '');
  const parts = path.split('/').filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch (_) {
      return p;
    }
  });
  return { path, parts, query };
}

/** The external data groups of the recording page, in display order. */
export const EXT_GROUPS = [
  ['GEN_TEV_', 'T-Server events (GEN_TEV_)'],
  ['GEN_CFG_', 'Configuration (GEN_CFG_)'],
  ['GEN_USR_', 'User data (GEN_USR_)'],
  ['GEN_EXT_', 'Extensions (GEN_EXT_)'],
  ['GEN_REC_', 'Recording (GEN_REC_)'],
  ['', 'Other'],
];

/**
 * groupExternalData splits an external data object by key prefix into
 * [{prefix, label, entries: [[key, value]...]}] (sorted keys), omitting
 * empty groups; keys without a known prefix go to the "" group.
 */
export function groupExternalData(data) {
  const groups = EXT_GROUPS.map(([prefix, label]) => ({ prefix, label, entries: [] }));
  for (const [k, v] of Object.entries(data || {})) {
    const g = groups.find((gr) => gr.prefix && k.startsWith(gr.prefix)) || groups[groups.length - 1];
    g.entries.push([k, v === null || v === undefined ? '' : String(v)]);
  }
  for (const g of groups) g.entries.sort((a, b) => a[0].localeCompare(b[0]));
  return groups.filter((g) => g.entries.length > 0);
}

/** agentLabel renders the recording's agent ({id, name}) or a string. */
export function agentLabel(agent) {
  if (!agent) return '';
  if (typeof agent === 'string') return agent;
  if (agent.name && agent.id && agent.name !== agent.id) return `${agent.name} (${agent.id})`;
  return agent.name || agent.id || '';
}

/**
 * partyLabel names a channel's party. Without rec: "ch0 · caller · 2001 ·
 * Name". With the recording (its agent, caller, dialed and external data),
 * people rather than channel numbers: "Agent Ann Lee · 5001" for the
 * recorded party when an agent is known, "Customer · +15551230001" for a
 * party that is the call's caller or dialled number or an outside number.
 */
export function partyLabel(parties, channel, rec) {
  const p = (parties || []).find((x) => x && x.channel === channel);
  if (p && rec) {
    const ext = rec.external_data || {};
    const dn = p.dn || p.aor || '';
    const agentName = (rec.agent && (rec.agent.name || rec.agent.id)) || ext.GEN_CFG_FULLNAME || '';
    if (p.role === 'recorded' && agentName) return dn ? `Agent ${agentName} · ${dn}` : `Agent ${agentName}`;
    const outside = dn && (dn === rec.caller || dn === rec.dialed || dn === ext.GEN_TEV_ANI || dn.startsWith('+'));
    if ((p.role === 'other' || p.role === 'recorded') && outside) return `Customer · ${dn}`;
    if (p.name && p.name !== dn) return dn ? `${p.name} · ${dn}` : p.name;
    if (p.role === 'other' && dn) return `Other party · ${dn}`;
  }
  const bits = [`ch${channel}`];
  if (p) {
    if (p.role) bits.push(p.role);
    if (p.dn) bits.push(p.dn);
    else if (p.aor) bits.push(p.aor);
    if (p.name && p.name !== p.dn) bits.push(p.name);
    else if (p.label && p.label !== p.dn && p.label !== p.role) bits.push(p.label);
  }
  return bits.join(' · ');
}

/**
 * statusText says a recording's state in plain words, from its status and
 * the server's reason ("bye", "one-legged: ...", "no RTP received ..."):
 * "ended normally", "one party missing", "no audio received"...
 */
export function statusText(status, reason) {
  const r = String(reason || '').toLowerCase();
  switch (status) {
    case 'recording':
      return 'recording now';
    case 'completed':
      if (r.startsWith('media timeout')) return 'ended: the audio stopped (media timeout)';
      if (r.startsWith('shutdown')) return 'ended when the recorder shut down';
      if (r.startsWith('cancel')) return 'cancelled before it started';
      if (r.includes('needs_transcode')) return 'ended normally; audio kept in its original codec';
      return 'ended normally';
    case 'partial':
      if (r.startsWith('one-legged')) return 'one party missing';
      if (r.startsWith('cut short')) return 'cut short when the recorder stopped';
      if (r.startsWith('recovered')) return 'recovered after a crash';
      return 'incomplete';
    case 'failed':
      if (r.startsWith('no rtp') || r.includes('before any audio')) return 'no audio received';
      return 'could not be written';
    default:
      return status || 'unknown';
  }
}

/** channelRoleLabel names a live channel by role: "Agent", "Customer", "Party 1". */
export function channelRoleLabel(ch) {
  if (!ch) return '';
  if (ch.role === 'agent') return 'Agent';
  if (ch.role === 'customer') return 'Customer';
  return `Party ${ch.channel}`;
}

/**
 * transcodeState says where a recording kept in its original codec
 * (needs_transcode) stands, from its detail's needs_transcode and
 * transcode job: {label, kind, title, state}, or null when the recording
 * never needed transcoding. Queued or running: "transcoding"; waiting (no
 * decoder in this build) or no job yet: "needs transcode"; failed:
 * "transcode failed"; done: "transcoded".
 */
export function transcodeState(rec) {
  const job = (rec && rec.transcode) || null;
  const state = job ? job.state : 'none';
  if (rec && rec.needs_transcode) {
    const silent = ' Until then the channels in that codec are silent.';
    if (state === 'queued' || state === 'running') {
      return { label: 'transcoding', kind: 'info', state,
        title: (state === 'running' ? 'Its audio is being decoded now.' : 'Its audio will be decoded shortly.') + silent };
    }
    if (state === 'failed') {
      return { label: 'transcode failed', kind: 'error', state,
        title: `Decoding its audio failed${job.last_error ? `: ${job.last_error}` : ''}; openrec recordings transcode ${rec.id} tries again.${silent}` };
    }
    return { label: 'needs transcode', kind: 'warn', state,
      title: `Its audio is kept in a codec this server cannot decode yet; a server built with the decoder transcodes it.${silent}` };
  }
  if (state === 'done') {
    return { label: 'transcoded', kind: 'neutral', state, title: 'Its audio was kept in its original codec during the call and decoded afterwards.' };
  }
  return null;
}
