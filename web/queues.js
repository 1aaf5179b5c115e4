// Queues view: one row per device key with its pending and running tasks and its boards.

import {getJson} from './api.js';
import {el, KeyedTable, table} from './dom.js';
import {count, naturalCompare, num} from './format.js';

export function create(root) {
  const queues = table('queues', ['key', ['pending', 'num'], ['running', 'num'],
    ['boards', 'num'], ['idle boards', 'num']]);
  const rows = new KeyedTable(queues.tbody, ['key', 'num', 'num', 'num', 'num']);
  const empty = el('p', {class: 'empty', hidden: true}, 'No device keys yet: no board has connected and no job has been submitted.');
  root.append(el('div', {class: 'view-head'}, el('h1', {}, 'Queues')),
      el('section', {class: 'card'}, queues.table, empty));

  return {
    title: 'Queues',
    fetch: (signal) => getJson('/api/v1/queues', signal),
    render(data) {
      const list = [...(data.queues ?? [])]
          .sort((a, b) => naturalCompare(a.deviceKey, b.deviceKey));
      rows.update(list.map((q) => {
        const pending = num(q.pending);
        const boards = num(q.boards);
        const idle = num(q.idleBoards);
        return {
          key: q.deviceKey,
          data: {key: q.deviceKey},
          cells: [
            q.deviceKey || '(no key)',
            {text: count(pending), cls: pending > 0 && boards === 0 ? 'warn' : ''},
            count(q.running),
            {text: count(boards), cls: boards === 0 ? 'zero' : ''},
            {text: count(idle), cls: idle > 0 ? 'ok' : 'zero'},
          ],
        };
      }));
      empty.hidden = list.length > 0;
    },
  };
}
