// The recording page (#/recording/ID): waveform player, downloads and the
// recording's metadata.

import { del, get, paths, post, problemFrom, query } from './api.js';
import { badge, card, clearBanner, fill, h, kv, select, showError, table } from './dom.js';
import { agentLabel, fmtBytes, fmtClock, fmtDuration, fmtTime, groupExternalData, partyLabel, statusText, transcodeState } from './format.js';
import { syncMedia } from './screensync.js';
import { Waveform } from './waveform.js';

const STATUS_KIND = { recording: 'info', completed: 'ok', partial: 'warn', failed: 'error' };

/** statusBadge shows a recording status with its colour; its tooltip says it in plain words. */
export function statusBadge(status, reason) {
  const plain = statusText(status, reason);
  return badge(status || 'unknown', STATUS_KIND[status] || 'neutral', { title: reason && reason !== plain ? `${plain} (${reason})` : plain, dataset: { status: status || '' } });
}

/** transcodeBadge shows transcodeState (null when there is nothing to say). */
export function transcodeBadge(rec) {
  const st = transcodeState(rec);
  return st ? badge(st.label, st.kind, { id: 'transcode-state', title: st.title, dataset: { state: st.state } }) : null;
}

const DOWNLOADS = [
  { label: 'WAV stereo', format: 'wav', channel: -1 },
  { label: 'WAV channel 0', format: 'wav', channel: 0 },
  { label: 'WAV channel 1', format: 'wav', channel: 1 },
  { label: 'MP3 stereo 16 kbit/s', format: 'mp3', kbps: 16, channel: -1 },
  { label: 'MP3 stereo 32 kbit/s', format: 'mp3', kbps: 32, channel: -1 },
  { label: 'MP3 mono 8 kbit/s, channel 0', format: 'mp3', kbps: 8, channel: 0 },
  { label: 'MP3 mono 8 kbit/s, channel 1', format: 'mp3', kbps: 8, channel: 1 },
];

/** mediaURL is the media endpoint for playback (no download) or a download item. */
export function mediaURL(id, { format = 'wav', channel = -1, kbps, download } = {}) {
  return paths.media(id) + query({
    format,
    channel: channel >= 0 ? channel : undefined,
    kbps,
    download: download ? 1 : undefined,
  });
}

function filenameFrom(res) {
  const cd = res.headers.get('Content-Disposition') || '';
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(cd);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim());
    } catch (_) { /* fall through to filename= */ }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(cd);
  return plain ? plain[1].trim() : '';
}

function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 30000);
}

/** eventsWithOffsets gives every event an at_ms (from its time when missing). */
function eventsWithOffsets(rec) {
  const start = Date.parse(rec.started_at || rec.start_time || '');
  return (rec.events || []).map((e) => {
    if (typeof e.at_ms === 'number') return e;
    const t = Date.parse(e.at || '');
    return { ...e, at_ms: Number.isNaN(t) || Number.isNaN(start) ? undefined : Math.max(0, t - start) };
  });
}

function recordingDurationMs(rec) {
  if (rec.duration_ms > 0) return rec.duration_ms;
  const s = Date.parse(rec.started_at || '');
  const e = Date.parse(rec.ended_at || '');
  return !Number.isNaN(s) && !Number.isNaN(e) && e > s ? e - s : 0;
}

export async function render(main, ctx) {
  const id = ctx.parts[1] || '';
  const page = h('div', { id: 'page-recording', class: 'page', dataset: { recordingId: id, state: 'loading' } },
    h('p', { class: 'muted', text: 'Loading recording…' }));
  fill(main, page);
  let rec;
  try {
    rec = await get(paths.recording(id), { signal: ctx.signal });
  } catch (err) {
    if (err.name === 'AbortError') return undefined;
    page.dataset.state = 'error';
    fill(page, backLink(ctx), card('Recording not available', null,
      h('p', { text: err.title ? `${err.title}${err.detail ? `: ${err.detail}` : ''}` : err.message })));
    showError(err, `Recording ${id}`);
    return undefined;
  }
  return build(page, ctx, id, rec);
}

function backLink(ctx) {
  return h('a', { class: 'back', href: ctx.lastSearch || '#/search', text: '← Search results' });
}

function build(page, ctx, id, rec) {
  const channels = rec.channels === 1 ? 1 : 2;
  const durMs = recordingDurationMs(rec);
  const events = eventsWithOffsets(rec);
  const labels = [0, 1].slice(0, channels).map((c) => partyLabel(rec.parties, c, rec));
  const cleanups = [];

  // Header.
  const title = h('div', { class: 'page-title' },
    h('h1', null, 'Recording ', h('span', { class: 'mono', id: 'recording-id', text: id })),
    statusBadge(rec.status, rec.status_reason),
    transcodeBadge(rec),
    h('span', { class: 'muted', id: 'status-text', title: rec.status_reason || '', text: statusText(rec.status, rec.status_reason) }));

  // Player.
  const audio = h('audio', { id: 'player', preload: 'metadata' });
  const playBtn = h('button', { type: 'button', id: 'play', class: 'btn btn-primary', dataset: { state: 'paused' }, 'aria-pressed': 'false', text: '▶ Play' });
  const time = h('span', { id: 'time', class: 'time mono', text: `${fmtClock(0)} / ${fmtClock(durMs / 1000)}` });
  const speed = select({ id: 'speed', 'aria-label': 'Playback speed' }, [['1', '1×'], ['1.5', '1.5×'], ['2', '2×']], '1');
  const channelOptions = [['-1', 'Both channels']];
  for (let c = 0; c < channels; c++) channelOptions.push([String(c), `Only ${labels[c]}`]);
  const channelSel = select({ id: 'channel', 'aria-label': 'Channels heard', disabled: channels < 2 }, channelOptions, '-1');
  const waveBox = h('div', { class: 'wave-box' });
  const legend = h('div', { class: 'legend' },
    h('span', { class: 'legend-item legend-pause', text: 'pause' }),
    h('span', { class: 'legend-item legend-hold', text: 'hold' }),
    h('span', { class: 'legend-item legend-dtmf', text: 'DTMF' }),
    h('span', { class: 'legend-item legend-event', text: 'other event' }),
    h('span', { class: 'legend-item legend-playhead', text: 'playhead' }));

  const downloads = downloadMenu(id, labels);
  const player = card(null, { class: 'card player', id: 'player-card' },
    waveBox,
    h('div', { class: 'controls' },
      playBtn, time,
      h('label', { class: 'inline' }, 'Speed ', speed),
      h('label', { class: 'inline' }, 'Hear ', channelSel),
      h('span', { class: 'spacer' }),
      downloads.el),
    legend, audio);

  const screenFile = (rec.media_files || []).find((m) => m.type === 'video/webm');
  let screenCard = null;
  if (screenFile) {
    const video = h('video', { id: 'screen-video', class: 'screen-video', preload: 'auto', muted: true, playsinline: true, controls: true, src: screenFile.url });
    video.muted = true; // the call's audio comes from the player
    const offset = ((screenFile.parameters && screenFile.parameters.offset_ms) || 0) / 1000;
    screenCard = card('Screen', { id: 'screen-card', class: 'card screen-card', dataset: { offsetMs: String(Math.round(offset * 1000)) } },
      video,
      h('div', { class: 'controls' },
        h('a', { id: 'screen-download', class: 'btn btn-small', href: `${screenFile.url}&download=1`, text: 'Download video' }),
        h('a', { id: 'screen-muxed', class: 'btn btn-small', href: `${paths.media(id)}?kind=muxed`, text: 'Download video + audio' }),
        h('span', { class: 'muted', text: screenFile.parameters && screenFile.parameters.complete === false ? 'upload incomplete: the video ends early' : '' })));
    cleanups.push(syncMedia(audio, video, offset));
    cleanups.push(() => {
      video.pause();
      video.removeAttribute('src');
      video.load();
    });
  }
  fill(page, backLink(ctx), title, player, screenCard, holdCard(id, rec, ctx), details(rec, events));
  page.dataset.state = 'ready';

  // Waveform and playback.
  let channel = -1;
  let pendingSeek = null;
  let resumeAfterLoad = false;
  let raf = 0;
  const totalSeconds = () => (Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : durMs / 1000);
  const wave = new Waveform(waveBox, {
    channels, labels, segments: rec.segments || [], events, durationMs: durMs,
    onSeek: (ms) => seek(ms / 1000),
  });

  function update() {
    time.textContent = `${fmtClock(audio.currentTime || 0)} / ${fmtClock(totalSeconds())}`;
    wave.setPosition((pendingSeek ?? audio.currentTime ?? 0) * 1000);
  }

  function loop() {
    update();
    raf = audio.paused ? 0 : requestAnimationFrame(loop);
  }

  function seek(seconds) {
    if (audio.readyState >= 1) audio.currentTime = seconds;
    else pendingSeek = seconds;
    wave.setPosition(seconds * 1000);
    update();
  }

  function setSource(ch, keepPosition) {
    const pos = pendingSeek ?? audio.currentTime ?? 0;
    resumeAfterLoad = keepPosition && !audio.paused;
    pendingSeek = keepPosition ? pos : null;
    audio.src = mediaURL(id, { format: 'wav', channel: ch });
    audio.load();
  }

  audio.addEventListener('loadedmetadata', () => {
    audio.defaultPlaybackRate = Number(speed.value);
    audio.playbackRate = Number(speed.value);
    if (pendingSeek !== null) {
      audio.currentTime = Math.min(pendingSeek, audio.duration || pendingSeek);
      pendingSeek = null;
    }
    wave.setDuration(audio.duration * 1000);
    if (resumeAfterLoad) {
      resumeAfterLoad = false;
      play();
    }
    update();
  });
  audio.addEventListener('play', () => {
    playBtn.textContent = '❚❚ Pause';
    playBtn.dataset.state = 'playing';
    playBtn.setAttribute('aria-pressed', 'true');
    if (!raf) raf = requestAnimationFrame(loop);
  });
  audio.addEventListener('pause', () => {
    playBtn.textContent = '▶ Play';
    playBtn.dataset.state = 'paused';
    playBtn.setAttribute('aria-pressed', 'false');
    update();
  });
  audio.addEventListener('timeupdate', update);
  audio.addEventListener('seeked', update);
  audio.addEventListener('ended', update);
  let closed = false;
  audio.addEventListener('error', () => {
    if (!closed) explainMediaError(audio);
  });

  function play() {
    audio.play().catch((err) => {
      if (err.name !== 'AbortError') showError({ title: 'Playback failed', detail: err.message });
    });
  }
  playBtn.addEventListener('click', () => (audio.paused ? play() : audio.pause()));
  speed.addEventListener('change', () => {
    audio.defaultPlaybackRate = Number(speed.value);
    audio.playbackRate = Number(speed.value);
  });
  channelSel.addEventListener('change', () => {
    channel = Number(channelSel.value);
    wave.setMuted(channel < 0 ? [] : [1 - channel]);
    setSource(channel, true);
  });

  const onKey = (e) => {
    if (e.key !== ' ' || e.target.closest('input, textarea, select, button, a, summary')) return;
    e.preventDefault();
    if (audio.paused) play();
    else audio.pause();
  };
  document.addEventListener('keydown', onKey);
  cleanups.push(() => document.removeEventListener('keydown', onKey));

  setSource(-1, false);

  // Peaks, reloaded when the width changes (one bucket per CSS pixel).
  let peaksCtl = null;
  async function loadPeaks() {
    if (peaksCtl) peaksCtl.abort();
    peaksCtl = new AbortController();
    const signal = peaksCtl.signal;
    try {
      const p = await get(paths.peaks(id) + query({ buckets: wave.width }), { signal });
      wave.setPeaks(p);
      update();
    } catch (err) {
      if (err.name === 'AbortError') return;
      wave.setFailed(`Waveform unavailable: ${err.title || err.message}`);
      showError(err, 'Waveform');
    }
  }
  loadPeaks();
  let resizeTimer = 0;
  const ro = new ResizeObserver(() => {
    if (!wave.resize()) return;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(loadPeaks, 300);
  });
  ro.observe(waveBox);
  cleanups.push(() => {
    closed = true;
    ro.disconnect();
    clearTimeout(resizeTimer);
    if (peaksCtl) peaksCtl.abort();
    cancelAnimationFrame(raf);
    audio.pause();
    audio.removeAttribute('src');
    audio.load();
  });

  return () => cleanups.forEach((f) => f());
}

/** explainMediaError fetches the failing media URL to show the API's problem text. */
async function explainMediaError(audio) {
  const src = audio.currentSrc || audio.src;
  if (!src) return;
  try {
    const res = await fetch(src, { headers: { Range: 'bytes=0-1' }, credentials: 'same-origin' });
    if (!res.ok) {
      showError(await problemFrom(res), 'Playback');
      return;
    }
    if (res.body) res.body.cancel().catch(() => {});
  } catch (_) { /* network failure: report the media error below */ }
  const codes = { 1: 'aborted', 2: 'network error', 3: 'cannot decode', 4: 'format not supported' };
  const code = audio.error ? audio.error.code : 0;
  showError({ title: 'Playback failed', detail: codes[code] || 'the audio could not be played' });
}

function downloadMenu(id, labels) {
  const note = h('p', { class: 'download-note', id: 'download-error', hidden: true });
  const progress = h('p', { class: 'progress', id: 'download-progress', role: 'status', hidden: true });
  const items = DOWNLOADS.map((d) => {
    // "WAV channel 0" → "WAV channel 0 (Agent Ann Lee · 5001)": who is on it.
    const who = d.channel >= 0 && labels && labels[d.channel] ? ` (${labels[d.channel]})` : '';
    const a = h('a', {
      href: mediaURL(id, { ...d, download: true }),
      class: 'download-link',
      dataset: { format: d.format, channel: d.channel, kbps: d.kbps },
      text: d.label + who,
    });
    a.addEventListener('click', (e) => onDownload(e, a, d));
    return h('li', null, a);
  });
  const el = h('details', { class: 'menu', id: 'download' },
    h('summary', { class: 'btn', text: 'Download ▾' }),
    h('div', { class: 'menu-body' }, h('ul', null, items), progress, note));

  async function onDownload(e, a, d) {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    if (a.classList.contains('busy')) return;
    a.classList.add('busy');
    a.setAttribute('aria-busy', 'true');
    // An MP3 is encoded on the server first: say so while the user waits.
    const started = Date.now();
    const say = () => {
      const secs = Math.round((Date.now() - started) / 1000);
      progress.textContent = `${d.format === 'mp3' ? 'Encoding' : 'Preparing'} ${d.label}…${secs >= 1 ? ` ${secs} s` : ''}`;
    };
    say();
    progress.hidden = false;
    const ticker = setInterval(say, 1000);
    const ctl = new AbortController();
    try {
      const res = await fetch(a.href, { credentials: 'same-origin', signal: ctl.signal });
      if (!res.ok) {
        const err = await problemFrom(res);
        note.textContent = `${d.label}: ${err.title}${err.detail ? ` — ${err.detail}` : ''}`;
        note.hidden = false;
        if (res.status === 501 && d.format === 'mp3') {
          for (const other of el.querySelectorAll('a[data-format="mp3"]')) other.classList.add('unavailable');
        }
        showError(err, `Download ${d.label}`);
        return;
      }
      note.hidden = true;
      a.classList.remove('unavailable');
      clearBanner();
      if (d.format === 'mp3') {
        // MP3 is encoded per request: keep this response rather than encode twice.
        saveBlob(await res.blob(), filenameFrom(res) || `${id}.mp3`);
      } else {
        // WAV is served from the file: let the browser download it itself.
        ctl.abort();
        window.location.assign(a.href);
      }
      el.open = false;
    } catch (err) {
      showError(err, `Download ${d.label}`);
    } finally {
      clearInterval(ticker);
      progress.hidden = true;
      a.classList.remove('busy');
      a.removeAttribute('aria-busy');
    }
  }
  return { el };
}

function details(rec, events) {
  const wrap = h('div', { class: 'details', id: 'recording-details' });
  const agent = agentLabel(rec.agent);
  const rule = rec.rule ? [rec.rule.name, rec.rule.group && `group ${rec.rule.group}`, rec.rule.action].filter(Boolean).join(' · ') : '';
  const retention = [rec.retention, rec.keep_until && `keep until ${fmtTime(rec.keep_until)}`, rec.retention_reason].filter(Boolean).join(' · ');
  wrap.append(card('Call', { id: 'meta-main' }, kv([
    ['Started', fmtTime(rec.started_at || rec.start_time)],
    ['Ended', fmtTime(rec.ended_at || rec.stop_time)],
    ['Duration', fmtDuration(recordingDurationMs(rec))],
    ['Status', rec.status_reason ? `${statusText(rec.status, rec.status_reason)} — ${rec.status} (${rec.status_reason})` : `${statusText(rec.status, rec.status_reason)} — ${rec.status}`],
    ['Direction', rec.direction],
    ['Recorded DN', rec.recorded_dn],
    ['Other DN', rec.other_dn],
    ['Agent', agent],
    ['ANI (caller)', rec.caller],
    ['DNIS (dialed)', rec.dialed],
    ['Tenant', rec.tenant],
    ['Mode', rec.mode],
    ['CallUUID', rec.call_uuid || rec.call_id],
    ['Record id', rec.record_id],
    ['Correlation', rec.correlation],
    ['Rule', rule],
    ['Retention', retention],
    ['Channels', rec.channels],
    ['Codecs', (rec.codecs || []).join(', ')],
    ['Format', rec.format],
    ['Size', rec.size_bytes ? fmtBytes(rec.size_bytes) : ''],
  ])));

  wrap.append(card('Parties', { id: 'meta-parties' }, (rec.parties || []).length
    ? table({ class: 'grid' }, ['Channel', 'Role', 'DN', 'Label', 'AOR', 'Name'],
      rec.parties.map((p) => h('tr', { dataset: { channel: p.channel } },
        [p.channel >= 0 ? p.channel : '— (no channel)', p.role, p.dn, p.label, p.aor, p.name].map((v) => h('td', { text: v ?? '' })))))
    : h('p', { class: 'muted', text: 'No parties.' })));

  wrap.append(card('Conversation segments', { id: 'meta-couples' }, (rec.couples || []).length
    ? table({ class: 'grid' }, ['From', 'To', 'This DN', 'Other DN', 'ConnID', 'CallUUID', 'External data'],
      rec.couples.map((c) => {
        const ext = Object.entries(c.external_data || {}).sort((a, b) => a[0].localeCompare(b[0]));
        return h('tr', null,
          h('td', { text: fmtClock(c.start_ms / 1000) }),
          h('td', { text: fmtClock(c.end_ms / 1000) }),
          h('td', { text: c.this_dn || '' }),
          h('td', { text: c.other_dn || '' }),
          h('td', { class: 'mono', text: c.conn_id || '' }),
          h('td', { class: 'mono', text: c.call_uuid || '' }),
          h('td', null, ext.length ? h('details', null, h('summary', { text: `${ext.length} keys` }), extTable(ext)) : ''));
      }))
    : h('p', { class: 'muted', text: 'No conversation segments.' })));

  const segs = (rec.segments || []).filter((s) => s.type !== 'recording');
  if (segs.length) {
    wrap.append(card('Pause and hold', { id: 'meta-segments' }, table({ class: 'grid' }, ['Type', 'Channel', 'From', 'To'],
      segs.map((s) => h('tr', null,
        h('td', { text: s.type }), h('td', { text: s.channel < 0 ? 'all' : s.channel }),
        h('td', { text: fmtClock(s.start_ms / 1000) }), h('td', { text: fmtClock(s.end_ms / 1000) }))))));
  }

  if (events.length) {
    wrap.append(card('Events', { id: 'meta-events' }, table({ class: 'grid' }, ['At', 'Type', 'Channel', 'Detail'],
      events.map((e) => h('tr', { dataset: { type: e.type } },
        h('td', { text: e.at_ms >= 0 ? fmtClock(e.at_ms / 1000) : fmtTime(e.at) }),
        h('td', { text: e.type }),
        h('td', { text: e.channel === undefined || e.channel === null || e.channel < 0 ? '' : e.channel }),
        h('td', { class: 'wrap', text: e.detail || '' }))))));
  }

  const groups = groupExternalData(rec.external_data);
  wrap.append(card('External data', { id: 'meta-external' }, groups.length
    ? groups.map((g) => h('details', {
      class: 'ext-group', id: `ext-${g.prefix || 'other'}`, dataset: { prefix: g.prefix || 'other' },
      open: g.prefix !== 'GEN_TEV_' && g.prefix !== 'GEN_CFG_',
    }, h('summary', null, g.label, h('span', { class: 'count', text: ` (${g.entries.length})` })), extTable(g.entries)))
    : h('p', { class: 'muted', text: 'No external data.' })));

  const media = rec.media_files || [];
  if (media.length) {
    wrap.append(card('Media files', { id: 'meta-media' }, table({ class: 'grid' }, ['Media id', 'Type', 'Duration', 'Size', 'Channels', 'Sample rate', 'Codec'],
      media.map((m) => h('tr', null,
        h('td', { class: 'mono', text: m.media_id || '' }), h('td', { text: m.type || '' }),
        h('td', { text: fmtDuration(m.duration_ms) }), h('td', { text: m.size ? fmtBytes(m.size) : '' }),
        h('td', { text: m.parameters?.channels ?? '' }), h('td', { text: m.parameters?.sample_rate ?? '' }),
        h('td', { text: m.parameters?.codec ?? '' }))))));
  }

  if (rec.metadata) {
    wrap.append(card('SIPREC metadata', { id: 'meta-siprec' },
      h('details', null, h('summary', { text: 'Show XML' }), h('pre', { class: 'code', text: rec.metadata }))));
  }
  return wrap;
}

function extTable(entries) {
  return h('table', { class: 'grid kvtable' }, h('tbody', null,
    entries.map(([k, v]) => h('tr', { dataset: { key: k } }, h('th', { class: 'mono', text: k }), h('td', { class: 'wrap', text: v })))));
}

/**
 * holdCard shows the recording's legal hold (a held recording is deleted by
 * nothing: retention, discard or erasure) and lets admins and supervisors
 * set one with a reason — on this recording or on every recording of its
 * call — or release it (docs/api.md "Legal holds").
 */
function holdCard(id, rec, ctx) {
  const role = ctx.user ? ctx.user.role : '';
  const staff = role === 'admin' || role === 'supervisor';
  const el = card(null, { id: 'hold-card' });
  const render = (hold) => {
    el.dataset.state = hold ? 'held' : 'free';
    const onCall = hold && hold.call_uuid ? ` (a hold on the whole call ${hold.call_uuid}, also its later recordings)` : '';
    const text = hold
      ? `On legal hold since ${fmtTime(hold.set_at)} by ${hold.set_by || 'unknown'}: ${hold.reason}${onCall}`
      : 'Not on legal hold: retention and erasure may delete this recording.';
    const body = [h('p', { id: 'hold-text', text })];
    if (staff && hold) {
      const buttons = [h('button', { type: 'button', id: 'hold-release', class: 'btn', text: 'Release hold', onclick: release })];
      if (hold.call_uuid) {
        buttons.push(h('button', { type: 'button', id: 'hold-release-call', class: 'btn', text: "Release the call's hold", onclick: releaseCall }));
      }
      body.push(h('div', { class: 'controls' }, ...buttons));
    } else if (staff) {
      const reason = h('input', { id: 'hold-reason', type: 'text', maxlength: '500', placeholder: 'Reason (case number, complaint)', 'aria-label': 'Reason for the legal hold' });
      const buttons = [h('button', { type: 'button', id: 'hold-set', class: 'btn btn-primary', text: 'Put on legal hold', onclick: () => set(reason.value) })];
      if (rec.call_uuid) {
        // every recording of the call (transfers, consultations): POST /holds {call_uuid}
        buttons.push(h('button', { type: 'button', id: 'hold-set-call', class: 'btn', text: 'Hold the whole call', title: `Every recording of call ${rec.call_uuid}`, onclick: () => set(reason.value, true) }));
      }
      body.push(h('div', { class: 'controls' }, reason, ...buttons));
    }
    fill(el, h('h2', { text: 'Legal hold' }), ...body);
  };
  const refresh = async () => {
    const r = await get(paths.recording(id));
    render(r.legal_hold);
  };
  const set = async (reason, wholeCall) => {
    if (!reason.trim()) {
      showError({ title: 'Legal hold', detail: 'give a reason (a case number, a complaint)' });
      return;
    }
    try {
      clearBanner();
      const target = wholeCall ? { call_uuid: rec.call_uuid } : { recording_id: id };
      await post(paths.holds(), { ...target, reason: reason.trim() });
      await refresh();
    } catch (err) {
      showError(err, 'Legal hold');
    }
  };
  const release = async () => {
    try {
      clearBanner();
      await del(paths.hold(id));
      await refresh();
    } catch (err) {
      showError(err, 'Release hold');
    }
  };
  const releaseCall = async () => {
    try {
      clearBanner();
      await del(paths.callHold(rec.call_uuid));
      await refresh();
    } catch (err) {
      showError(err, "Release the call's hold");
    }
  };
  render(rec.legal_hold);
  return el;
}
