// Live audio frames (no DOM): docs/api.md, GET /api/v1/live/{id}/listen.
// A binary message is one byte of channel number then little-endian signed
// 16-bit PCM at 8000 Hz.

export const SAMPLE_RATE = 8000;

/** decodeFrame returns {channel, samples: Float32Array in [-1, 1)} or null for a short message. */
export function decodeFrame(buf) {
  if (!(buf instanceof ArrayBuffer) || buf.byteLength < 1) return null;
  const dv = new DataView(buf);
  const channel = dv.getUint8(0);
  const n = (buf.byteLength - 1) >> 1;
  const samples = new Float32Array(n);
  for (let i = 0; i < n; i++) samples[i] = dv.getInt16(1 + 2 * i, true) / 32768;
  return { channel, samples };
}

/** level is the RMS of samples in [0, 1]. */
export function level(samples) {
  if (!samples || samples.length === 0) return 0;
  let sum = 0;
  for (let i = 0; i < samples.length; i++) sum += samples[i] * samples[i];
  return Math.sqrt(sum / samples.length);
}

/**
 * Scheduler places frames of one channel back to back on an audio clock
 * with a jitter buffer: the first frame (and the first after an underrun)
 * starts `jitter` seconds ahead of now; a frame that would start more than
 * `maxAhead` seconds ahead is dropped so latency cannot grow without bound.
 */
export class Scheduler {
  constructor(jitter = 0.2, maxAhead = 1.0) {
    this.jitter = jitter;
    this.maxAhead = maxAhead;
    this.next = 0;
    this.underruns = 0;
    this.dropped = 0;
  }

  /** place returns the start time of a frame of `duration` seconds, or -1 to drop it. */
  place(now, duration) {
    if (this.next < now) {
      if (this.next > 0) this.underruns++;
      this.next = now + this.jitter;
    } else if (this.next - now > this.maxAhead) {
      this.dropped++;
      return -1;
    }
    const at = this.next;
    this.next += duration;
    return at;
  }
}
