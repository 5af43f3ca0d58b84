// Chunked, resumable upload of a screen video as it is recorded
// (POST /api/v1/recordings/{id}/screen, docs/api.md): each MediaRecorder
// chunk is one byte range, sent in order and retried until the server holds
// it; the size is named once the recorder stopped. A network drop costs at
// most the chunks still queued; a dead browser leaves the bytes already
// held, which play as a prefix.

const RETRY_STATUS = new Set([0, 408, 425, 429, 500, 502, 503, 504]);

/** contentRange is the Content-Range of bytes [start, start+len) of a video of total bytes (-1: unknown). */
export function contentRange(start, len, total) {
  const t = total >= 0 ? String(total) : '*';
  if (len === 0) return `bytes */${t}`;
  return `bytes ${start}-${start + len - 1}/${t}`;
}

/** heldFrom reads the bytes the server holds from its start: "bytes=0-N" → N+1. */
export function heldFrom(rangeHeader) {
  const m = /^bytes=0-(\d+)$/.exec(rangeHeader || '');
  return m ? Number(m[1]) + 1 : 0;
}

/** backoff is the wait before retry n (0-based): 500 ms doubling, at most max. */
export function backoff(n, base = 500, max = 8000) {
  return Math.min(max, base * 2 ** Math.min(n, 10));
}

/**
 * ChunkUploader uploads a growing video. push() queues a chunk (Blob),
 * finish() names the size and resolves when the server says complete.
 * States (onState): uploading, retrying, done, failed.
 */
export class ChunkUploader {
  constructor(url, opts = {}) {
    this.url = url;
    this.fetch = opts.fetchFn || ((...a) => fetch(...a));
    this.csrf = opts.csrf || (() => '');
    this.contentType = opts.contentType || 'video/webm';
    this.headers = opts.headers || {};
    this.headerFn = opts.headerFn || (() => ({})); // headers computed per request (e.g. how long ago recording started)
    this.maxQueued = opts.maxQueued || 64 * 1024 * 1024;
    this.sleep = opts.sleep || ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.onState = opts.onState || (() => {});
    this.queue = []; // [{start, blob}]
    this.queued = 0;
    this.offset = 0; // bytes pushed
    this.held = 0; // bytes the server holds from the start
    this.total = -1;
    this.sent = 0; // requests that succeeded
    this.complete = false; // the server said so (200/201)
    this.closed = false;
    this.error = null;
    this.pumping = null;
    this.extra = {}; // headers of the next request only
  }

  /** push queues a chunk; false when the queue is over its bound (the chunk is dropped). */
  push(blob) {
    if (this.closed || this.total >= 0 || !blob || blob.size === 0) return true;
    if (this.queued + blob.size > this.maxQueued) {
      this.error = new Error('upload queue full: the network is too slow for the screen video');
      this.onState('failed', this.error);
      return false;
    }
    this.queue.push({ start: this.offset, blob });
    this.offset += blob.size;
    this.queued += blob.size;
    this.kick();
    return true;
  }

  /** setNextHeaders adds headers to the next request (e.g. the start delay). */
  setNextHeaders(h) {
    Object.assign(this.extra, h);
  }

  /** finish names the video's size and resolves once it is complete on the server. */
  async finish() {
    if (this.total < 0) this.total = this.offset;
    this.kick();
    await this.pumping;
    return !this.error && this.complete;
  }

  /** close stops retrying (the page goes away). */
  close() {
    this.closed = true;
  }

  kick() {
    if (!this.pumping) {
      this.pumping = this.pump().finally(() => {
        this.pumping = null;
      });
    }
  }

  async pump() {
    for (;;) {
      if (this.closed || this.error) return;
      let start;
      let blob;
      if (this.queue.length > 0) {
        ({ start, blob } = this.queue[0]);
      } else if (this.total >= 0 && !this.complete) {
        start = this.total; // a status query names the size
        blob = null;
      } else {
        if (this.total >= 0) this.onState('done');
        return;
      }
      const last = this.total >= 0 && this.queue.length <= 1;
      const ok = await this.send(start, blob, last ? this.total : -1);
      if (!ok) return;
      if (blob) {
        this.queue.shift();
        this.queued -= blob.size;
      } else if (!this.complete) {
        // The server lacks bytes it was sent: nothing left to resend.
        this.error = new Error(`the server holds ${this.held} of ${this.total} bytes`);
        this.onState('failed', this.error);
        return;
      }
    }
  }

  async send(start, blob, total) {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) return false;
      const headers = {
        'Content-Type': this.contentType,
        'Content-Range': contentRange(start, blob ? blob.size : 0, total),
        'X-CSRF-Token': this.csrf(),
        ...this.headers,
        ...this.headerFn(this.sent),
        ...this.extra,
      };
      let status = 0;
      let range = '';
      try {
        const res = await this.fetch(this.url, { method: 'POST', headers, body: blob || undefined, credentials: 'same-origin', cache: 'no-store' });
        status = res.status;
        range = res.headers.get('Range') || '';
      } catch (_) {
        status = 0; // network error: retry
      }
      if (status === 308 || status === 200 || status === 201) {
        this.extra = {};
        this.sent++;
        this.held = Math.max(this.held, heldFrom(range));
        if (status !== 308) this.complete = true;
        this.onState('uploading');
        return true;
      }
      if (!RETRY_STATUS.has(status)) {
        this.error = new Error(`screen upload refused: HTTP ${status}`);
        this.onState('failed', this.error);
        return false;
      }
      this.onState('retrying');
      await this.sleep(backoff(attempt));
    }
  }
}
