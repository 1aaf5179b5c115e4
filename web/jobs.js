// Jobs view: one row per job (most recently updated first), each linking to its page.

import {getJson} from './api.js';
import {el, KeyedTable, table} from './dom.js';
import {age, count, gflops, num} from './format.js';

// "TIMEOUT 3, BUILD_ERROR 1", the largest first; '—' when there are none.
export function failureText(failures) {
  const entries = Object.entries(failures ?? {})
      .map(([status, n]) => [status, num(n)])
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1]);
  return entries.length ? entries.map(([s, n]) => `${s} ${count(n)}`).join(', ') : '—';
}

export function trialsText(summary) {
  const total = num(summary.totalTrials);
  return total > 0 ? `${count(summary.trials)} of ${count(total)}` : count(summary.trials);
}

export function jobHref(name) {
  return `#/jobs/${encodeURIComponent(name)}`;
}

export function create(root) {
  const jobs = table('jobs', ['job', 'kind', 'state', 'key', ['trials', 'num'], ['ok', 'num'],
    ['best GFLOPS', 'num'], 'failures', ['pending / running', 'num'], ['updated', 'num']]);
  const rows = new KeyedTable(jobs.tbody,
      ['name', 'kind', 'job-state', 'key', 'num', 'num', 'num', 'failures', 'num', 'num']);
  const empty = el('p', {class: 'empty', hidden: true}, 'No jobs yet.');
  root.append(el('div', {class: 'view-head'}, el('h1', {}, 'Jobs')),
      el('section', {class: 'card'}, jobs.table, empty));

  return {
    title: 'Jobs',
    fetch: (signal) => getJson('/api/v1/jobs', signal),
    render(data) {
      const list = data.jobs ?? [];
      rows.update(list.map((job) => {
        const failed = failureText(job.failures);
        return {
          key: job.name,
          data: {job: job.name, state: job.state, kind: job.kind},
          cells: [
            {text: job.name, href: jobHref(job.name)},
            {text: job.kind, sub: job.kind === 'model' ? job.progress?.model ?? '' : ''},
            job.state,
            job.deviceKey,
            trialsText(job),
            count(job.ok),
            gflops(job.bestGflops),
            {text: failed, cls: failed === '—' ? '' : 'warn'},
            `${count(job.pending)} / ${count(job.running)}`,
            age(data.nowUnixMs, job.updatedUnixMs),
          ],
        };
      }));
      empty.hidden = list.length > 0;
    },
  };
}
