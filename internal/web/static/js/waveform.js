// The stereo waveform of the recording page: one lane per channel drawn on a
// <canvas> from GET .../peaks, pause and hold segments shaded, events as
// ticks with a tooltip, a playhead, click (or arrow keys) to seek.

import { h } from './dom.js';
import { fmtClock } from './format.js';

const LANE_H = 84;
const GAP = 6;
const AXIS_H = 20;
const COLORS = ['#2563eb', '#0f9d6e'];
const SEGMENT_COLORS = { pause: 'rgba(100, 116, 139, 0.38)', hold: 'rgba(245, 158, 11, 0.38)' };
const EVENT_COLORS = { dtmf: '#7c3aed' };
const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];

export class Waveform {
  /**
   * container: the element to draw in. opts: channels (1 or 2), labels
   * (one per channel), segments [{type, channel, start_ms, end_ms}],
   * events [{type, channel, at_ms, detail}], durationMs, onSeek(ms).
   */
  constructor(container, opts) {
    this.opts = opts;
    this.lanes = Math.max(1, Math.min(2, opts.channels || 2));
    this.durationMs = opts.durationMs || 0;
    this.peaks = null;
    this.state = 'loading';
    this.positionMs = 0;
    this.hoverX = -1;
    this.muted = new Set();
    this.base = document.createElement('canvas');
    this.canvas = h('canvas', {
      id: 'waveform', class: 'waveform', tabindex: '0', role: 'slider',
      'aria-label': 'Waveform: click to seek', 'aria-valuemin': '0', dataset: { state: 'loading' },
    });
    this.tooltip = h('div', { id: 'wave-tooltip', class: 'wave-tooltip', hidden: true, role: 'tooltip' });
    this.labels = [];
    for (let c = 0; c < this.lanes; c++) {
      const label = h('div', { class: 'lane-label', dataset: { channel: c }, text: (opts.labels || [])[c] || `ch${c}` });
      label.style.top = `${this.laneY(c) + 4}px`;
      this.labels.push(label);
    }
    this.root = h('div', { class: 'wave', id: 'wave' }, this.canvas, this.labels, this.tooltip);
    container.append(this.root);
    this.canvas.addEventListener('click', (e) => this.onClick(e));
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => this.onLeave());
    this.canvas.addEventListener('keydown', (e) => this.onKey(e));
    this.resize();
  }

  get height() {
    return this.lanes * LANE_H + (this.lanes - 1) * GAP + AXIS_H;
  }

  /** width is the canvas width in CSS pixels (the peaks bucket count). */
  get width() {
    return Math.max(100, Math.round(this.root.clientWidth || 800));
  }

  laneY(c) {
    return c * (LANE_H + GAP);
  }

  /** resize matches the canvas to its box and redraws; it returns whether the width changed. */
  resize() {
    const w = this.width;
    const dpr = window.devicePixelRatio || 1;
    const changed = w !== this.cssWidth;
    this.cssWidth = w;
    for (const cv of [this.canvas, this.base]) {
      cv.width = Math.round(w * dpr);
      cv.height = Math.round(this.height * dpr);
    }
    this.canvas.style.height = `${this.height}px`;
    this.dpr = dpr;
    this.drawBase();
    this.draw();
    return changed;
  }

  /** setPeaks draws GET .../peaks: {duration_ms, channels: [[min, max, ...], ...]}. */
  setPeaks(peaks) {
    this.peaks = peaks;
    if (peaks && peaks.duration_ms > 0) this.durationMs = peaks.duration_ms;
    this.setState('ready');
    this.drawBase();
    this.draw();
  }

  /** setFailed shows that the waveform could not be loaded. */
  setFailed(message) {
    this.failMessage = message;
    this.setState('error');
    this.drawBase();
    this.draw();
  }

  setState(s) {
    this.state = s;
    this.canvas.dataset.state = s;
  }

  /** setDuration sets the duration used for the time axis when the peaks lack one. */
  setDuration(ms) {
    if (!(this.durationMs > 0) && ms > 0) {
      this.durationMs = ms;
      this.drawBase();
      this.draw();
    }
  }

  /** setPosition moves the playhead. */
  setPosition(ms) {
    this.positionMs = ms;
    this.canvas.setAttribute('aria-valuenow', String(Math.round(ms / 1000)));
    this.draw();
  }

  /** setMuted dims the lanes of channels not heard (channel solo). */
  setMuted(channels) {
    this.muted = new Set(channels);
    this.labels.forEach((l, c) => l.classList.toggle('muted', this.muted.has(c)));
    this.drawBase();
    this.draw();
  }

  xOf(ms) {
    return this.durationMs > 0 ? (ms / this.durationMs) * this.cssWidth : 0;
  }

  msOf(x) {
    return this.durationMs > 0 ? Math.max(0, Math.min(1, x / this.cssWidth)) * this.durationMs : 0;
  }

  lanesOf(channel) {
    if (channel === undefined || channel === null || channel < 0 || channel >= this.lanes) {
      return [...Array(this.lanes).keys()];
    }
    return [channel];
  }

  drawBase() {
    const g = this.base.getContext('2d');
    const w = this.cssWidth;
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    g.clearRect(0, 0, w, this.height);
    for (let c = 0; c < this.lanes; c++) {
      const y = this.laneY(c);
      g.fillStyle = '#f8fafc';
      g.fillRect(0, y, w, LANE_H);
      g.fillStyle = '#e2e8f0';
      g.fillRect(0, y + LANE_H / 2, w, 1);
    }
    if (this.peaks && Array.isArray(this.peaks.channels)) {
      for (let c = 0; c < this.lanes; c++) this.drawPeaks(g, c, this.peaks.channels[c] || []);
    } else {
      g.fillStyle = '#64748b';
      g.font = '13px system-ui, sans-serif';
      g.fillText(this.state === 'error' ? (this.failMessage || 'Waveform unavailable') : 'Loading waveform…', 12, LANE_H / 2 + 20);
    }
    for (const s of this.opts.segments || []) {
      const color = SEGMENT_COLORS[s.type];
      if (!color) continue;
      const x0 = this.xOf(s.start_ms);
      const x1 = Math.max(x0 + 1, this.xOf(s.end_ms || this.durationMs));
      g.fillStyle = color;
      for (const c of this.lanesOf(s.channel)) g.fillRect(x0, this.laneY(c), x1 - x0, LANE_H);
    }
    for (const e of this.opts.events || []) {
      if (!(e.at_ms >= 0)) continue;
      const x = Math.round(this.xOf(e.at_ms)) + 0.5;
      g.strokeStyle = EVENT_COLORS[e.type] || '#475569';
      g.fillStyle = g.strokeStyle;
      g.lineWidth = 1;
      for (const c of this.lanesOf(e.channel)) {
        const y = this.laneY(c);
        g.beginPath();
        g.moveTo(x, y);
        g.lineTo(x, y + LANE_H);
        g.stroke();
        g.beginPath();
        g.moveTo(x - 4, y);
        g.lineTo(x + 4, y);
        g.lineTo(x, y + 6);
        g.closePath();
        g.fill();
      }
    }
    this.drawAxis(g, w);
  }

  drawPeaks(g, c, data) {
    const n = Math.floor(data.length / 2);
    if (n === 0) return;
    const y = this.laneY(c);
    const mid = y + LANE_H / 2;
    const half = LANE_H / 2 - 3;
    g.globalAlpha = this.muted.has(c) ? 0.25 : 1;
    g.fillStyle = COLORS[c % COLORS.length];
    const step = this.cssWidth / n;
    for (let i = 0; i < n; i++) {
      const lo = Math.max(-1, Math.min(1, Number(data[2 * i]) || 0));
      const hi = Math.max(-1, Math.min(1, Number(data[2 * i + 1]) || 0));
      const top = mid - hi * half;
      const bottom = mid - lo * half;
      g.fillRect(i * step, top, Math.max(1, step), Math.max(1, bottom - top));
    }
    g.globalAlpha = 1;
  }

  drawAxis(g, w) {
    const y = this.lanes * LANE_H + (this.lanes - 1) * GAP;
    const total = this.durationMs / 1000;
    if (!(total > 0)) return;
    const step = STEPS.find((s) => total / s <= Math.max(4, w / 110)) || STEPS[STEPS.length - 1];
    g.fillStyle = '#64748b';
    g.font = '11px system-ui, sans-serif';
    g.textBaseline = 'top';
    for (let t = 0; t <= total; t += step) {
      const x = Math.round(this.xOf(t * 1000)) + 0.5;
      g.fillRect(x, y, 1, 4);
      const label = fmtClock(t);
      const tw = g.measureText(label).width;
      g.fillText(label, Math.min(Math.max(0, x - tw / 2), w - tw), y + 5);
    }
    g.textBaseline = 'alphabetic';
  }

  draw() {
    const g = this.canvas.getContext('2d');
    const w = this.cssWidth;
    g.setTransform(1, 0, 0, 1, 0, 0);
    g.clearRect(0, 0, this.canvas.width, this.canvas.height);
    g.drawImage(this.base, 0, 0);
    g.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    const bottom = this.lanes * LANE_H + (this.lanes - 1) * GAP;
    if (this.hoverX >= 0) {
      g.fillStyle = 'rgba(15, 23, 42, 0.25)';
      g.fillRect(Math.round(this.hoverX), 0, 1, bottom);
    }
    if (this.durationMs > 0) {
      const x = Math.min(w - 1, Math.round(this.xOf(this.positionMs)));
      g.fillStyle = '#dc2626';
      g.fillRect(x - 1, 0, 2, bottom);
    }
  }

  pointer(e) {
    const r = this.canvas.getBoundingClientRect();
    return { x: e.clientX - r.left, y: e.clientY - r.top };
  }

  onClick(e) {
    if (!(this.durationMs > 0) || !this.opts.onSeek) return;
    this.opts.onSeek(this.msOf(this.pointer(e).x));
  }

  onKey(e) {
    if (!(this.durationMs > 0) || !this.opts.onSeek) return;
    const delta = { ArrowLeft: -5000, ArrowRight: 5000, Home: -Infinity, End: Infinity }[e.key];
    if (delta === undefined) return;
    e.preventDefault();
    this.opts.onSeek(Math.max(0, Math.min(this.durationMs, this.positionMs + delta)));
  }

  laneAt(y) {
    for (let c = 0; c < this.lanes; c++) {
      if (y >= this.laneY(c) && y < this.laneY(c) + LANE_H) return c;
    }
    return -1;
  }

  /** describe returns the tooltip text at a point: an event, a segment, or the time. */
  describe(x, y) {
    const lane = this.laneAt(y);
    const near = (this.opts.events || [])
      .filter((e) => e.at_ms >= 0 && (lane < 0 || this.lanesOf(e.channel).includes(lane)))
      .map((e) => ({ e, d: Math.abs(this.xOf(e.at_ms) - x) }))
      .filter((o) => o.d <= 4)
      .sort((a, b) => a.d - b.d);
    if (near.length) {
      return near.slice(0, 3).map(({ e }) => {
        const ch = e.channel >= 0 ? ` ch${e.channel}` : '';
        return `${fmtClock(e.at_ms / 1000)} ${e.type}${ch}${e.detail ? `: ${e.detail}` : ''}`;
      }).join('\n');
    }
    const ms = this.msOf(x);
    const seg = (this.opts.segments || []).find((s) => SEGMENT_COLORS[s.type] &&
      ms >= s.start_ms && ms <= (s.end_ms || this.durationMs) && (lane < 0 || this.lanesOf(s.channel).includes(lane)));
    if (seg) return `${seg.type} ${fmtClock(seg.start_ms / 1000)}–${fmtClock((seg.end_ms || this.durationMs) / 1000)}`;
    return fmtClock(ms / 1000);
  }

  onMove(e) {
    const { x, y } = this.pointer(e);
    this.hoverX = x;
    this.draw();
    if (!(this.durationMs > 0)) return;
    this.tooltip.textContent = this.describe(x, y);
    this.tooltip.hidden = false;
    const tw = this.tooltip.offsetWidth;
    this.tooltip.style.left = `${Math.min(x + 12, this.cssWidth - tw - 2)}px`;
    this.tooltip.style.top = `${Math.max(0, y - 34)}px`;
  }

  onLeave() {
    this.hoverX = -1;
    this.tooltip.hidden = true;
    this.draw();
  }
}
