// Job view: one job's summary, its trials plot (fetched incrementally with ?since=), its
// failures by status and, for a model job, its tasks and estimated latency over time.

import {ApiError, getJson, jobPath} from './api.js';
import {el, KeyedTable, table} from './dom.js';
import {age, clock, count, duration, gflops, micros, num, percent} from './format.js';
import {trialsText} from './jobs.js';
import {EstimatePlot, TrialsPlot} from './plot.js';

// The page keeps at most what the tracker keeps of a job.
const KEPT_TRIALS = 100000;

// The trials held, columnar like the API: entry i is trial first + i.
function emptyHistory() {
  return {first: 0, next: 0, unixMs: [], status: [], seconds: [], gflops: [], board: [],
    workload: [], workloads: []};
}

const COLUMNS = ['unixMs', 'status', 'seconds', 'gflops', 'board', 'workload'];
const NUMERIC = new Set(['unixMs', 'seconds', 'gflops', 'workload']);

// Adds a history reply to `held`; returns the history to hold from now on (a new one when
// the reply does not continue the old: trials dropped by the tracker, or a new job).
function merge(held, reply) {
  const first = num(reply.first);
  const next = num(reply.next);
  let history = held;
  if (first !== held.next) {
    history = emptyHistory();
    history.first = first;
  }
  const trials = reply.trials ?? {};
  for (const column of COLUMNS) {
    const values = trials[column] ?? [];
    const target = history[column];
    for (const value of values) target.push(NUMERIC.has(column) ? num(value) : value);
  }
  history.next = next;
  history.workloads = reply.workloads ?? history.workloads;
  const excess = history.status.length - KEPT_TRIALS;
  if (excess > 0) {
    for (const column of COLUMNS) history[column].splice(0, excess);
    history.first += excess;
  }
  return history;
}

function stat(label, value, id) {
  const dd = el('dd', {id});
  dd.textContent = value;
  return el('div', {}, el('dt', {}, label), dd);
}

export function create(root, {name}) {
  const title = el('h1', {}, name);
  const badges = el('span', {class: 'badges'});
  const summaryList = el('dl', {class: 'stats'});
  const progress = el('progress', {max: 1, value: 0, class: 'trials-progress'});
  const message = el('p', {id: 'job-missing', class: 'notice', hidden: true});

  const trialsPlot = new TrialsPlot();
  const legend = el('div', {class: 'legend'},
      el('span', {class: 'key-ok'}, 'OK trial'),
      el('span', {class: 'key-failed'}, 'failed trial (on the axis)'),
      el('span', {class: 'key-best'}, 'best so far'));
  const failures = table('failures', ['status', ['trials', 'num'], ['share', 'num']]);
  const failureRows = new KeyedTable(failures.tbody, ['status', 'num', 'num']);
  const noFailures = el('p', {class: 'empty'}, 'No failed trials.');

  const body = el('div', {class: 'job-body'},
      el('section', {class: 'card'}, el('h2', {}, 'Trials'), trialsPlot.svg, legend),
      el('div', {class: 'columns'},
          el('section', {class: 'card failures'}, el('h2', {}, 'Failures by status'),
              failures.table, noFailures)));
  root.append(el('div', {class: 'view-head'}, el('a', {href: '#/jobs', class: 'back'}, '← Jobs'),
      title, badges), message, el('section', {class: 'card job-summary'}, summaryList, progress),
  body);

  let model = null;  // {estimatePlot, taskRows}, created when the job turns out to be a model job
  let history = emptyHistory();

  function renderModel(summary, estimates) {
    if (!model) {
      const estimatePlot = new EstimatePlot();
      const tasks = table('tasks', ['workload', ['count', 'num'], ['trials', 'num'],
        ['best µs', 'num'], ['best GFLOPS', 'num'], ['share', 'num'], 'stopped']);
      model = {estimatePlot, taskRows: new KeyedTable(tasks.tbody,
          ['workload', 'num', 'num', 'num', 'num', 'num', 'stopped'])};
      body.querySelector('.columns').append(el('section', {class: 'card estimate'},
          el('h2', {}, 'Estimated network latency'), estimatePlot.svg));
      body.append(el('section', {class: 'card'}, el('h2', {}, 'Tasks'), tasks.table));
    }
    const est = estimates ?? {};
    model.estimatePlot.update({
      unixMs: (est.unixMs ?? []).map(num),
      trials: (est.trials ?? []).map(num),
      seconds: (est.seconds ?? []).map(num),
    }, num(summary.startedUnixMs));
    const tasks = summary.progress?.tasks ?? [];
    const maxShare = Math.max(0, ...tasks.map((t) => num(t.share)));
    model.taskRows.update(tasks.map((t, i) => ({
      key: `${i}:${t.workload}`,
      data: {workload: t.workload},
      cells: [
        {text: t.workload, title: t.workload},
        count(t.count),
        count(t.trials),
        micros(t.bestSeconds),
        gflops(t.bestGflops),
        {text: percent(t.share), cls: num(t.share) === maxShare && maxShare > 0 ? 'top' : ''},
        t.stopped ? 'stopped' : '',
      ],
    })));
  }

  function renderSummary(summary) {
    const total = num(summary.totalTrials);
    const trials = num(summary.trials);
    const failed = Object.values(summary.failures ?? {}).reduce((a, n) => a + num(n), 0);
    const items = [
      stat('device key', summary.deviceKey || '—'),
      stat('trials', trialsText(summary), 'job-trials'),
      stat('ok', count(summary.ok)),
      stat('failed', count(failed)),
      stat('best', Number(summary.bestGflops) > 0 ? `${gflops(summary.bestGflops)} GFLOPS` : '—',
           'job-best'),
      stat('best time', duration(summary.bestSeconds)),
      stat('pending / running', `${count(summary.pending)} / ${count(summary.running)}`),
      stat('confirmation tasks', count(summary.confirmationTasks)),
      stat('started', clock(summary.startedUnixMs)),
      stat('updated', age(Date.now(), summary.updatedUnixMs)),
    ];
    if (summary.kind === 'model' && summary.progress) {
      const p = summary.progress;
      items.splice(1, 0, stat('model', p.model || '—'));
      items.push(stat('estimated latency', duration(p.estimatedSeconds), 'job-estimate'));
    }
    summaryList.replaceChildren(...items);
    progress.hidden = total <= 0;
    progress.max = Math.max(total, 1);
    progress.value = Math.min(trials, total);
    badges.replaceChildren(el('span', {class: `badge kind-${summary.kind}`}, summary.kind),
        el('span', {class: `badge job-${summary.state}`}, summary.state));
  }

  function renderFailures(summary) {
    const entries = Object.entries(summary.failures ?? {})
        .map(([status, n]) => [status, num(n)])
        .filter(([, n]) => n > 0)
        .sort((a, b) => b[1] - a[1]);
    const trials = Math.max(num(summary.trials), 1);
    failureRows.update(entries.map(([status, n]) => ({
      key: status,
      data: {status},
      cells: [status, count(n), percent(n / trials)],
    })));
    noFailures.hidden = entries.length > 0;
  }

  return {
    title: name,
    async fetch(signal) {
      try {
        return await getJson(`${jobPath(name)}/history?since=${history.next}`, signal);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return {notFound: err.message};
        if (err instanceof ApiError && err.status === 400) history = emptyHistory();
        throw err;
      }
    },
    render(reply) {
      if (reply.notFound !== undefined) {
        message.textContent = `No job named “${name}”: the tracker does not know it ` +
            `(it keeps the 64 most recently updated jobs, and one with nothing in flight for an hour after its last activity).`;
        message.hidden = false;
        body.hidden = true;
        summaryList.parentElement.hidden = true;
        return;
      }
      message.hidden = true;
      body.hidden = false;
      summaryList.parentElement.hidden = false;
      const summary = reply.summary ?? {};
      history = merge(history, reply);
      renderSummary(summary);
      trialsPlot.update(history, num(summary.totalTrials));
      renderFailures(summary);
      if (summary.kind === 'model') renderModel(summary, reply.estimates);
    },
  };
}
