// Fleet view: board counts by key and state, then one row per board (lost boards included,
// reading "gone"). Rows are keyed and updated in place: with a thousand boards a poll writes
// only the cells whose text changed.

import {getJson} from './api.js';
import {el, KeyedTable, table} from './dom.js';
import {count, naturalCompare, num, secondsAgo} from './format.js';

const STATES = ['idle', 'busy', 'quarantined', 'lost'];
const STATE_LABEL = {idle: 'idle', busy: 'busy', quarantined: 'quarantined', lost: 'gone'};

// "model · cpu · 8 cores · runtime" from a DeviceInfo.
function fingerprint(info) {
  const parts = [];
  if (info.model) parts.push(info.model);
  if (info.cpu) parts.push(info.cpu);
  const cores = num(info.numCores);
  if (cores > 0) parts.push(`${cores} cores`);
  if (info.runtimeVersion) parts.push(info.runtimeVersion);
  if (info.deviceKind && info.deviceKind !== 'cpu') {
    parts.push(info.accelerator ? `${info.deviceKind}: ${info.accelerator}` : info.deviceKind);
  }
  return parts.join(' · ') || '—';
}

function boardRow(board, nowMs, lost) {
  const info = board.info ?? {};
  const state = lost ? 'lost' : board.state || 'unknown';
  const samples = num(board.noiseSamples);
  const strikes = num(board.strikes);
  const seen = num(board.lastSeenUnixMs);
  const silentMs = num(nowMs) - seen;
  const task = num(board.currentTask);
  return {
    key: lost ? `lost:${board.boardId}:${board.lostUnixMs}` : `up:${board.boardId}`,
    data: {board: board.boardId, state},
    cells: [
      {text: board.boardId, title: info.hostname ? `host ${info.hostname}` : ''},
      info.key ?? '',
      {
        text: STATE_LABEL[state] ?? state,
        sub: lost ? board.lostReason ?? '' : task > 0 ? `task ${task}` : '',
        cls: 'state',
        title: lost && num(board.lostTask) > 0
          ? `held task ${board.lostTask} (${board.lostTaskOutcome || 'no outcome'})` : '',
      },
      {
        text: fingerprint(info),
        badge: info.emulated ? 'emulated' : '',
        title: [fingerprint(info), info.hostname, info.triple, info.instance]
            .filter(Boolean).join('\n'),
        cls: 'fingerprint',
      },
      count(board.tasksDone),
      {text: count(board.tasksFailed), cls: num(board.tasksFailed) > 0 ? 'warn' : ''},
      {text: String(strikes), cls: strikes > 0 ? 'warn' : ''},
      samples > 0
        ? {text: `${(num(board.noiseCv) * 100).toFixed(1)} %`, title: `${samples} samples`}
        : '—',
      {text: secondsAgo(nowMs, seen), cls: !lost && seen > 0 && silentMs > 10000 ? 'warn' : ''},
    ],
  };
}

function byKeyThenId(a, b) {
  return naturalCompare(a.info?.key ?? '', b.info?.key ?? '') ||
      naturalCompare(a.boardId, b.boardId);
}

// The #fleet-summary table: a row per key, a column per state, and the totals.
function summaryTable(boards, lostBoards) {
  const perKey = new Map();
  const add = (key, state) => {
    if (!perKey.has(key)) perKey.set(key, Object.fromEntries(STATES.map((s) => [s, 0])));
    const counts = perKey.get(key);
    counts[state] = (counts[state] ?? 0) + 1;
  };
  for (const b of boards) add(b.info?.key ?? '', b.state);
  for (const b of lostBoards) add(b.info?.key ?? '', 'lost');
  const keys = [...perKey.keys()].sort(naturalCompare);
  const totals = Object.fromEntries(STATES.map((s) => [s, 0]));
  const cell = (n, state) => el('td', {class: n > 0 ? `num count-${state}` : 'num zero'}, count(n));
  const rows = keys.map((key) => {
    const counts = perKey.get(key);
    let up = 0;
    for (const s of STATES) {
      totals[s] += counts[s];
      if (s !== 'lost') up += counts[s];
    }
    return el('tr', {dataset: {key}}, el('th', {scope: 'row'}, key || '(no key)'),
        ...STATES.map((s) => cell(counts[s], s)), el('td', {class: 'num'}, count(up)));
  });
  const up = totals.idle + totals.busy + totals.quarantined;
  const foot = el('tr', {class: 'total'}, el('th', {scope: 'row'}, 'all keys'),
      ...STATES.map((s) => cell(totals[s], s)), el('td', {class: 'num'}, count(up)));
  return el('table', {class: 'grid summary'},
      el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, 'key'),
          ...STATES.map((s) => el('th', {scope: 'col', class: `num state-head-${s}`},
              STATE_LABEL[s])),
          el('th', {scope: 'col', class: 'num'}, 'connected'))),
      el('tbody', {}, ...rows), el('tfoot', {}, foot));
}

export function create(root) {
  const summary = el('section', {id: 'fleet-summary', class: 'card'});
  const boards = table('boards', ['board', 'key', 'state', 'fingerprint',
    ['done', 'num'], ['failed', 'num'], ['strikes', 'num'], ['noise', 'num'],
    ['heartbeat', 'num']]);
  const rows = new KeyedTable(boards.tbody,
      ['id', 'key', '', '', 'num', 'num', 'num', 'num', 'num']);
  const empty = el('p', {class: 'empty', hidden: true}, 'No boards are connected.');
  const heading = el('h2', {}, 'Boards');
  const version = el('span', {class: 'version'});
  root.append(el('div', {class: 'view-head'}, el('h1', {}, 'Fleet'), version), summary,
      el('section', {class: 'card'}, heading, boards.table, empty));

  let lastSummary = '';
  return {
    title: 'Fleet',
    fetch: (signal) => getJson('/api/v1/boards', signal),
    render(data) {
      const up = [...(data.boards ?? [])].sort(byKeyThenId);
      const lost = [...(data.lostBoards ?? [])]
          .sort((a, b) => num(b.lostUnixMs) - num(a.lostUnixMs));
      const now = data.nowUnixMs;
      const rowsWanted = up.map((b) => boardRow(b, now, false));
      for (const b of lost) rowsWanted.push(boardRow(b, now, true));
      rows.update(rowsWanted);
      empty.hidden = rowsWanted.length > 0;

      // The summary is small; rebuild it only when a count changed.
      const tally = new Map();
      for (const b of up) {
        const key = `${b.info?.key}\u0000${b.state}`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      }
      for (const b of lost) {
        const key = `${b.info?.key}\u0000lost`;
        tally.set(key, (tally.get(key) ?? 0) + 1);
      }
      const signature = JSON.stringify([...tally].sort());
      if (signature !== lastSummary) {
        lastSummary = signature;
        summary.replaceChildren(el('h2', {}, 'Boards by key and state'),
            summaryTable(up, lost));
        heading.textContent = `Boards (${count(up.length)} connected, ${count(lost.length)} gone)`;
      }
      const versionText = data.version ? `tracker ${data.version}` : '';
      if (version.textContent !== versionText) version.textContent = versionText;
    },
  };
}
