// Hand-drawn SVG plots: a Frame (axes, ticks, grid, labels) and the job page's two plots,
// TrialsPlot (GFLOPS over trial number with the best-so-far line) and EstimatePlot (a model
// job's estimated latency over time). Styling lives in style.css (classes, no style="").

import {svg} from './dom.js';
import {compact, duration, gflops as gflopsText} from './format.js';

// A "nice" axis covering [lo, hi] with about `ticks` steps of 1, 2 or 5 x 10^k; `integer`
// axes (trial numbers) never step below 1.
export function niceScale(lo, hi, ticks = 5, integer = false) {
  if (!(hi > lo)) hi = lo + 1;
  const raw = (hi - lo) / ticks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const residual = raw / magnitude;
  let step = (residual > 5 ? 10 : residual > 2 ? 5 : residual > 1 ? 2 : 1) * magnitude;
  if (integer) step = Math.max(1, step);
  return {lo: Math.floor(lo / step + 1e-9) * step, hi: Math.ceil(hi / step - 1e-9) * step, step};
}

function sameScale(a, b) {
  return a && b && a.lo === b.lo && a.hi === b.hi && a.step === b.step;
}

// The plotting area of an svg with a viewBox of width x height, its axes and scales.
export class Frame {
  constructor(svgNode, {width = 960, height = 300, left = 60, right = 20, top = 16, bottom = 42} = {}) {
    this.svg = svgNode;
    this.width = width;
    this.height = height;
    this.box = {left, right: width - right, top, bottom: height - bottom};
    svgNode.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svgNode.setAttribute('preserveAspectRatio', 'xMidYMid meet');
    this.axes = svg('g', {class: 'axes'});
    svgNode.append(this.axes);
  }

  // Redraws the axes for scales {lo, hi, step}; format(v) labels each tick.
  setScales(xScale, yScale, {xLabel, yLabel, xFormat = compact, yFormat = compact}) {
    this.xScale = xScale;
    this.yScale = yScale;
    const {left, right, top, bottom} = this.box;
    const g = svg('g', {class: 'axes'});
    for (let v = yScale.lo, i = 0; v <= yScale.hi + yScale.step / 2 && i < 50; v += yScale.step, i++) {
      const y = this.y(v);
      g.append(svg('line', {class: i === 0 ? 'axis' : 'grid', x1: left, x2: right, y1: y, y2: y}));
      g.append(svg('text', {class: 'tick', x: left - 6, y: y + 4, 'text-anchor': 'end'},
          yFormat(+v.toPrecision(12))));
    }
    for (let v = xScale.lo, i = 0; v <= xScale.hi + xScale.step / 2 && i < 50; v += xScale.step, i++) {
      const x = this.x(v);
      g.append(svg('line', {class: i === 0 ? 'axis' : 'grid', x1: x, x2: x, y1: top, y2: bottom}));
      g.append(svg('line', {class: 'tick-mark', x1: x, x2: x, y1: bottom, y2: bottom + 4}));
      g.append(svg('text', {class: 'tick', x, y: bottom + 17, 'text-anchor': 'middle'},
          xFormat(+v.toPrecision(12))));
    }
    g.append(svg('text', {class: 'axis-label', x: (left + right) / 2, y: this.height - 4,
      'text-anchor': 'middle'}, xLabel));
    const midY = (top + bottom) / 2;
    g.append(svg('text', {class: 'axis-label', x: 14, y: midY, 'text-anchor': 'middle',
      transform: `rotate(-90 14 ${midY})`}, yLabel));
    this.axes.replaceWith(g);
    this.axes = g;
  }

  x(v) {
    const {lo, hi} = this.xScale;
    return +(this.box.left + (v - lo) / (hi - lo) * (this.box.right - this.box.left)).toFixed(1);
  }

  y(v) {
    const {lo, hi} = this.yScale;
    return +(this.box.bottom - (v - lo) / (hi - lo) * (this.box.bottom - this.box.top)).toFixed(1);
  }
}

// GFLOPS over trial number: circle.trial per OK trial, path.trial.failed (a cross on the x
// axis) per failed one, path#best-line the best GFLOPS so far. update() appends the new
// trials while the scales still fit them and redraws everything when they change.
export class TrialsPlot {
  constructor() {
    this.svg = svg('svg', {id: 'trials-plot', class: 'plot', role: 'img',
      'aria-label': 'GFLOPS of each trial, with the best so far'});
    this.frame = new Frame(this.svg, {width: 1300, height: 330});
    this.points = svg('g', {class: 'points'});
    this.bestLine = svg('path', {id: 'best-line', d: ''});
    this.svg.append(this.points, this.bestLine);
    this.reset();
  }

  reset() {
    this.drawnFirst = -1;
    this.drawn = 0;         // entries of the history drawn
    this.maxGflops = 0;     // over the entries scanned
    this.scanned = 0;
    this.best = [];         // [{trial, gflops}] where the best so far improved
  }

  // history: {first, status, gflops, seconds, board, workload, workloads} (arrays, entry i is
  // trial first + i); totalTrials: the job's plan, 0 when unknown.
  update(history, totalTrials) {
    const n = history.status.length;
    if (history.first !== this.drawnFirst || n < this.scanned) {
      this.reset();
      this.drawnFirst = history.first;
    }
    for (let i = this.scanned; i < n; i++) {
      if (history.status[i] !== 'OK') continue;
      const g = history.gflops[i];
      if (g > this.maxGflops) this.maxGflops = g;
      const bestSoFar = this.best.length ? this.best[this.best.length - 1].gflops : 0;
      if (g > bestSoFar) this.best.push({trial: history.first + i, gflops: g});
    }
    this.scanned = n;

    const last = history.first + n;
    const xNeed = Math.max(last, totalTrials, 10);
    let xScale = this.frame.xScale;
    if (!xScale || xScale.lo > history.first || xScale.hi < xNeed ||
        (totalTrials > 0 && xScale.hi > niceScale(history.first, totalTrials, 8, true).hi)) {
      xScale = niceScale(history.first, totalTrials >= last ? totalTrials : xNeed * 1.25, 8, true);
    }
    let yScale = this.frame.yScale;
    const yNeed = Math.max(this.maxGflops, 1e-9);
    if (!yScale || yScale.hi < yNeed || yScale.hi > yNeed * 3) {
      yScale = niceScale(0, this.maxGflops > 0 ? this.maxGflops * 1.08 : 1, 5);
    }
    if (!sameScale(xScale, this.frame.xScale) || !sameScale(yScale, this.frame.yScale)) {
      this.frame.setScales(xScale, yScale, {xLabel: 'trial', yLabel: 'GFLOPS'});
      this.points.replaceChildren();
      this.drawn = 0;
    }
    if (this.drawn < n) {
      const fragment = document.createDocumentFragment();
      for (let i = this.drawn; i < n; i++) fragment.append(this.point(history, i));
      this.points.append(fragment);
      this.drawn = n;
    }
    this.drawBest(last);
  }

  point(history, i) {
    const trial = history.first + i;
    const status = history.status[i];
    const x = this.frame.x(trial);
    const board = history.board[i];
    const workload = history.workloads[history.workload[i]] ?? '';
    let node;
    let tip;
    if (status === 'OK') {
      const g = history.gflops[i];
      node = svg('circle', {class: 'trial', cx: x, cy: this.frame.y(g), r: 2.6});
      tip = `trial ${trial} · OK · ${gflopsText(g)} GFLOPS · ${duration(history.seconds[i])}`;
    } else {
      const y = this.frame.y(0);
      node = svg('path', {class: 'trial failed',
        d: `M${x - 3} ${y - 3}l6 6m0 -6l-6 6`});
      tip = `trial ${trial} · ${status}`;
    }
    tip += board ? ` · board ${board}` : '';
    if (workload) tip += `\n${workload}`;
    node.setAttribute('data-trial', trial);
    node.setAttribute('data-status', status);
    node.append(svg('title', {}, tip));
    return node;
  }

  // The best-so-far step line, from the first OK trial to the last trial held.
  drawBest(lastTrial) {
    if (!this.best.length) {
      this.bestLine.setAttribute('d', '');
      return;
    }
    const f = this.frame;
    let d = `M${f.x(this.best[0].trial)} ${f.y(this.best[0].gflops)}`;
    for (let i = 1; i < this.best.length; i++) {
      d += `H${f.x(this.best[i].trial)}V${f.y(this.best[i].gflops)}`;
    }
    d += `H${f.x(Math.max(lastTrial - 1, this.best[this.best.length - 1].trial))}`;
    this.bestLine.setAttribute('d', d);
  }
}

// Elapsed-time axis labels in the unit that suits the span.
function timeUnit(spanSeconds) {
  if (spanSeconds < 180) return {divisor: 1, label: 'elapsed (s)'};
  if (spanSeconds < 3 * 3600) return {divisor: 60, label: 'elapsed (min)'};
  return {divisor: 3600, label: 'elapsed (h)'};
}

// A model job's estimated network latency (ms) over elapsed time: path#estimate-line (a step
// line, the estimate holds until it changes) and a dot per change. Redrawn when it changes.
export class EstimatePlot {
  constructor() {
    this.svg = svg('svg', {id: 'estimate-plot', class: 'plot', role: 'img',
      'aria-label': 'Estimated network latency over time'});
    this.frame = new Frame(this.svg, {width: 860, height: 280});
    this.line = svg('path', {id: 'estimate-line', d: ''});
    this.dots = svg('g', {class: 'estimate-points'});
    this.svg.append(this.line, this.dots);
    this.signature = null;
  }

  // estimates: {unixMs: [...], trials: [...], seconds: [...]} (numbers).
  update(estimates, startUnixMs) {
    const points = [];
    for (let i = 0; i < estimates.seconds.length; i++) {
      if (estimates.seconds[i] > 0) {
        points.push({ms: estimates.unixMs[i], trials: estimates.trials[i],
          latencyMs: estimates.seconds[i] * 1e3});
      }
    }
    const signature = points.map((p) => `${p.ms}:${p.latencyMs}`).join(',');
    if (signature === this.signature) return;
    this.signature = signature;

    const origin = startUnixMs > 0 ? Math.min(startUnixMs, points[0]?.ms ?? startUnixMs)
                                   : points[0]?.ms ?? 0;
    const lastMs = points.length ? points[points.length - 1].ms : origin;
    const unit = timeUnit((lastMs - origin) / 1000);
    const xOf = (ms) => (ms - origin) / 1000 / unit.divisor;
    const latencies = points.map((p) => p.latencyMs);
    const lo = latencies.length ? Math.min(...latencies) : 0;
    const hi = latencies.length ? Math.max(...latencies) : 1;
    const pad = (hi - lo) * 0.08 || hi * 0.05 || 1;
    const xScale = niceScale(0, Math.max(xOf(lastMs) * 1.05, 1), 8);
    const yScale = niceScale(Math.max(0, lo - pad), hi + pad, 5);
    this.frame.setScales(xScale, yScale, {xLabel: unit.label, yLabel: 'estimated latency (ms)',
      yFormat: (v) => `${+v.toPrecision(6)}`});

    const f = this.frame;
    let d = '';
    const dots = [];
    points.forEach((p, i) => {
      const x = f.x(xOf(p.ms));
      const y = f.y(p.latencyMs);
      d += i === 0 ? `M${x} ${y}` : `H${x}V${y}`;
      const dot = svg('circle', {class: 'estimate', cx: x, cy: y, r: 3});
      dot.append(svg('title', {}, `${p.latencyMs.toPrecision(4)} ms after ${p.trials} trials` +
          ` (${new Date(p.ms).toLocaleTimeString()})`));
      dots.push(dot);
    });
    this.line.setAttribute('d', d);
    this.dots.replaceChildren(...dots);
  }
}
