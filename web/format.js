// Text for numbers and times as the views show them. 64-bit fields arrive as strings
// (protobuf's JSON mapping), so every reader goes through num().

export function num(value) {
  const n = Number(value);
  return Number.isFinite(n) ? n : 0;
}

const integer = new Intl.NumberFormat('en-US', {maximumFractionDigits: 0});

export function count(value) {
  return integer.format(num(value));
}

export function fixed(value, digits = 1) {
  return num(value).toFixed(digits);
}

// GFLOPS with one decimal; '—' when there is none yet.
export function gflops(value) {
  const n = num(value);
  return n > 0 ? n.toFixed(n >= 100 ? 0 : 1) : '—';
}

// A duration in seconds in a readable unit (µs, ms, s); '—' for 0.
export function duration(seconds) {
  const s = num(seconds);
  if (s <= 0) return '—';
  if (s < 1e-3) return `${(s * 1e6).toFixed(s < 1e-5 ? 2 : 1)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 1e-2 ? 3 : 2)} ms`;
  return `${s.toFixed(3)} s`;
}

export function micros(seconds) {
  const s = num(seconds);
  return s > 0 ? (s * 1e6).toFixed(s < 1e-5 ? 2 : 1) : '—';
}

export function percent(fraction, digits = 1) {
  return `${(num(fraction) * 100).toFixed(digits)} %`;
}

// "N s ago" from two unix-ms times; '—' when `thenMs` is 0 (never).
export function secondsAgo(nowMs, thenMs) {
  const then = num(thenMs);
  if (then <= 0) return '—';
  return `${Math.max(0, Math.round((num(nowMs) - then) / 1000))} s ago`;
}

// A longer age: "12 s", "5 min", "3 h 20 min".
export function age(nowMs, thenMs) {
  const then = num(thenMs);
  if (then <= 0) return '—';
  const s = Math.max(0, Math.round((num(nowMs) - then) / 1000));
  if (s < 120) return `${s} s ago`;
  const min = Math.floor(s / 60);
  if (min < 120) return `${min} min ago`;
  return `${Math.floor(min / 60)} h ${min % 60} min ago`;
}

export function clock(unixMs) {
  const ms = num(unixMs);
  return ms > 0 ? new Date(ms).toLocaleTimeString() : '—';
}

// Compact axis labels: 950, 1.2k, 15k, 2.5M.
export function compact(value) {
  const n = num(value);
  const a = Math.abs(n);
  if (a >= 1e6) return `${+(n / 1e6).toFixed(1)}M`;
  if (a >= 1e4) return `${+(n / 1e3).toFixed(0)}k`;
  if (a >= 1e3) return `${+(n / 1e3).toFixed(1)}k`;
  return `${+n.toPrecision(4)}`;
}

// Orders board ids and keys with numbers in them naturally (board-2 before board-10).
export const naturalCompare = new Intl.Collator('en', {numeric: true}).compare;
