// DOM helpers shared by the views: element builders and KeyedTable, which updates a table
// body in place (rows keyed by id, cells written only when their text changed) so that a
// poll over a thousand boards touches only what moved.

export const SVG_NS = 'http://www.w3.org/2000/svg';

function build(node, attrs, children) {
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === 'text') node.textContent = value;
    else if (name === 'dataset') Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// el('a', {href: '#/jobs', class: 'x'}, 'text', childNode): an HTML element.
export function el(tag, attrs = {}, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// svg('circle', {cx: 1, cy: 2, r: 3}): an SVG element (attributes, never style="").
export function svg(tag, attrs = {}, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

// A cell value is a string, or {text, href, title, sub, badge, cls}: `href` makes the text a
// link, `sub` a second, smaller line, `badge` a tag after the text, `cls` the td's class.
function normalize(value) {
  if (value === null || value === undefined) return {text: ''};
  if (typeof value === 'object') return value;
  return {text: String(value)};
}

class Cell {
  constructor(td, spec, baseClass) {
    this.td = td;
    this.base = baseClass ?? '';
    // What the DOM holds now, compared before every write.
    this.text = this.href = this.title = this.cls = undefined;
    this.badge = this.sub = '';
    this.badgeNode = this.subNode = null;
    this.main = document.createTextNode('');
    if (spec.href !== undefined) {
      this.link = el('a');
      this.link.append(this.main);
      td.append(this.link);
    } else {
      this.link = null;
      td.append(this.main);
    }
    this.set(spec);
  }

  set(spec) {
    const text = spec.text ?? '';
    if (this.text !== text) this.main.data = this.text = text;
    if (this.link && this.href !== spec.href) this.link.setAttribute('href', this.href = spec.href);
    const title = spec.title ?? '';
    if (this.title !== title) {
      this.title = title;
      if (title) this.td.title = title;
      else this.td.removeAttribute('title');
    }
    const cls = spec.cls ?? '';
    if (this.cls !== cls) {
      this.cls = cls;
      this.td.className = this.base && cls ? `${this.base} ${cls}` : this.base || cls;
    }
    // The badge and sub spans are created on first use; an empty one is hidden (:empty).
    const badge = spec.badge ?? '';
    if (this.badge !== badge) {
      this.badge = badge;
      if (!this.badgeNode) this.td.append(this.badgeNode = el('span', {class: 'badge'}));
      this.badgeNode.textContent = badge;
    }
    const sub = spec.sub ?? '';
    if (this.sub !== sub) {
      this.sub = sub;
      if (!this.subNode) this.td.append(this.subNode = el('span', {class: 'sub'}));
      this.subNode.textContent = sub;
    }
  }
}

// Rows of a tbody, keyed by a string: update() reuses each key's <tr>, writes only changed
// cells and data attributes, inserts new rows, removes vanished ones and reorders in place.
export class KeyedTable {
  // columnClasses: a class per column (e.g. 'num' for right-aligned numbers).
  constructor(tbody, columnClasses = []) {
    this.tbody = tbody;
    this.columnClasses = columnClasses;
    this.rows = new Map();  // key -> {tr, cells: [Cell], data: {}}
  }

  // rows: [{key, data: {board: 'b1', state: 'idle'}, cells: [value, ...]}] in display order.
  update(rows) {
    const seen = new Set();
    for (const row of rows) seen.add(row.key);
    for (const [key, record] of this.rows) {
      if (!seen.has(key)) {
        record.tr.remove();
        this.rows.delete(key);
      }
    }
    let cursor = this.tbody.firstChild;
    for (const row of rows) {
      let record = this.rows.get(row.key);
      if (!record) {
        record = this.create(row);
        this.rows.set(row.key, record);
      } else {
        this.refresh(record, row);
      }
      if (record.tr === cursor) cursor = cursor.nextSibling;
      else this.tbody.insertBefore(record.tr, cursor);
    }
  }

  create(row) {
    const tr = document.createElement('tr');
    const record = {tr, cells: [], data: {}};
    for (const [name, value] of Object.entries(row.data ?? {})) {
      tr.dataset[name] = record.data[name] = value;
    }
    row.cells.forEach((value, i) => {
      const td = document.createElement('td');
      tr.append(td);
      record.cells.push(new Cell(td, normalize(value), this.columnClasses[i]));
    });
    return record;
  }

  refresh(record, row) {
    for (const [name, value] of Object.entries(row.data ?? {})) {
      if (record.data[name] !== value) record.tr.dataset[name] = record.data[name] = value;
    }
    row.cells.forEach((value, i) => record.cells[i].set(normalize(value)));
  }

  get size() {
    return this.rows.size;
  }
}

// A <table> with a header row and an empty tbody; returns {table, tbody}.
export function table(id, headers, attrs = {}) {
  const tbody = el('tbody');
  const head = el('tr', {}, ...headers.map((h) => {
    const [text, cls] = Array.isArray(h) ? h : [h, undefined];
    return el('th', {class: cls, scope: 'col'}, text);
  }));
  const tableNode = el('table', {id, class: 'grid', ...attrs}, el('thead', {}, head), tbody);
  return {table: tableNode, tbody};
}
