// Unit tests of the UI's pure modules, run by TestJSUnit (web_test.go) with
// `node --test` after copying static/js next to this file as ./js/.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ApiError, paths, problemFrom, query } from './js/api.js';
import { agentLabel, channelRoleLabel, fmtBytes, fmtClock, fmtDuration, groupExternalData, parseRoute, partyLabel, statusText, toLocalInput, toRFC3339, transcodeState } from './js/format.js';
import { canControl, confirmOp, controlKey, controlNotice, controlRequest, elapsedMs, liveOps, liveStatus, partyOps } from './js/livestate.js';
import { decodeFrame, level, Scheduler } from './js/pcm.js';
import { apiQuery, queryFromValues, valuesFromQuery } from './js/searchquery.js';

test('fmtDuration and fmtClock', () => {
  const cases = [[0, '00:00'], [999, '00:00'], [65000, '01:05'], [599000, '09:59'], [3723000, '1:02:03']];
  for (const [ms, want] of cases) assert.equal(fmtDuration(ms), want, `fmtDuration(${ms})`);
  assert.equal(fmtDuration(null), '—');
  assert.equal(fmtDuration(undefined), '—');
  assert.equal(fmtDuration(-5), '—');
  assert.equal(fmtClock(NaN), '--:--');
  assert.equal(fmtClock(Infinity), '--:--');
});

test('fmtBytes', () => {
  assert.equal(fmtBytes(512), '512 B');
  assert.equal(fmtBytes(1536), '1.5 KiB');
  assert.equal(fmtBytes(50 * 1024 * 1024), '50 MiB');
  assert.equal(fmtBytes('x'), '');
});

test('datetime-local round trip (TZ from the environment)', () => {
  const iso = toRFC3339('2024-03-05T14:30');
  assert.equal(iso, new Date(2024, 2, 5, 14, 30).toISOString().replace('.000Z', 'Z'));
  assert.equal(toLocalInput(iso), '2024-03-05T14:30');
  assert.equal(toLocalInput(toRFC3339('2024-03-05T14:30:15')), '2024-03-05T14:30:15');
  assert.equal(toRFC3339(''), '');
  assert.equal(toRFC3339('garbage'), '');
  assert.equal(toLocalInput('garbage'), '');
});

test('parseRoute', () => {
  const r = parseRoute('#/recording/01HX%2FY?x=1&x=2');
  assert.deepEqual(r.parts, ['recording', '01HX/Y']);
  assert.deepEqual(r.query.getAll('x'), ['1', '2']);
  assert.deepEqual(parseRoute('').parts, []);
  assert.deepEqual(parseRoute('#search').parts, ['search']);
  assert.deepEqual(parseRoute('#/admin/rules').parts, ['admin', 'rules']);
});

test('groupExternalData keeps the prefix order and sorts keys', () => {
  const g = groupExternalData({ ZZ: '1', GEN_USR_b: '2', GEN_TEV_x: '3', GEN_USR_a: null, GEN_REC_FAILURE: 'no-rtp' });
  assert.deepEqual(g.map((x) => x.prefix), ['GEN_TEV_', 'GEN_USR_', 'GEN_REC_', '']);
  assert.deepEqual(g[1].entries, [['GEN_USR_a', ''], ['GEN_USR_b', '2']]);
  assert.deepEqual(groupExternalData(null), []);
});

test('labels', () => {
  assert.equal(agentLabel({ id: '1001', name: 'Ann' }), 'Ann (1001)');
  assert.equal(agentLabel({ id: '1001' }), '1001');
  assert.equal(agentLabel(null), '');
  const parties = [{ channel: 0, role: 'agent', dn: '2001', name: 'Ann' }, { channel: 1, role: 'customer', dn: '+3312345' }];
  assert.equal(partyLabel(parties, 0), 'ch0 · agent · 2001 · Ann');
  assert.equal(partyLabel(parties, 1), 'ch1 · customer · +3312345');
  assert.equal(partyLabel([], 1), 'ch1');
  // With the recording: people, not channel numbers.
  const msr = [{ channel: 0, role: 'recorded', dn: '5001' }, { channel: 1, role: 'other', dn: '+15551230001' }];
  const rec = { agent: { id: '1001', name: 'Ann Lee' }, caller: '+15551230001', external_data: {} };
  assert.equal(partyLabel(msr, 0, rec), 'Agent Ann Lee · 5001');
  assert.equal(partyLabel(msr, 1, rec), 'Customer · +15551230001');
  const consult = [{ channel: 0, role: 'recorded', dn: '5001' }, { channel: 1, role: 'other', dn: '5002' }];
  assert.equal(partyLabel(consult, 1, { agent: {}, external_data: { GEN_CFG_FULLNAME: 'Ann Lee' } }), 'Other party · 5002');
  assert.equal(partyLabel(consult, 0, { agent: {}, external_data: { GEN_CFG_FULLNAME: 'Ann Lee' } }), 'Agent Ann Lee · 5001');
  assert.equal(partyLabel(msr, 0, { agent: {}, external_data: {} }), 'ch0 · recorded · 5001');
  assert.equal(channelRoleLabel({ channel: 0, role: 'agent' }), 'Agent');
  assert.equal(channelRoleLabel({ channel: 1, role: 'customer' }), 'Customer');
  assert.equal(channelRoleLabel({ channel: 1, role: 'party' }), 'Party 1');
});

test('statusText says the status in plain words', () => {
  const cases = [
    ['completed', 'bye', 'ended normally'],
    ['completed', '', 'ended normally'],
    ['completed', 'media timeout: no RTP for 30s', 'ended: the audio stopped (media timeout)'],
    ['partial', 'one-legged: second MSR leg never arrived; ended: bye', 'one party missing'],
    ['partial', 'cut short: recorder stopped', 'cut short when the recorder stopped'],
    ['partial', 'recovered after unclean shutdown', 'recovered after a crash'],
    ['failed', 'no RTP received (bye)', 'no audio received'],
    ['failed', 'write: disk full', 'could not be written'],
    ['recording', '', 'recording now'],
    ['weird', '', 'weird'],
  ];
  for (const [st, reason, want] of cases) assert.equal(statusText(st, reason), want, `${st} / ${reason}`);
});

test('search query: form values to hash/API query and back', () => {
  const values = {
    since: '2024-03-05T08:00', until: '', min_duration: '10', max_duration: '', dn: '20*', agent: '', ani: '', dnis: '',
    call_uuid: '', conn_id: '', tenant: 'acme', status: 'failed', direction: 'Inbound', mode: '', sort: '-started_at',
    ext: [['GEN_USR_Customer', 'A*'], ['GEN_EXT_x', ''], ['', 'ignored']],
  };
  const q = queryFromValues(values);
  assert.equal(q.get('sort'), null, 'the default sort is left out');
  assert.equal(q.get('min_duration'), '10');
  assert.equal(q.get('dn'), '20*');
  assert.deepEqual(q.getAll('ext'), ['GEN_USR_Customer:A*', 'GEN_EXT_x:*']);
  assert.match(q.get('since'), /Z$/);
  const back = valuesFromQuery(new URLSearchParams(q.toString()));
  assert.equal(back.since, '2024-03-05T08:00');
  assert.equal(back.sort, '-started_at');
  assert.equal(back.status, 'failed');
  assert.deepEqual(back.ext, [['GEN_USR_Customer', 'A*'], ['GEN_EXT_x', '*']]);

  const first = apiQuery(q, null);
  assert.equal(first.get('count'), 'true');
  assert.equal(first.get('limit'), '50');
  assert.equal(first.get('sort'), '-started_at');
  assert.equal(first.get('cursor'), null);
  const next = apiQuery(q, 'CUR');
  assert.equal(next.get('cursor'), 'CUR');
  assert.equal(next.get('count'), null);
  assert.deepEqual(next.getAll('ext'), ['GEN_USR_Customer:A*', 'GEN_EXT_x:*']);
});

test('liveStatus follows the contract definition of a failed call', () => {
  const ok = (ch) => ({ channel: ch, dn: `20${ch}`, audio_arriving: true });
  const call = { recording_id: 'R1', call_uuid: 'U1', channels: [ok(0), ok(1)] };
  assert.equal(liveStatus(call, []), null);

  const silent = { ...call, channels: [ok(0), { channel: 1, dn: '3001', audio_arriving: false }] };
  const s = liveStatus(silent, []);
  assert.equal(s.label, 'no audio');
  assert.match(s.reasons[0], /channel 1 \(DN 3001\)/);

  const alert = liveStatus(call, [{ call_uuid: 'U1', alerts: ['one-leg'], parties: [] }]);
  assert.equal(alert.label, 'recording failed');
  assert.deepEqual(alert.reasons, ['alert one-leg']);

  const byRecordingId = liveStatus(call, [{ call_uuid: 'other', parties: [{ dn: '2001', monitored: true, recording_id: 'R1', recording_state: 'failed' }] }]);
  assert.equal(byRecordingId.label, 'recording failed');

  const unmonitored = liveStatus(call, [{ call_uuid: 'U1', parties: [{ dn: '2001', monitored: false, recording_state: 'failed' }] }]);
  assert.equal(unmonitored, null);

  const unrelated = liveStatus(call, [{ call_uuid: 'U2', alerts: ['no-rtp'] }]);
  assert.equal(unrelated, null);
});

test('recording control: buttons, request, notice', () => {
  assert.ok(canControl('admin'));
  assert.ok(canControl('supervisor'));
  assert.ok(!canControl('agent'));
  assert.ok(!canControl(undefined));

  assert.deepEqual(liveOps({ paused: false }), ['pause', 'stop']);
  assert.deepEqual(liveOps({ paused: true }), ['resume', 'stop']);

  const cases = [
    [{ monitored: true, recording_state: '' }, ['start']],
    [{ monitored: true }, ['start']],
    [{ monitored: true, recording_state: 'stopped' }, ['start']],
    [{ monitored: true, recording_state: 'failed' }, ['start']],
    [{ monitored: true, recording_state: 'on' }, []],
    [{ monitored: true, recording_state: 'requested' }, []],
    [{ monitored: true, recording_state: 'paused' }, []],
    [{ monitored: false, recording_state: '' }, []],
    [{ monitored: true, recording_state: 'on', decision: 'prerecord' }, ['keep', 'discard']],
    [{ monitored: true, recording_state: 'stopped', decision: 'prerecord' }, ['start', 'keep', 'discard']],
  ];
  for (const [party, want] of cases) assert.deepEqual(partyOps(party), want, JSON.stringify(party));

  assert.ok(confirmOp('stop') && confirmOp('discard'));
  assert.ok(!confirmOp('pause') && !confirmOp('start') && !confirmOp('keep') && !confirmOp('resume'));

  assert.deepEqual(controlRequest('pause', '5004', 'U1', 'C1'), { op: 'pause', dn: '5004', call_uuid: 'U1' });
  assert.deepEqual(controlRequest('start', '5004', '', 'C1'), { op: 'start', dn: '5004', conn_id: 'C1' });
  assert.deepEqual(controlRequest('stop', '', undefined, undefined), { op: 'stop' });
  assert.notEqual(controlKey(controlRequest('stop', '5004', 'U1')), controlKey(controlRequest('stop', '5004', 'U2')));

  const n = controlNotice({ op: 'pause', dn: '5004' }, { op: 'pause', dn: '5004', call_uuid: 'U1', record_id: 'R9', state: 'requested' });
  assert.equal(n.text, 'pause requested for 5004');
  assert.equal(n.detail, 'call U1 · record R9');
  assert.equal(controlNotice({ op: 'keep', call_uuid: 'U1' }, { op: 'keep', state: 'applied' }).text, 'keep applied for U1');
});

test('elapsedMs', () => {
  assert.equal(elapsedMs('2024-01-01T00:00:00Z', Date.parse('2024-01-01T00:01:05Z')), 65000);
  assert.equal(elapsedMs('2024-01-01T00:00:10Z', Date.parse('2024-01-01T00:00:00Z')), 0);
  assert.equal(elapsedMs('nope', 0), null);
});

test('decodeFrame', () => {
  const f = decodeFrame(new Uint8Array([1, 0x00, 0x80, 0xff, 0x7f, 0x00, 0x00]).buffer);
  assert.equal(f.channel, 1);
  assert.deepEqual(Array.from(f.samples), [-1, 32767 / 32768, 0]);
  assert.equal(decodeFrame(new ArrayBuffer(0)), null);
  assert.equal(decodeFrame('text'), null);
  assert.equal(decodeFrame(new Uint8Array([0, 1]).buffer).samples.length, 0, 'a trailing odd byte is ignored');
  assert.equal(level(new Float32Array([0.5, -0.5])), 0.5);
  assert.equal(level(new Float32Array(0)), 0);
});

test('Scheduler: jitter buffer, back to back, underrun, overflow', () => {
  const s = new Scheduler(0.2, 1.0);
  assert.equal(s.place(10, 0.02), 10.2);
  assert.ok(Math.abs(s.place(10.01, 0.02) - 10.22) < 1e-9);
  assert.equal(s.place(20, 0.02), 20.2, 'an underrun restarts behind the jitter buffer');
  assert.equal(s.underruns, 1);
  const t = new Scheduler(0.2, 0.3);
  let dropped = 0;
  for (let i = 0; i < 20; i++) if (t.place(0, 0.02) < 0) dropped++;
  assert.ok(dropped > 0 && t.dropped === dropped, 'frames beyond maxAhead are dropped');
});

test('api helpers', async () => {
  assert.equal(query({ a: 1, b: '', c: null, d: 'x y' }), '?a=1&d=x+y');
  assert.equal(query({}), '');
  assert.equal(paths.recording('a/b'), '/api/v1/recordings/a%2Fb');
  assert.equal(paths.user('j.doe@x'), '/api/v1/admin/users/j.doe%40x');
  const p = await problemFrom(new Response(JSON.stringify({ type: 'about:blank', title: 'Not Implemented', status: 501, detail: 'no MP3 encoder' }),
    { status: 501, headers: { 'Content-Type': 'application/problem+json' } }));
  assert.ok(p instanceof ApiError);
  assert.equal(p.status, 501);
  assert.equal(p.title, 'Not Implemented');
  assert.equal(p.detail, 'no MP3 encoder');
  const t = await problemFrom(new Response('boom', { status: 500, statusText: 'Internal Server Error' }));
  assert.equal(t.title, '500 Internal Server Error');
  assert.equal(t.detail, 'boom');
});

import { backoff, ChunkUploader, contentRange, heldFrom } from './js/screenupload.js';
import { audioTimeFor, drifted, videoTimeFor } from './js/screensync.js';
import { captureConstraints, pickMimeType } from './js/screen.js';

test('screen upload: Content-Range, Range, backoff', () => {
  assert.equal(contentRange(0, 100, -1), 'bytes 0-99/*');
  assert.equal(contentRange(100, 50, 150), 'bytes 100-149/150');
  assert.equal(contentRange(150, 0, 150), 'bytes */150');
  assert.equal(heldFrom('bytes=0-99'), 100);
  assert.equal(heldFrom(''), 0);
  assert.equal(heldFrom('bytes=5-9'), 0);
  assert.deepEqual([0, 1, 2, 3, 10].map((n) => backoff(n)), [500, 1000, 2000, 4000, 8000]);
});

// A fake server: holds byte ranges, answers 308/201 like the API, and
// fails the first attempt of the second chunk (a network drop).
function fakeServer() {
  const srv = { held: [], total: -1, calls: [], failNext: 0 };
  srv.fetch = async (url, init) => {
    srv.calls.push(init.headers['Content-Range']);
    if (srv.failNext > 0) {
      srv.failNext--;
      throw new TypeError('network error');
    }
    const m = /^bytes (?:(\d+)-(\d+)|\*)\/(\d+|\*)$/.exec(init.headers['Content-Range']);
    if (m[1] !== undefined) {
      const bytes = new Uint8Array(await init.body.arrayBuffer());
      for (let i = 0; i < bytes.length; i++) srv.held[Number(m[1]) + i] = bytes[i];
    }
    if (m[3] !== '*') srv.total = Number(m[3]);
    let prefix = 0;
    while (srv.held[prefix] !== undefined) prefix++;
    const complete = srv.total >= 0 && prefix >= srv.total;
    return { status: complete ? 201 : 308, headers: new Map([['Range', prefix ? `bytes=0-${prefix - 1}` : '']]) };
  };
  return srv;
}

test('screen upload: chunks in order, a dropped request retried, the size named at the end', async () => {
  const srv = fakeServer();
  const states = [];
  const seen = [];
  const fetchFn = (url, init) => {
    seen.push(init.headers['X-Screen-Started-Ago-Ms']);
    return srv.fetch(url, init);
  };
  const up = new ChunkUploader('/api/v1/recordings/R/screen', {
    fetchFn, sleep: async () => {}, onState: (s) => states.push(s), headers: { 'X-Screen-Width': '640' },
    headerFn: (sent) => (sent === 0 ? { 'X-Screen-Started-Ago-Ms': '1200' } : {}),
  });
  up.push(new Blob([new Uint8Array([1, 2, 3])]));
  srv.failNext = 1;
  up.push(new Blob([new Uint8Array([4, 5])]));
  up.push(new Blob([])); // empty chunks are skipped
  assert.equal(await up.finish(), true);
  assert.deepEqual(Array.from(srv.held), [1, 2, 3, 4, 5]);
  assert.equal(srv.total, 5);
  assert.ok(states.includes('retrying') && states.at(-1) === 'done', states.join(','));
  assert.equal(up.held, 5);
  // Only the first request (it succeeded) carries it; the dropped second chunk was sent twice.
  assert.deepEqual(seen, ['1200', undefined, undefined]);
});

test('screen upload: the last chunk already sent, a status query names the size', async () => {
  const srv = fakeServer();
  const up = new ChunkUploader('/u', { fetchFn: srv.fetch, sleep: async () => {} });
  up.push(new Blob([new Uint8Array([9, 9])]));
  await up.pumping;
  assert.equal(await up.finish(), true);
  assert.equal(srv.calls.at(-1), 'bytes */2');
});

test('screen upload: a refusal stops, a full queue drops', async () => {
  const up = new ChunkUploader('/u', { fetchFn: async () => ({ status: 415, headers: new Map() }), sleep: async () => {} });
  up.push(new Blob([new Uint8Array([1])]));
  assert.equal(await up.finish(), false);
  assert.match(up.error.message, /415/);
  const small = new ChunkUploader('/u', { fetchFn: () => new Promise(() => {}), maxQueued: 4 });
  assert.equal(small.push(new Blob([new Uint8Array(3)])), true);
  assert.equal(small.push(new Blob([new Uint8Array(3)])), false);
});

test('screen sync: video time = audio time - offset', () => {
  assert.equal(videoTimeFor(10, 1.5), 8.5);
  assert.equal(videoTimeFor(1, 1.5), 0);
  assert.equal(audioTimeFor(8.5, 1.5), 10);
  assert.equal(drifted(8.5, 8.6), false);
  assert.equal(drifted(8.5, 9.0), true);
});

test('screen capture settings', () => {
  assert.equal(pickMimeType((t) => t.includes('vp8')), 'video/webm;codecs=vp8');
  assert.equal(pickMimeType(() => true), 'video/webm;codecs=vp9');
  assert.equal(pickMimeType(() => false), '');
  assert.deepEqual(captureConstraints({ frame_rate: 10, max_width: 1280, max_height: 720 }),
    { frameRate: { ideal: 10, max: 10 }, width: { max: 1280 }, height: { max: 720 } });
  assert.equal(captureConstraints(null).frameRate.max, 5);
});

test('transcodeState', () => {
  assert.equal(transcodeState({ id: 'R1' }), null);
  assert.equal(transcodeState(null), null);
  const cases = [
    [{ needs_transcode: true }, 'needs transcode', 'warn', 'none'],
    [{ needs_transcode: true, transcode: { state: 'waiting' } }, 'needs transcode', 'warn', 'waiting'],
    [{ needs_transcode: true, transcode: { state: 'queued' } }, 'transcoding', 'info', 'queued'],
    [{ needs_transcode: true, transcode: { state: 'running' } }, 'transcoding', 'info', 'running'],
    [{ needs_transcode: true, transcode: { state: 'failed', last_error: 'boom' } }, 'transcode failed', 'error', 'failed'],
    [{ needs_transcode: false, transcode: { state: 'done' } }, 'transcoded', 'neutral', 'done'],
  ];
  for (const [rec, label, kind, state] of cases) {
    const got = transcodeState({ id: 'R1', ...rec });
    assert.equal(got.label, label, JSON.stringify(rec));
    assert.equal(got.kind, kind);
    assert.equal(got.state, state);
  }
  assert.match(transcodeState({ id: 'R1', needs_transcode: true, transcode: { state: 'failed', last_error: 'boom' } }).title, /boom.*transcode R1/);
});
