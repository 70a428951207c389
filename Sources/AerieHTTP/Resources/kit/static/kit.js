// Aerie page kit: the one script every page loads before its own (the console's and each app's).
// It defines the global `aerie`:
//   aerie.api(method, path, body, options)      JSON API call with the page session (see `request`)
//   aerie.request(method, path, body, options)  the same, answering { status, headers, data }
//   aerie.el(tag, attrs, ...children)           builds an element (SVG ones too); strings become text, never HTML
//   aerie.$(id), aerie.$$(selector, root)       the element with an id; the elements a selector matches
//   aerie.flash(message, kind), aerie.fail(error) the message box #flash at the top of the page
//   aerie.fill, aerie.every, aerie.pick, aerie.items, aerie.badge, formatting (ms, seconds, bytes, percent, when)
//   aerie.charts.line / bar / histogram / matrix  small inline SVG charts
// Requests go same-origin with the HttpOnly session cookie; state-changing ones carry the CSRF token of
// <meta name="csrf-token"> in X-CSRF-Token. A 401 sends the browser to the sign-in page, which comes back here.
'use strict';
(() => {
  if (window.aerie) {
    console.warn('aerie: kit.js was loaded twice; keeping the first copy.');
    return;
  }
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : '';
  const palette = ['#2f6fde', '#e0793b', '#1f8a4c', '#9b51e0', '#c53030', '#0f9db4', '#b7791f', '#5a6478'];
  const svgTags = new Set(['svg', 'g', 'line', 'polyline', 'rect', 'text', 'circle', 'path', 'title']);

  // ---- DOM -----------------------------------------------------------------------------------------

  /** Creates an element: el('a', {href: '/x', class: 'y', onclick: fn}, 'text', child, [more]). Strings become text nodes. */
  function el(tag, attrs, ...children) {
    const node = svgTags.has(tag) ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat(Infinity)) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const $ = (id) => document.getElementById(id);
  const $$ = (selector, root) => [...(root || document).querySelectorAll(selector)];

  /** The first defined field among names (the API writes snake_case; tolerate camelCase too). */
  function pick(object, ...names) {
    if (!object) return undefined;
    for (const name of names) {
      if (object[name] !== undefined && object[name] !== null) return object[name];
    }
    return undefined;
  }

  /** The items of a list body ({items: […]}) or the array itself. */
  const items = (body) => (body && Array.isArray(body.items) ? body.items : Array.isArray(body) ? body : []);

  /** Shows a message in #flash (kind 'error' by default, or 'info'); an empty message hides it. */
  function flash(message, kind) {
    const box = $('flash');
    if (!box) return;
    box.textContent = message || '';
    box.className = 'flash ' + (kind || 'error');
    box.hidden = !message;
  }

  /** Shows an error (an API problem's detail, or any error's message) in #flash. */
  function fail(error) {
    flash(error && error.message ? error.message : String(error));
  }

  /** Replaces a table's body rows; with none, one row saying emptyText across every column. */
  function fill(table, rows, emptyText) {
    const body = table.tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      const columns = table.tHead && table.tHead.rows[0] ? table.tHead.rows[0].cells.length : 1;
      body.append(el('tr', {}, el('td', { colspan: columns, class: 'muted' }, emptyText)));
      return;
    }
    body.append(...rows);
  }

  /** Runs task now and then every `seconds` while the page is visible; errors go to #flash. Returns a stop function. */
  function every(seconds, task) {
    let stopped = false;
    const run = async () => {
      if (stopped) return;
      if (!document.hidden) {
        try { await task(); } catch (error) { fail(error); }
      }
      setTimeout(run, seconds * 1000);
    };
    run();
    return () => { stopped = true; };
  }

  // ---- formatting ----------------------------------------------------------------------------------

  const missing = (value) => value === undefined || value === null || Number.isNaN(Number(value));
  /** Milliseconds: '4.2 ms', '87 ms', '1.25 s'. */
  const ms = (value) => (missing(value) ? '–'
    : Number(value) >= 1000 ? (Number(value) / 1000).toFixed(2) + ' s' : Number(value).toFixed(Number(value) < 10 ? 1 : 0) + ' ms');
  /** Seconds: '0.42 s'. */
  const seconds = (value) => (missing(value) ? '–' : Number(value).toFixed(2) + ' s');
  /** A fraction 0…1 as '87.5 %'. */
  const percent = (value) => (missing(value) ? '–' : (Number(value) * 100).toFixed(1) + ' %');
  /** A byte count: '12 B', '3.4 MiB'. */
  function bytes(n) {
    if (missing(n)) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = Number(n);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 ? value : value.toFixed(1)) + ' ' + units[unit];
  }
  /** A timestamp in the reader's locale. */
  const when = (text) => (text ? new Date(text).toLocaleString() : '–');
  /** A status pill; the class (kind, else the text) picks its colour in kit.css. */
  const badge = (text, kind) => el('span', { class: 'badge ' + (kind || text) }, text);

  // ---- the API -------------------------------------------------------------------------------------

  /** The sign-in page, coming back to this page after. */
  function signIn() {
    location.href = '/console/login?next=' + encodeURIComponent(location.pathname + location.search);
  }

  /** The message of a problem+json answer: its detail, with the fields or parameters it names. */
  function problemMessage(problem, fallback) {
    if (!problem || typeof problem !== 'object') return fallback;
    let message = problem.detail || problem.title || fallback;
    const errors = Array.isArray(problem.errors) ? problem.errors : [];
    const notes = errors.map((entry) => {
      const where = entry.pointer || entry.parameter || entry.field;
      const text = entry.detail || entry.message;
      if (text && text !== problem.detail) return where ? `${where}: ${text}` : text;
      return where || null;
    }).filter(Boolean);
    if (notes.length) message += ` (${notes.join('; ')})`;
    return message;
  }

  /**
   * Calls the API with the page session and answers { status, headers, data } (data: the parsed JSON, or null).
   * body: a plain value is sent as JSON; FormData, Blob, URLSearchParams and strings are sent as they are.
   * options.headers: extra request headers (e.g. { Prefer: 'respond-async' }).
   * A 401 goes to the sign-in page; any other failure throws an Error whose message is the problem's detail,
   * with `status` and `problem` (the problem+json body) on it. A 429 names its Retry-After.
   */
  async function request(method, path, body, options) {
    const headers = Object.assign({ Accept: 'application/json' }, (options && options.headers) || {});
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
    let payload;
    if (body !== undefined) {
      const raw = body instanceof FormData || body instanceof Blob || body instanceof URLSearchParams || typeof body === 'string';
      if (raw) {
        payload = body;
      } else {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
      }
    }
    const response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
    if (response.status === 401) {
      signIn();
      const error = new Error('The session has ended; sign in again.');
      error.status = 401;
      throw error;
    }
    const text = await response.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
    if (!response.ok) {
      let message = problemMessage(data, `${method} ${path}: ${response.status} ${response.statusText}`);
      if (response.status === 429) {
        const retry = response.headers.get('Retry-After');
        message += retry ? ` Try again in ${retry} s.` : ' Try again shortly.';
      }
      const error = new Error(message);
      error.status = response.status;
      error.problem = data;
      throw error;
    }
    return { status: response.status, headers: response.headers, data };
  }

  /** Calls the API (as `request`) and answers the parsed JSON body, or null. */
  async function api(method, path, body, options) {
    return (await request(method, path, body, options)).data;
  }

  // ---- charts (inline SVG) -------------------------------------------------------------------------

  function niceMax(value) {
    if (!(value > 0)) return 1;
    const power = Math.pow(10, Math.floor(Math.log10(value)));
    for (const step of [1, 2, 2.5, 5, 10]) {
      if (value <= step * power) return step * power;
    }
    return 10 * power;
  }

  const plain = (value) => (Number.isInteger(value) ? String(value) : String(Number(Number(value).toFixed(2))));
  const clip = (text, length) => (text.length > length ? text.slice(0, length - 1) + '…' : text);

  function empty(container, text) {
    container.replaceChildren(el('div', { class: 'empty' }, text));
  }

  /**
   * A line chart over time: series [{name, points: [[time ms, value or null]]}]; a null value breaks the line.
   * options: { format (axis values; plain numbers by default), label (for screen readers) }.
   */
  function line(container, series, emptyText, options) {
    const format = (options && options.format) || plain;
    const all = series.flatMap((s) => s.points).filter((p) => p[1] !== null && p[1] !== undefined);
    if (all.length === 0) { empty(container, emptyText); return; }
    const width = 900, height = 240, left = 56, right = 180, top = 10, bottom = 28;
    const times = series.flatMap((s) => s.points.map((p) => p[0]));
    const t0 = Math.min(...times), t1 = Math.max(...times, t0 + 1);
    const yMax = niceMax(Math.max(...all.map((p) => p[1])));
    const x = (t) => left + (width - left - right) * (t - t0) / (t1 - t0);
    const y = (v) => top + (height - top - bottom) * (1 - v / yMax);
    const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': (options && options.label) || 'line chart' });
    for (let i = 0; i <= 4; i += 1) {
      const value = yMax * i / 4;
      svg.append(el('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
      svg.append(el('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end' }, format(value)));
    }
    svg.append(el('line', { class: 'axis', x1: left, x2: width - right, y1: y(0), y2: y(0) }));
    svg.append(el('text', { x: left, y: height - 8 }, new Date(t0).toLocaleTimeString()));
    svg.append(el('text', { x: width - right, y: height - 8, 'text-anchor': 'end' }, new Date(t1).toLocaleTimeString()));
    series.forEach((s, index) => {
      const color = palette[index % palette.length];
      let run = [];
      const flush = () => {
        if (run.length > 1) svg.append(el('polyline', { points: run.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }));
        if (run.length === 1) {
          const [cx, cy] = run[0].split(',');
          svg.append(el('circle', { cx, cy, r: 3, fill: color }));
        }
        run = [];
      };
      for (const [t, v] of s.points) {
        if (v === null || v === undefined) flush();
        else run.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      }
      flush();
      svg.append(el('g', { class: 'legend' },
        el('rect', { x: width - right + 12, y: top + index * 18, width: 10, height: 10, fill: color }),
        el('text', { x: width - right + 28, y: top + index * 18 + 9 }, clip(s.name, 26)),
        el('title', {}, s.name)));
    });
    container.replaceChildren(svg);
  }

  /**
   * Horizontal grouped bars: rows [{label, values: [v1, v2…], note}], one colour per series name.
   * options: { format (values; plain numbers by default), label }.
   */
  function bar(container, rows, names, emptyText, options) {
    const format = (options && options.format) || plain;
    if (rows.length === 0) { empty(container, emptyText); return; }
    const width = 900, labelWidth = 300, right = 90, barHeight = 9, gap = 12;
    const rowHeight = names.length * barHeight + gap;
    const height = rows.length * rowHeight + 30;
    const xMax = niceMax(Math.max(...rows.flatMap((r) => r.values.filter((v) => v !== null && v !== undefined))));
    const x = (v) => labelWidth + (width - labelWidth - right) * v / xMax;
    const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': (options && options.label) || 'bar chart' });
    for (let i = 0; i <= 4; i += 1) {
      const value = xMax * i / 4;
      svg.append(el('line', { class: 'grid', x1: x(value), x2: x(value), y1: 0, y2: height - 24 }));
      svg.append(el('text', { x: x(value), y: height - 10, 'text-anchor': 'middle' }, format(value)));
    }
    rows.forEach((row, index) => {
      const top = index * rowHeight + 4;
      svg.append(el('text', { x: labelWidth - 8, y: top + (names.length * barHeight) / 2 + 4, 'text-anchor': 'end' },
        clip(row.label, 44), el('title', {}, row.label)));
      row.values.forEach((value, series) => {
        if (value === null || value === undefined) return;
        svg.append(el('rect', { x: labelWidth, y: top + series * barHeight, width: Math.max(1, x(value) - labelWidth), height: barHeight - 1,
          fill: palette[series % palette.length] }, el('title', {}, `${names[series]} ${format(value)}`)));
      });
      const last = row.values[row.values.length - 1];
      svg.append(el('text', { x: x(last || 0) + 6, y: top + (names.length * barHeight) / 2 + 4 }, row.note || format(last)));
    });
    svg.append(el('g', { class: 'legend' }, names.map((name, index) => [
      el('rect', { x: 8 + index * 70, y: height - 19, width: 10, height: 10, fill: palette[index % palette.length] }),
      el('text', { x: 22 + index * 70, y: height - 10 }, name),
    ])));
    container.replaceChildren(svg);
  }

  /**
   * A histogram: one vertical bar (class `bucket`, attribute `data-count`) per bucket [{le (null for +Inf), count}]
   * (counts per bucket, not cumulative); `format` writes the bucket bounds.
   */
  function histogram(container, buckets, format, emptyText) {
    if (!buckets.some((b) => b.count > 0)) { empty(container, emptyText); return; }
    const bound = format || plain;
    const width = 900, height = 200, left = 48, right = 10, top = 10, bottom = 34;
    const yMax = niceMax(Math.max(...buckets.map((b) => b.count)));
    const slot = (width - left - right) / buckets.length;
    const y = (v) => top + (height - top - bottom) * (1 - v / yMax);
    const svg = el('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'histogram' });
    for (let i = 0; i <= 4; i += 1) {
      const value = yMax * i / 4;
      svg.append(el('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
      svg.append(el('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end' }, plain(value)));
    }
    svg.append(el('line', { class: 'axis', x1: left, x2: width - right, y1: y(0), y2: y(0) }));
    buckets.forEach((bucket, index) => {
      const x = left + index * slot;
      const label = bucket.le === null || bucket.le === undefined ? '+Inf' : '≤ ' + bound(bucket.le);
      svg.append(el('rect', { class: 'bucket', x: x + 2, y: y(bucket.count), width: Math.max(1, slot - 4), height: y(0) - y(bucket.count),
        fill: palette[0], 'data-count': bucket.count }, el('title', {}, `${label}: ${bucket.count}`)));
      svg.append(el('text', { x: x + slot / 2, y: height - 18, 'text-anchor': 'middle' }, label));
    });
    container.replaceChildren(svg);
  }

  /**
   * A square matrix of counts as shaded cells (a confusion matrix): rows and columns named by labels.
   * Answers the <svg class="matrix"> (cells are `rect` with `data-count`); options: { rows, columns (axis captions), label }.
   */
  function matrix(labels, counts, options) {
    const cell = 34, left = 96, top = 40;
    const size = labels.length;
    const svg = el('svg', { class: 'matrix', width: left + cell * size + 4, height: top + cell * size + 4, role: 'img',
      'aria-label': (options && options.label) || 'matrix' });
    const max = Math.max(1, ...counts.flat());
    const text = (x, y, value, anchor, light) => svg.append(el('text', { x, y, 'text-anchor': anchor, class: light ? 'light' : null }, value));
    if (options && options.columns) text(left + (cell * size) / 2, 12, options.columns, 'middle');
    if (options && options.rows) text(4, 12, options.rows, 'start');
    labels.forEach((label, i) => {
      text(left - 6, top + cell * i + cell / 2 + 4, String(label).slice(0, 14), 'end');
      text(left + cell * i + cell / 2, top - 6, String(label).slice(0, 5), 'middle');
    });
    counts.forEach((row, i) => row.forEach((count, j) => {
      const strength = count / max;
      svg.append(el('rect', { x: left + cell * j, y: top + cell * i, width: cell - 1, height: cell - 1,
        fill: `rgba(47, 111, 222, ${0.08 + 0.92 * strength})`, 'data-count': count },
      el('title', {}, `${labels[i]} → ${labels[j]}: ${count}`)));
      text(left + cell * j + cell / 2, top + cell * i + cell / 2 + 4, count, 'middle', strength > 0.55);
    }));
    return svg;
  }

  window.aerie = Object.freeze({
    csrf, api, request, signIn,
    el, $, $$, pick, items, flash, fail, fill, every,
    ms, seconds, percent, bytes, when, badge,
    palette,
    charts: Object.freeze({ line, bar, histogram, matrix, niceMax }),
  });
})();
