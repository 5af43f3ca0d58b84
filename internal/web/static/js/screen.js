// The screen-recording page (#/screen) an agent keeps open during its
// shift. The agent shares its screen once (a browser asks for a click);
// then every voice recording of the agent that asks for screen recording
// (the server's event stream, GET /api/v1/screen/events) starts a
// MediaRecorder on that screen within a second, blanks it during pauses
// (the automatic PCI pause too) by disabling the recorded track — a
// disabled video track records black frames, so the video keeps the
// audio's timeline — and stops it with the recording. Each chunk
// (timeslice 1 s) is uploaded as it is made (screenupload.js).
//
// ?source=canvas records a drawn test pattern instead of the screen (tests
// and demonstrations on machines without a screen to share).

import { csrf, paths } from './api.js';
import { byId, card, fill, h } from './dom.js';
import { ChunkUploader } from './screenupload.js';

const TIMESLICE_MS = 1000;
// The encoder's bitrate ceiling: a screen is mostly still text, 600 kbit/s
// keeps 1080p legible and bounds the upload (Chrome's default is 2.5 Mbit/s).
const VIDEO_BITS_PER_SECOND = 600000;

/** pickMimeType returns the first WebM type the browser records (VP9, then VP8). */
export function pickMimeType(isSupported) {
  for (const t of ['video/webm;codecs=vp9', 'video/webm;codecs=vp8', 'video/webm']) {
    if (isSupported(t)) return t;
  }
  return '';
}

/** captureConstraints are the getDisplayMedia video constraints of a capture setting. */
export function captureConstraints(c) {
  const fps = c && c.frame_rate > 0 ? c.frame_rate : 5;
  return {
    frameRate: { ideal: fps, max: fps },
    width: { max: c && c.max_width > 0 ? c.max_width : 1920 },
    height: { max: c && c.max_height > 0 ? c.max_height : 1080 },
  };
}

function canvasSource(capture, signal) {
  const c = captureConstraints(capture);
  const canvas = h('canvas', { id: 'screen-canvas', width: Math.min(640, c.width.max), height: Math.min(360, c.height.max) });
  const g = canvas.getContext('2d');
  let n = 0;
  const draw = () => {
    n++;
    g.fillStyle = `hsl(${(n * 7) % 360} 60% 45%)`;
    g.fillRect(0, 0, canvas.width, canvas.height);
    g.fillStyle = '#fff';
    g.font = '32px sans-serif';
    g.fillText(`openrec test screen ${new Date().toISOString()}`, 16, canvas.height / 2);
  };
  draw();
  const timer = setInterval(draw, 1000 / c.frameRate.max);
  signal.addEventListener('abort', () => clearInterval(timer));
  return { stream: canvas.captureStream(c.frameRate.max), canvas };
}

export function render(main, ctx) {
  const state = h('span', { id: 'screen-state', class: 'badge', text: 'not sharing' });
  const share = h('button', { type: 'button', id: 'screen-share', class: 'btn btn-primary', text: 'Share my screen' });
  const log = h('ul', { id: 'screen-log', class: 'plain-list' });
  const preview = h('div', { class: 'screen-preview' });
  const page = h('div', { id: 'page-screen', class: 'page', dataset: { state: 'idle' } },
    card('Screen recording', null,
      h('p', null, 'Keep this page open while you take calls. When a call of yours is recorded with screen, your shared screen is recorded with it and uploaded as it goes; during a pause (card payments) the video is black.'),
      h('div', { class: 'controls' }, share, state),
      preview),
    card('Activity', null, log));
  fill(main, page);

  const sessions = new Map(); // recording id → {recorder, track, uploader}
  let stream = null;
  let capture = null;
  const useCanvas = ctx.query.get('source') === 'canvas';

  const note = (text) => {
    log.prepend(h('li', { text: `${new Date().toLocaleTimeString()} ${text}` }));
    while (log.children.length > 50) log.lastChild.remove();
  };
  const setState = (s, text) => {
    page.dataset.state = s;
    state.textContent = text || s;
  };
  const refresh = () => {
    if (!stream) return setState('idle', 'not sharing');
    const any = [...sessions.values()];
    if (any.some((x) => !x.track.enabled)) return setState('paused', 'paused (screen blank)');
    if (any.length > 0) return setState('recording', 'recording');
    return setState('ready', 'sharing — waiting for a recorded call');
  };

  async function startSharing() {
    try {
      if (useCanvas) {
        const src = canvasSource(capture, ctx.signal);
        stream = src.stream;
        preview.append(src.canvas);
      } else {
        stream = await navigator.mediaDevices.getDisplayMedia({ video: captureConstraints(capture), audio: false });
      }
    } catch (err) {
      note(`screen not shared: ${err.message || err}`);
      return;
    }
    const [track] = stream.getVideoTracks();
    track.addEventListener('ended', () => {
      note('screen sharing ended: recordings in progress stop');
      for (const id of [...sessions.keys()]) stop(id);
      stream = null;
      share.disabled = false;
      refresh();
    });
    share.disabled = true;
    note('screen shared');
    refresh();
  }
  share.addEventListener('click', startSharing);

  function start(ev, receivedAt) {
    if (sessions.has(ev.recording_id)) return;
    if (!stream) {
      note(`recording ${ev.recording_id} asked for the screen, but it is not shared`);
      return;
    }
    const own = stream.clone(); // its own track: blanking one recording leaves others alone
    const [track] = own.getVideoTracks();
    const mimeType = pickMimeType((t) => MediaRecorder.isTypeSupported(t));
    const recorder = new MediaRecorder(own, mimeType ? { mimeType, videoBitsPerSecond: VIDEO_BITS_PER_SECOND } : { videoBitsPerSecond: VIDEO_BITS_PER_SECOND });
    const settings = track.getSettings();
    let startedAt = 0; // performance.now() of the recorder's start
    const uploader = new ChunkUploader(ev.upload_url || paths.screenUpload(ev.recording_id), {
      csrf,
      contentType: recorder.mimeType || mimeType || 'video/webm',
      headers: { 'X-Screen-Width': String(settings.width || 0), 'X-Screen-Height': String(settings.height || 0) },
      // The first stored chunk places the video on the call's timeline.
      headerFn: (sent) => (sent === 0 && startedAt ? { 'X-Screen-Started-Ago-Ms': String(Math.round(performance.now() - startedAt)) } : {}),
      onState: (s, err) => {
        if (s === 'failed') note(`upload of ${ev.recording_id} failed: ${err.message}`);
        if (s === 'done') note(`recording ${ev.recording_id}: screen video uploaded`);
        if (s === 'retrying') page.dataset.upload = 'retrying';
        if (s === 'uploading') page.dataset.upload = 'ok';
      },
    });
    recorder.addEventListener('dataavailable', (e) => uploader.push(e.data));
    recorder.addEventListener('start', () => {
      startedAt = performance.now();
      page.dataset.startDelayMs = String(Math.max(0, Math.round(startedAt - receivedAt)));
    });
    recorder.addEventListener('stop', () => {
      own.getTracks().forEach((t) => t.stop());
      uploader.finish();
    });
    sessions.set(ev.recording_id, { recorder, track, uploader });
    recorder.start(TIMESLICE_MS);
    note(`recording ${ev.recording_id} (DN ${ev.dn}): screen recording started`);
    refresh();
  }

  function setPaused(id, paused, reason) {
    const s = sessions.get(id);
    if (!s) return;
    s.track.enabled = !paused;
    note(`recording ${id}: ${paused ? 'paused' : 'resumed'}${reason ? ` (${reason})` : ''}`);
    refresh();
  }

  function stop(id) {
    const s = sessions.get(id);
    if (!s) return;
    sessions.delete(id);
    if (s.recorder.state !== 'inactive') s.recorder.stop();
    note(`recording ${id}: screen recording stopped`);
    refresh();
  }

  const es = new EventSource(paths.screenEvents());
  const handle = (kind) => (msg) => {
    const at = performance.now();
    let ev;
    try {
      ev = JSON.parse(msg.data);
    } catch (_) {
      return;
    }
    if (kind === 'hello') {
      capture = ev.capture || capture;
      page.dataset.agent = ev.agent || '';
      byId('screen-agent').textContent = ev.agent ? `agent ${ev.agent}` : '';
      if (ev.capture && stream && !useCanvas) {
        stream.getVideoTracks()[0].applyConstraints(captureConstraints(ev.capture)).catch(() => {});
      }
      return;
    }
    if (ev.capture) capture = ev.capture;
    if (kind === 'start') start(ev, at);
    else if (kind === 'pause') setPaused(ev.recording_id, true, ev.reason);
    else if (kind === 'resume') setPaused(ev.recording_id, false, ev.reason);
    else if (kind === 'stop') stop(ev.recording_id);
    else if (kind === 'end') {
      note(`event stream ended: ${ev.reason || ''}`);
      es.close();
    }
  };
  for (const k of ['hello', 'start', 'pause', 'resume', 'stop', 'end']) es.addEventListener(k, handle(k));
  es.addEventListener('open', () => { page.dataset.stream = 'open'; });
  es.addEventListener('error', () => { page.dataset.stream = 'reconnecting'; });
  page.querySelector('.controls').append(h('span', { id: 'screen-agent', class: 'muted' }));

  return () => {
    es.close();
    for (const id of [...sessions.keys()]) stop(id);
    if (stream) stream.getTracks().forEach((t) => t.stop());
  };
}
