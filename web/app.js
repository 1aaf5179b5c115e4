// The tracker page: hash routes (#/fleet, #/queues, #/jobs, #/jobs/NAME), one view shown at
// a time, polling its endpoints every 2 s, and window.fleettuneStats for the load benchmark.
//
// A view module exports create(root, params) returning
//   {title, fetch(signal) -> Promise<data>, render(data)}:
// fetch() asks the API (only the view's own endpoints), render() updates the DOM.

import * as fleet from './fleet.js';
import * as queues from './queues.js';
import * as jobs from './jobs.js';
import * as job from './job.js';

const POLL_MS = 2000;
const KEPT_UPDATES = 100;

const stats = {loadMs: null, updates: []};
window.fleettuneStats = stats;

const main = document.getElementById('view');
const connection = document.getElementById('connection');

// The route a hash names; unknown hashes show the fleet.
function parseRoute(hash) {
  const path = hash.replace(/^#/, '');
  if (path === '/queues') return {name: 'queues', module: queues, params: {}};
  if (path === '/jobs') return {name: 'jobs', module: jobs, params: {}};
  if (path.startsWith('/jobs/') && path.length > '/jobs/'.length) {
    let jobName = path.slice('/jobs/'.length);
    try {
      jobName = decodeURIComponent(jobName);
    } catch (err) {
      // Not valid percent-encoding: take the name as written.
    }
    return {name: 'job', module: job, params: {name: jobName}, nav: 'jobs'};
  }
  return {name: 'fleet', module: fleet, params: {}};
}

let active = null;  // {controller, timer} of the view shown now

function recordUpdate(view, fetchMs, renderMs, totalMs) {
  stats.updates.push({view, fetchMs, renderMs, totalMs});
  if (stats.updates.length > KEPT_UPDATES) stats.updates.splice(0, stats.updates.length - KEPT_UPDATES);
}

function setConnection(text, failed) {
  connection.textContent = text;
  connection.classList.toggle('failed', failed);
}

function show() {
  if (active) {
    active.controller.abort();
    clearTimeout(active.timer);
  }
  const route = parseRoute(window.location.hash);
  const current = {controller: new AbortController(), timer: 0};
  active = current;

  document.body.dataset.view = route.name;
  delete document.body.dataset.ready;
  for (const link of document.querySelectorAll('nav.views a')) {
    const target = link.getAttribute('href').slice(2);
    link.classList.toggle('current', target === (route.nav ?? route.name));
  }
  main.replaceChildren();
  const view = route.module.create(main, route.params);
  document.title = `${view.title} · fleettune tracker`;

  const poll = async () => {
    const start = performance.now();
    let data;
    try {
      data = await view.fetch(current.controller.signal);
    } catch (err) {
      if (active !== current) return;
      if (err.name !== 'AbortError') setConnection(`update failed: ${err.message}`, true);
      current.timer = setTimeout(poll, POLL_MS);
      return;
    }
    if (active !== current) return;
    const fetched = performance.now();
    view.render(data);
    const rendered = performance.now();
    recordUpdate(route.name, fetched - start, rendered - fetched, rendered - start);
    if (document.body.dataset.ready !== '1') {
      document.body.dataset.ready = '1';
      if (stats.loadMs === null) stats.loadMs = rendered;
    }
    setConnection(`updated ${new Date().toLocaleTimeString()}`, false);
    current.timer = setTimeout(poll, POLL_MS);
  };
  poll();
}

window.addEventListener('hashchange', show);
show();
