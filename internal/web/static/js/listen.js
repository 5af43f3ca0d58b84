// Live listening: the WebSocket of GET /api/v1/live/{id}/listen played with
// the Web Audio API. Frames become 8 kHz AudioBuffers (the browser resamples)
// scheduled back to back per channel behind a ~200 ms jitter buffer; with
// both channels, party 0 is panned left and party 1 right.

import { paths } from './api.js';
import { decodeFrame, level, SAMPLE_RATE, Scheduler } from './pcm.js';

const JITTER_S = 0.2;
const MAX_AHEAD_S = 1.0;
const PAN = 0.7;

/** listenURL is the WebSocket URL for a recording and channel (-1, 0 or 1). */
export function listenURL(recordingId, channel) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${location.host}${paths.listen(recordingId)}?channel=${encodeURIComponent(channel)}`;
}

/**
 * LiveListener plays one recording's live audio. Callbacks: onOpen(),
 * onLevel(channel, rms), onEnd(message, isError). Create it in a click
 * handler so the AudioContext may start.
 */
export class LiveListener {
  constructor(recordingId, channel, callbacks = {}) {
    this.recordingId = recordingId;
    this.channel = Number(channel);
    this.cb = callbacks;
    this.stopped = false;
    this.frames = 0;
    this.ctx = new AudioContext({ latencyHint: 'interactive' });
    this.out = [0, 1].map((ch) => {
      const pan = this.ctx.createStereoPanner();
      pan.pan.value = this.channel === -1 ? (ch === 0 ? -PAN : PAN) : 0;
      pan.connect(this.ctx.destination);
      return { pan, sched: new Scheduler(JITTER_S, MAX_AHEAD_S) };
    });
    this.ws = new WebSocket(listenURL(recordingId, this.channel));
    this.ws.binaryType = 'arraybuffer';
    this.ws.onopen = () => {
      if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
      if (this.cb.onOpen) this.cb.onOpen();
    };
    this.ws.onmessage = (ev) => this.onMessage(ev.data);
    this.ws.onerror = () => {};
    this.ws.onclose = (ev) => this.onClose(ev);
  }

  onMessage(data) {
    if (this.stopped || !(data instanceof ArrayBuffer)) return;
    const f = decodeFrame(data);
    if (!f || f.samples.length === 0 || f.channel > 1) return;
    this.frames++;
    const o = this.out[f.channel];
    const dur = f.samples.length / SAMPLE_RATE;
    const at = o.sched.place(this.ctx.currentTime, dur);
    if (this.cb.onLevel) this.cb.onLevel(f.channel, level(f.samples));
    if (at < 0) return;
    const buf = this.ctx.createBuffer(1, f.samples.length, SAMPLE_RATE);
    buf.copyToChannel(f.samples, 0);
    const src = this.ctx.createBufferSource();
    src.buffer = buf;
    src.connect(o.pan);
    src.start(at);
  }

  onClose(ev) {
    const byUser = this.stopped;
    this.shutdown();
    if (byUser || !this.cb.onEnd) return;
    if (ev.code === 1000 || ev.code === 1001) {
      this.cb.onEnd('Live audio ended (the call finished).', false);
    } else if (this.frames === 0) {
      this.cb.onEnd(`Could not listen to ${this.recordingId}: the connection was refused or closed (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''}).`, true);
    } else {
      this.cb.onEnd(`Live audio connection lost (code ${ev.code}${ev.reason ? `, ${ev.reason}` : ''}).`, true);
    }
  }

  shutdown() {
    this.stopped = true;
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) this.ws.close(1000);
    if (this.ctx.state !== 'closed') this.ctx.close().catch(() => {});
  }

  /** stop ends listening; it is safe to call more than once. */
  stop() {
    if (this.stopped) return;
    this.shutdown();
  }
}
