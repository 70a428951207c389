// Aerie console: fills the server-rendered pages from the JSON API.
// Requests go same-origin with the HttpOnly session cookie; state-changing ones carry the CSRF token
// from the page's <meta name="csrf-token"> in X-CSRF-Token. Data is always inserted as text, never as HTML.
'use strict';
(() => {
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = csrfMeta ? csrfMeta.content : '';
  const page = document.body.dataset.page;
  const palette = ['#2f6fde', '#e0793b', '#1f8a4c', '#9b51e0', '#c53030', '#0f9db4', '#b7791f', '#5a6478'];

  // ---- helpers -------------------------------------------------------------------------------------

  async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
    let payload;
    if (body !== undefined) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
    if (response.status === 401) {
      location.href = '/console/login?next=' + encodeURIComponent(location.pathname + location.search);
      throw new Error('The session has ended; sign in again.');
    }
    if (!response.ok) {
      let detail = `${method} ${path}: ${response.status} ${response.statusText}`;
      try {
        const problem = await response.json();
        if (problem && problem.detail) detail = problem.detail;
      } catch (_) { /* not JSON */ }
      const error = new Error(detail);
      error.status = response.status;
      throw error;
    }
    const text = await response.text();
    return text ? JSON.parse(text) : null;
  }

  /** Creates an element: h('a', {href: '/x', class: 'y'}, 'text', child…). Strings become text nodes. */
  function h(tag, attrs, ...children) {
    const svg = ['svg', 'g', 'line', 'polyline', 'rect', 'text', 'circle', 'path', 'title'].includes(tag);
    const node = svg ? document.createElementNS('http://www.w3.org/2000/svg', tag) : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  /** The first defined field among names (the API writes snake_case; tolerate camelCase too). */
  function pick(object, ...names) {
    if (!object) return undefined;
    for (const name of names) {
      if (object[name] !== undefined && object[name] !== null) return object[name];
    }
    return undefined;
  }

  function flash(message, kind) {
    const box = document.getElementById('flash');
    if (!box) return;
    box.textContent = message;
    box.className = 'flash ' + (kind || 'error');
    box.hidden = !message;
  }

  function fail(error) {
    flash(error && error.message ? error.message : String(error));
  }

  const ms = (value) => (value === undefined || value === null || Number.isNaN(Number(value)) ? '–'
    : Number(value) >= 1000 ? (Number(value) / 1000).toFixed(2) + ' s' : Number(value).toFixed(Number(value) < 10 ? 1 : 0) + ' ms');
  const when = (text) => (text ? new Date(text).toLocaleString() : '–');
  const badge = (text, kind) => h('span', { class: 'badge ' + (kind || text) }, text);
  const bytes = (n) => {
    if (n === undefined || n === null) return '–';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = Number(n);
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return (unit === 0 ? value : value.toFixed(1)) + ' ' + units[unit];
  };
  const items = (body) => (body && Array.isArray(body.items) ? body.items : Array.isArray(body) ? body : []);

  function fill(table, rows, emptyText) {
    const body = table.tBodies[0];
    body.replaceChildren();
    if (rows.length === 0) {
      body.append(h('tr', {}, h('td', { colspan: table.tHead.rows[0].cells.length, class: 'muted' }, emptyText)));
      return;
    }
    body.append(...rows);
  }

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

  function objectPath(bucket, key) {
    return '/v1/buckets/' + encodeURIComponent(bucket) + '/objects/' + key.split('/').map(encodeURIComponent).join('/');
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

  /** A line chart: series [{name, points: [[time ms, value or null]]}]; values in milliseconds. */
  function lineChart(container, series, emptyText) {
    container.replaceChildren();
    const all = series.flatMap((s) => s.points).filter((p) => p[1] !== null);
    if (all.length === 0) {
      container.append(h('div', { class: 'empty' }, emptyText));
      return;
    }
    const width = 900, height = 240, left = 56, right = 180, top = 10, bottom = 28;
    const times = series.flatMap((s) => s.points.map((p) => p[0]));
    const t0 = Math.min(...times), t1 = Math.max(...times, t0 + 1);
    const yMax = niceMax(Math.max(...all.map((p) => p[1])));
    const x = (t) => left + (width - left - right) * (t - t0) / (t1 - t0);
    const y = (v) => top + (height - top - bottom) * (1 - v / yMax);
    const svg = h('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'latency over time' });
    for (let i = 0; i <= 4; i += 1) {
      const value = yMax * i / 4;
      svg.append(h('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
      svg.append(h('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end' }, ms(value)));
    }
    svg.append(h('line', { class: 'axis', x1: left, x2: width - right, y1: y(0), y2: y(0) }));
    svg.append(h('text', { x: left, y: height - 8 }, new Date(t0).toLocaleTimeString()));
    svg.append(h('text', { x: width - right, y: height - 8, 'text-anchor': 'end' }, new Date(t1).toLocaleTimeString()));
    series.forEach((s, index) => {
      const color = palette[index % palette.length];
      // Split the line where a window had no requests.
      let run = [];
      const flush = () => {
        if (run.length > 1) svg.append(h('polyline', { points: run.join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }));
        if (run.length === 1) {
          const [cx, cy] = run[0].split(',');
          svg.append(h('circle', { cx, cy, r: 3, fill: color }));
        }
        run = [];
      };
      for (const [t, v] of s.points) {
        if (v === null) flush();
        else run.push(`${x(t).toFixed(1)},${y(v).toFixed(1)}`);
      }
      flush();
      const legend = h('g', { class: 'legend' });
      legend.append(h('rect', { x: width - right + 12, y: top + index * 18, width: 10, height: 10, fill: color }));
      legend.append(h('text', { x: width - right + 28, y: top + index * 18 + 9 }, s.name.length > 26 ? s.name.slice(0, 25) + '…' : s.name));
      legend.append(h('title', {}, s.name));
      svg.append(legend);
    });
    container.append(svg);
  }

  /** Horizontal grouped bars: rows [{label, values: [v1, v2], note}], one colour per value. */
  function barChart(container, rows, names, emptyText) {
    container.replaceChildren();
    if (rows.length === 0) {
      container.append(h('div', { class: 'empty' }, emptyText));
      return;
    }
    const width = 900, labelWidth = 300, right = 90, barHeight = 9, gap = 12;
    const rowHeight = names.length * barHeight + gap;
    const height = rows.length * rowHeight + 30;
    const xMax = niceMax(Math.max(...rows.flatMap((r) => r.values.filter((v) => v !== null && v !== undefined))));
    const x = (v) => labelWidth + (width - labelWidth - right) * v / xMax;
    const svg = h('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'latency by route' });
    for (let i = 0; i <= 4; i += 1) {
      const value = xMax * i / 4;
      svg.append(h('line', { class: 'grid', x1: x(value), x2: x(value), y1: 0, y2: height - 24 }));
      svg.append(h('text', { x: x(value), y: height - 10, 'text-anchor': 'middle' }, ms(value)));
    }
    rows.forEach((row, index) => {
      const top = index * rowHeight + 4;
      const label = row.label.length > 44 ? row.label.slice(0, 43) + '…' : row.label;
      svg.append(h('text', { x: labelWidth - 8, y: top + (names.length * barHeight) / 2 + 4, 'text-anchor': 'end' }, label, h('title', {}, row.label)));
      row.values.forEach((value, series) => {
        if (value === null || value === undefined) return;
        svg.append(h('rect', { x: labelWidth, y: top + series * barHeight, width: Math.max(1, x(value) - labelWidth), height: barHeight - 1,
          fill: palette[series % palette.length] }, h('title', {}, `${names[series]} ${ms(value)}`)));
      });
      const last = row.values[row.values.length - 1];
      svg.append(h('text', { x: x(last || 0) + 6, y: top + (names.length * barHeight) / 2 + 4 }, row.note || ms(last)));
    });
    const legend = h('g', { class: 'legend' });
    names.forEach((name, index) => {
      legend.append(h('rect', { x: 8 + index * 70, y: height - 19, width: 10, height: 10, fill: palette[index % palette.length] }));
      legend.append(h('text', { x: 22 + index * 70, y: height - 10 }, name));
    });
    svg.append(legend);
    container.append(svg);
  }

  /** Vertical bars, one per histogram bucket: buckets [{le (null for +Inf), count}] (counts per bucket, not cumulative). */
  function bucketChart(container, buckets, format, emptyText) {
    container.replaceChildren();
    if (!buckets.some((b) => b.count > 0)) {
      container.append(h('div', { class: 'empty' }, emptyText));
      return;
    }
    const width = 900, height = 200, left = 48, right = 10, top = 10, bottom = 34;
    const yMax = niceMax(Math.max(...buckets.map((b) => b.count)));
    const slot = (width - left - right) / buckets.length;
    const y = (v) => top + (height - top - bottom) * (1 - v / yMax);
    const svg = h('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-label': 'histogram' });
    for (let i = 0; i <= 4; i += 1) {
      const value = yMax * i / 4;
      svg.append(h('line', { class: 'grid', x1: left, x2: width - right, y1: y(value), y2: y(value) }));
      svg.append(h('text', { x: left - 6, y: y(value) + 4, 'text-anchor': 'end' }, Number.isInteger(value) ? value : Number(value.toFixed(2))));
    }
    svg.append(h('line', { class: 'axis', x1: left, x2: width - right, y1: y(0), y2: y(0) }));
    buckets.forEach((bucket, index) => {
      const x = left + index * slot;
      const label = bucket.le === null || bucket.le === undefined ? '+Inf' : '≤ ' + format(bucket.le);
      svg.append(h('rect', { class: 'bucket', x: x + 2, y: y(bucket.count), width: Math.max(1, slot - 4), height: y(0) - y(bucket.count),
        fill: palette[0], 'data-count': bucket.count }, h('title', {}, `${label}: ${bucket.count}`)));
      svg.append(h('text', { x: x + slot / 2, y: height - 18, 'text-anchor': 'middle' }, label));
    });
    container.append(svg);
  }

  /** The q quantile from cumulative [[upper bound ms, count]] buckets, as Prometheus' histogram_quantile. */
  function quantile(q, buckets) {
    const total = buckets.length ? buckets[buckets.length - 1][1] : 0;
    if (!(total > 0)) return null;
    const rank = q * total;
    let previousBound = 0, previousCount = 0;
    for (const [bound, cumulative] of buckets) {
      if (cumulative >= rank) {
        if (bound === null || !Number.isFinite(bound)) return previousBound;
        const inBucket = cumulative - previousCount;
        return inBucket > 0 ? previousBound + (bound - previousBound) * (rank - previousCount) / inBucket : bound;
      }
      previousBound = bound;
      previousCount = cumulative;
    }
    return previousBound;
  }

  // ---- pages ---------------------------------------------------------------------------------------

  const pages = {};

  pages.overview = () => {
    const setCount = (name, value) => {
      const node = document.querySelector(`[data-count="${name}"]`);
      if (node) node.textContent = value === undefined ? '–' : String(value);
    };
    const counts = async () => {
      const [functions, queues, topics, buckets, users] = await Promise.allSettled([
        api('GET', '/v1/functions'), api('GET', '/v1/queues'), api('GET', '/v1/topics'), api('GET', '/v1/buckets'), api('GET', '/v1/users'),
      ]);
      if (functions.status === 'fulfilled') {
        const list = items(functions.value);
        setCount('functions', list.length);
        setCount('invocations', list.reduce((sum, f) => sum + (pick(f.stats, 'invocations') || 0), 0));
        setCount('errors', list.reduce((sum, f) => sum + (pick(f.stats, 'errors') || 0), 0));
        barChart(document.getElementById('function-latency'),
          list.filter((f) => pick(f.stats, 'p95_ms', 'p95Ms') !== undefined).map((f) => ({
            label: f.name, values: [pick(f.stats, 'p50_ms', 'p50Ms'), pick(f.stats, 'p95_ms', 'p95Ms')],
            note: `${ms(pick(f.stats, 'p95_ms', 'p95Ms'))} · ${pick(f.stats, 'invocations') || 0} calls`,
          })), ['p50', 'p95'], 'No function has been invoked yet.');
      } else {
        document.getElementById('function-latency').replaceChildren(h('div', { class: 'empty' }, functions.reason.message));
      }
      if (queues.status === 'fulfilled') {
        const list = items(queues.value);
        setCount('queues', list.length);
        setCount('dead', list.reduce((sum, q) => sum + (pick(q.stats, 'dead_letters', 'deadLetters') || 0), 0));
      }
      if (topics.status === 'fulfilled') setCount('topics', items(topics.value).length);
      if (buckets.status === 'fulfilled') setCount('buckets', items(buckets.value).length);
      if (users.status === 'fulfilled') setCount('users', items(users.value).length);
    };

    // Latency: the gateway's histogram, sampled; the history survives page changes in sessionStorage.
    const storageKey = 'aerie-console-latency';
    let history = [];
    try { history = JSON.parse(sessionStorage.getItem(storageKey) || '[]'); } catch (_) { history = []; }
    const latency = async () => {
      const sample = await api('GET', '/console/api/latency');
      const now = Date.now();
      const routes = sample.routes || [];
      history.push({ time: now, routes: routes.map((r) => ({ key: `${r.method} ${r.route}`, count: r.count, buckets: r.buckets || [] })) });
      history = history.slice(-120);
      try { sessionStorage.setItem(storageKey, JSON.stringify(history)); } catch (_) { /* full */ }

      barChart(document.getElementById('latency-routes'), routes.slice(0, 12).map((r) => ({
        label: `${r.method} ${r.route}`, values: [r.p50_ms, r.p95_ms], note: `${ms(r.p95_ms)} · ${r.count} req`,
      })), ['p50', 'p95'], 'No requests recorded yet.');

      // Windowed p95: the difference of two cumulative histograms is the histogram of the window.
      const top = routes.slice(0, 6).map((r) => `${r.method} ${r.route}`);
      const series = top.map((key) => ({ name: key, points: [] }));
      for (let i = 0; i < history.length; i += 1) {
        const current = history[i];
        const previous = i > 0 ? history[i - 1] : null;
        top.forEach((key, index) => {
          const now = current.routes.find((r) => r.key === key);
          const before = previous && previous.routes.find((r) => r.key === key);
          if (!now) { series[index].points.push([current.time, null]); return; }
          if (!previous) { series[index].points.push([current.time, quantile(0.95, now.buckets)]); return; }
          const window = now.buckets.map(([bound, count], j) => [bound, count - (before && before.buckets[j] ? before.buckets[j][1] : 0)]);
          const requests = window.length ? window[window.length - 1][1] : 0;
          series[index].points.push([current.time, requests > 0 ? quantile(0.95, window) : null]);
        });
      }
      lineChart(document.getElementById('latency-history'), series, 'Collecting samples…');
    };
    every(5, counts);
    every(5, latency);
  };

  pages.functions = () => {
    const table = document.getElementById('functions');
    every(5, async () => {
      const list = items(await api('GET', '/v1/functions'));
      fill(table, list.map((f) => {
        const stats = f.stats || {};
        const configuration = f.configuration || {};
        const triggers = (f.triggers || []).map((t) => (typeof t === 'string' ? t : [t.kind, t.source].filter(Boolean).join(' ')));
        const limit = pick(configuration, 'concurrency') ?? pick(f, 'concurrency');
        const warm = pick(f, 'warm');
        return h('tr', { 'data-function': f.name },
          h('td', {}, h('a', { href: '/console/invocations?function=' + encodeURIComponent(f.name) }, f.name)),
          h('td', {}, pick(configuration, 'description') ?? pick(f, 'description') ?? ''),
          h('td', { class: 'muted' }, triggers.join(', ') || '–'),
          h('td', { class: 'num' }, pick(stats, 'invocations') ?? 0),
          h('td', { class: 'num' }, pick(stats, 'errors') ?? 0),
          h('td', { class: 'num' }, ms(pick(stats, 'p50_ms', 'p50Ms'))),
          h('td', { class: 'num' }, ms(pick(stats, 'p95_ms', 'p95Ms'))),
          h('td', { class: 'num' }, pick(stats, 'cold_starts', 'coldStarts') ?? 0),
          h('td', { class: 'num' }, `${pick(stats, 'in_flight', 'inFlight') ?? 0} / ${limit ?? '–'}`),
          h('td', {}, warm === undefined ? '–' : badge(warm ? 'warm' : 'cold')));
      }), 'No functions are registered.');
    });
  };

  pages.invocations = async () => {
    const table = document.getElementById('invocations');
    const functionSelect = document.getElementById('filter-function');
    const statusSelect = document.getElementById('filter-status');
    const auto = document.getElementById('auto-refresh');
    const params = new URLSearchParams(location.search);
    statusSelect.value = params.get('status') || '';
    try {
      for (const f of items(await api('GET', '/v1/functions'))) functionSelect.append(h('option', { value: f.name }, f.name));
    } catch (error) { fail(error); }
    if (params.get('function') && ![...functionSelect.options].some((o) => o.value === params.get('function'))) {
      functionSelect.append(h('option', { value: params.get('function') }, params.get('function')));
    }
    functionSelect.value = params.get('function') || '';

    const load = async () => {
      const query = new URLSearchParams({ limit: '100' });
      if (functionSelect.value) query.set('function', functionSelect.value);
      if (statusSelect.value) query.set('status', statusSelect.value);
      const list = items(await api('GET', '/v1/invocations?' + query));
      fill(table, list.map((record) => {
        const trigger = record.trigger && typeof record.trigger === 'object'
          ? [record.trigger.kind, record.trigger.source].filter(Boolean).join(' ') : (record.trigger || '');
        const cold = pick(record, 'cold_start', 'coldStart');
        return h('tr', { 'data-invocation': record.id },
          h('td', {}, h('a', { href: '/console/invocations/' + encodeURIComponent(record.id), class: 'invocation-link' }, h('code', {}, record.id))),
          h('td', {}, record.function),
          h('td', {}, badge(record.status)),
          h('td', { class: 'muted' }, trigger),
          h('td', { class: 'num' }, ms(pick(record, 'duration_ms', 'durationMs'))),
          h('td', {}, cold === undefined ? '' : cold ? badge('cold') : ''),
          h('td', {}, when(pick(record, 'created_at', 'createdAt'))));
      }), 'No invocations match.');
    };
    const changed = () => {
      const query = new URLSearchParams();
      if (functionSelect.value) query.set('function', functionSelect.value);
      if (statusSelect.value) query.set('status', statusSelect.value);
      history.replaceState(null, '', location.pathname + (query.toString() ? '?' + query : ''));
      load().catch(fail);
    };
    functionSelect.addEventListener('change', changed);
    statusSelect.addEventListener('change', changed);
    every(5, async () => { if (auto.checked || !table.dataset.loaded) { await load(); table.dataset.loaded = '1'; } });
  };

  pages.invocation = () => {
    const id = document.getElementById('invocation-id').dataset.id;
    const base = '/v1/invocations/' + encodeURIComponent(id);
    const summary = document.getElementById('summary');
    const eventsList = document.getElementById('events');
    const streamState = document.getElementById('stream-state');
    let finished = false;

    const loadRecord = async () => {
      const record = await api('GET', base);
      document.getElementById('record').textContent = JSON.stringify(record, null, 2);
      const stat = (label, value) => h('div', { class: 'card stat' }, h('span', { class: 'value' }, value), h('span', { class: 'label' }, label));
      const cold = pick(record, 'cold_start', 'coldStart');
      summary.replaceChildren(
        stat('status', badge(record.status)),
        stat('function', h('a', { href: '/console/invocations?function=' + encodeURIComponent(record.function) }, record.function)),
        stat('duration', ms(pick(record, 'duration_ms', 'durationMs'))),
        stat('start', cold === undefined ? '–' : cold ? 'cold' : 'warm'),
        stat('attempts', pick(record, 'attempts') ?? '–'),
        stat('created', when(pick(record, 'created_at', 'createdAt'))));
      finished = !['queued', 'running'].includes(record.status);
      return record;
    };
    const loadLogs = async () => {
      const list = items(await api('GET', base + '/logs'));
      fill(document.getElementById('logs'), list.map((entry) => {
        const data = entry.data && typeof entry.data === 'object' ? entry.data : entry;
        const level = pick(data, 'level') || 'info';
        const message = pick(data, 'message') ?? (typeof entry.data === 'string' ? entry.data : JSON.stringify(data));
        return h('tr', { class: 'log-line' }, h('td', { class: 'muted' }, when(pick(entry, 'time', 'timestamp'))),
          h('td', {}, badge(level, level === 'error' ? 'failed' : level === 'warning' ? 'running' : 'cold')), h('td', {}, message));
      }), 'No log lines.');
    };

    const stream = new EventSource(base + '/events');
    const show = (kind, event) => {
      let text = event.data;
      try {
        const data = JSON.parse(event.data);
        text = kind === 'progress' ? `${Math.round((pick(data, 'fraction', 'progress') || 0) * 100)}% ${data.message || ''}`
          : kind === 'log' ? `${data.level || 'info'}: ${data.message || ''}` : JSON.stringify(data);
      } catch (_) { /* plain text */ }
      eventsList.append(h('li', { class: 'event ' + kind }, h('span', { class: 'kind' }, kind), ' ', text));
    };
    stream.onopen = () => { streamState.textContent = 'live'; };
    stream.addEventListener('progress', (event) => show('progress', event));
    stream.addEventListener('log', (event) => { show('log', event); loadLogs().catch(fail); });
    stream.addEventListener('message', (event) => show('message', event));
    const end = (kind, event) => {
      show(kind, event);
      stream.close();
      streamState.textContent = 'ended';
      loadRecord().then(loadLogs).catch(fail);
    };
    stream.addEventListener('result', (event) => end('result', event));
    stream.addEventListener('error', (event) => {
      if (event.data !== undefined) { end('error', event); return; }
      // A dropped connection: EventSource reconnects with Last-Event-ID unless the invocation is over.
      if (finished || stream.readyState === EventSource.CLOSED) {
        stream.close();
        streamState.textContent = finished ? 'ended' : 'disconnected';
      } else {
        streamState.textContent = 'reconnecting…';
      }
    });

    loadRecord().then(loadLogs).catch(fail);
  };

  pages.queues = () => {
    const table = document.getElementById('queues');
    const card = document.getElementById('dead-letters-card');
    const deadTable = document.getElementById('dead-letters');
    let selected = null;

    const redrive = async (queue, ids) => {
      const result = await api('POST', '/v1/queues/' + encodeURIComponent(queue) + '/redrive', ids ? { ids } : {});
      flash(`Moved ${result && result.redriven !== undefined ? result.redriven : 'the'} message(s) back to ${queue}.`, 'info');
      await Promise.all([loadQueues(), loadDead()]);
    };
    const loadDead = async () => {
      if (!selected) return;
      card.hidden = false;
      document.getElementById('dead-letters-queue').textContent = selected;
      const list = items(await api('GET', '/v1/queues/' + encodeURIComponent(selected) + '/dead-letters?limit=100'));
      fill(deadTable, list.map((message) => h('tr', { 'data-message': message.id },
        h('td', {}, h('code', {}, message.id)),
        h('td', { class: 'num' }, message.attempts),
        h('td', {}, pick(message, 'last_error', 'lastError') || '–'),
        h('td', {}, when(pick(message, 'dead_at', 'deadAt'))),
        h('td', { class: 'json', title: JSON.stringify(message.body) }, JSON.stringify(message.body)),
        h('td', {}, h('button', { type: 'button', class: 'secondary redrive', onclick: () => redrive(selected, [message.id]).catch(fail) }, 'Redrive')))),
      'No dead letters.');
    };
    const loadQueues = async () => {
      const list = items(await api('GET', '/v1/queues'));
      fill(table, list.map((queue) => {
        const stats = queue.stats || {};
        const dead = pick(stats, 'dead_letters', 'deadLetters') || 0;
        return h('tr', { 'data-queue': queue.name },
          h('td', {}, h('strong', {}, queue.name)),
          h('td', { class: 'num' }, pick(stats, 'visible') ?? 0),
          h('td', { class: 'num' }, pick(stats, 'in_flight', 'inFlight') ?? 0),
          h('td', { class: 'num' }, pick(stats, 'delayed') ?? 0),
          h('td', { class: 'num' }, dead > 0 ? badge(String(dead), 'failed') : '0'),
          h('td', { class: 'num' }, pick(queue, 'max_attempts', 'maxAttempts') ?? '–'),
          h('td', { class: 'num' }, queue.visibility_timeout !== undefined ? queue.visibility_timeout + ' s' : '–'),
          h('td', {}, h('button', { type: 'button', class: 'secondary', onclick: () => { selected = queue.name; loadDead().catch(fail); } }, 'Dead letters')));
      }), 'No queues yet.');
    };
    document.getElementById('redrive-all').addEventListener('click', () => { if (selected) redrive(selected, null).catch(fail); });
    every(5, async () => { await loadQueues(); await loadDead(); });
  };

  pages.topics = () => {
    const table = document.getElementById('topics');
    every(5, async () => {
      const list = items(await api('GET', '/console/api/topics'));
      fill(table, list.map((topic) => h('tr', { 'data-topic': topic.name },
        h('td', {}, h('strong', {}, topic.name)),
        h('td', { class: 'num' }, pick(topic, 'next_offset', 'nextOffset')),
        h('td', {}, (topic.consumers || []).length === 0 ? h('span', { class: 'muted' }, 'no consumer group has committed')
          : h('ul', { class: 'plain' }, topic.consumers.map((c) => h('li', {}, h('code', {}, c.group), ` at ${c.offset}, `,
            c.lag > 0 ? badge(`${c.lag} behind`, 'running') : badge('caught up', 'succeeded'))))))),
      'No topics yet: a topic exists once an event is appended.');
    });
  };

  pages.objects = () => {
    const table = document.getElementById('objects');
    const crumbs = document.getElementById('crumbs');
    const more = document.getElementById('more-objects');
    const params = new URLSearchParams(location.search);
    const bucket = params.get('bucket');
    const prefix = params.get('prefix') || '';
    const link = (b, p) => '/console/objects?' + new URLSearchParams(b ? (p ? { bucket: b, prefix: p } : { bucket: b }) : {});

    crumbs.replaceChildren(h('a', { href: '/console/objects' }, 'Buckets'));
    if (bucket) {
      crumbs.append(' / ', h('a', { href: link(bucket, '') }, bucket));
      let walked = '';
      for (const part of prefix.split('/').filter(Boolean)) {
        walked += part + '/';
        crumbs.append(' / ', h('a', { href: link(bucket, walked) }, part));
      }
    }

    if (!bucket) {
      api('GET', '/v1/buckets').then((body) => fill(table, items(body).map((b) => h('tr', { 'data-bucket': b.name },
        h('td', {}, h('a', { href: link(b.name, '') }, '🗀 ' + b.name)), h('td', {}), h('td', { class: 'muted' }, 'bucket'),
        h('td', {}, when(pick(b, 'created_at', 'createdAt'))), h('td', {}), h('td', {}), h('td', {}))), 'No buckets yet.')).catch(fail);
      return;
    }

    const rows = [];
    const load = async (cursor) => {
      const query = new URLSearchParams({ prefix, delimiter: '/', limit: '200' });
      if (cursor) query.set('cursor', cursor);
      const listing = await api('GET', '/v1/buckets/' + encodeURIComponent(bucket) + '/objects?' + query);
      for (const folder of listing.common_prefixes || []) {
        rows.push(h('tr', { 'data-prefix': folder },
          h('td', {}, h('a', { href: link(bucket, folder) }, '🗀 ' + folder.slice(prefix.length))),
          h('td', {}), h('td', { class: 'muted' }, 'folder'), h('td', {}), h('td', {}), h('td', {}), h('td', {})));
      }
      for (const object of items(listing)) {
        const metadata = Object.entries(object.metadata || {}).map(([k, v]) => `${k}=${v}`).join(', ');
        rows.push(h('tr', { 'data-key': object.key },
          h('td', {}, object.key.slice(prefix.length)),
          h('td', { class: 'num' }, bytes(object.size)),
          h('td', {}, pick(object, 'content_type', 'contentType') || ''),
          h('td', {}, when(pick(object, 'last_modified', 'lastModified'))),
          h('td', {}, h('code', {}, (object.etag || '').replace(/"/g, '').slice(0, 12))),
          h('td', { class: 'muted' }, metadata),
          h('td', {}, h('a', { href: objectPath(bucket, object.key), download: object.key.split('/').pop() }, 'Download'))));
      }
      fill(table, rows, prefix ? 'Nothing under this prefix.' : 'This bucket is empty.');
      const next = pick(listing, 'next_cursor', 'nextCursor');
      more.hidden = !next;
      more.onclick = () => load(next).catch(fail);
    };
    load(null).catch(fail);
  };

  pages.users = () => {
    const usersTable = document.getElementById('users');
    const keysTable = document.getElementById('keys');
    const loadUsers = async () => {
      const list = items(await api('GET', '/v1/users'));
      fill(usersTable, list.map((user) => h('tr', { 'data-user': user.username },
        h('td', {}, h('strong', {}, user.username)),
        h('td', {}, user.role),
        h('td', {}, user.disabled ? badge('disabled') : badge('enabled')),
        h('td', {}, when(pick(user, 'created_at', 'createdAt'))),
        h('td', {}, user.disabled ? '' : h('button', { type: 'button', class: 'danger disable', onclick: async () => {
          if (!confirm(`Disable ${user.username}? Their tokens, keys and sessions stop working at once.`)) return;
          try { await api('POST', '/v1/users/' + encodeURIComponent(user.username) + '/disable'); await loadUsers(); } catch (error) { fail(error); }
        } }, 'Disable')))), 'No users.');
    };
    const loadKeys = async () => {
      const list = items(await api('GET', '/v1/keys'));
      fill(keysTable, list.map((key) => {
        const revoked = pick(key, 'revoked_at', 'revokedAt');
        return h('tr', { 'data-key-id': key.id },
          h('td', {}, h('code', {}, key.id)), h('td', {}, key.name), h('td', {}, key.owner),
          h('td', {}, (key.scopes || []).join(', ')), h('td', {}, when(pick(key, 'created_at', 'createdAt'))),
          h('td', {}, revoked ? badge('revoked') : badge('enabled')),
          h('td', {}, revoked ? '' : h('button', { type: 'button', class: 'danger revoke', onclick: async () => {
            if (!confirm(`Revoke key ${key.name} (${key.id})? It stops working at once.`)) return;
            try { await api('DELETE', '/v1/keys/' + encodeURIComponent(key.id)); await loadKeys(); } catch (error) { fail(error); }
          } }, 'Revoke')));
      }), 'No API keys.');
    };
    document.getElementById('create-user').addEventListener('submit', async (event) => {
      event.preventDefault();
      const form = event.target;
      try {
        await api('POST', '/v1/users', { username: form.username.value, password: form.password.value, role: form.role.value });
        flash(`Created user ${form.username.value}.`, 'info');
        form.reset();
        await loadUsers();
      } catch (error) { fail(error); }
    });
    document.getElementById('create-key').addEventListener('submit', async (event) => {
      event.preventDefault();
      const form = event.target;
      const scopes = [...form.querySelectorAll('input[name="scopes"]:checked')].map((box) => box.value);
      const body = { name: form.elements.name.value, scopes };
      if (form.owner.value) body.owner = form.owner.value;
      try {
        const created = await api('POST', '/v1/keys', body);
        document.getElementById('new-key-secret').textContent = created.key;
        document.getElementById('new-key').hidden = false;
        flash('', 'info');
        form.reset();
        await loadKeys();
      } catch (error) { fail(error); }
    });
    loadUsers().catch(fail);
    loadKeys().catch(fail);
  };

  pages.apps = () => {
    const root = document.getElementById('app-panels');
    const number = (value) => (value === null || value === undefined ? '–'
      : Number.isInteger(value) ? String(value) : Number(value).toFixed(3));
    const formatter = (unit) => (unit === 'seconds' ? (value) => (value === null || value === undefined ? '–' : ms(value * 1000)) : number);
    const render = (body) => {
      const panels = (body && body.panels) || [];
      if (panels.length === 0) {
        root.replaceChildren(h('div', { class: 'empty' }, 'No enabled app declares a console panel.'));
        return;
      }
      root.replaceChildren(...panels.map((panel) => {
        const stats = h('div', { class: 'cards' }, (panel.stats || []).map((stat) => h('div', { class: 'card stat', 'data-stat': stat.label },
          h('span', { class: 'value' }, stat.kind === 'ratio'
            ? (stat.value === null || stat.value === undefined ? '–' : (stat.value * 100).toFixed(1) + ' %')
            : number(stat.value)),
          h('span', { class: 'label' }, stat.label))));
        const histograms = panel.histograms || [];
        const table = h('table', { class: 'data histograms' },
          h('thead', {}, h('tr', {}, ['', 'count', 'mean', 'p50', 'p95'].map((name) => h('th', {}, name)))),
          h('tbody', {}, histograms.map((histogram) => {
            const format = formatter(histogram.unit);
            return h('tr', { 'data-histogram': histogram.label },
              h('td', {}, histogram.label, h('div', { class: 'muted small' }, histogram.metric)),
              h('td', { 'data-field': 'count' }, String(histogram.count)),
              h('td', { 'data-field': 'mean' }, format(histogram.mean)),
              h('td', { 'data-field': 'p50' }, format(histogram.p50)),
              h('td', { 'data-field': 'p95' }, format(histogram.p95)));
          })));
        const charts = histograms.filter((histogram) => histogram.chart).map((histogram) => {
          const chart = h('div', { class: 'chart', 'data-chart': histogram.label });
          bucketChart(chart, histogram.buckets || [], formatter(histogram.unit), 'Nothing observed yet.');
          return h('div', {}, h('h3', {}, histogram.label), chart);
        });
        return h('section', { class: 'card', 'data-panel': panel.app },
          h('h2', {}, panel.title, ' ', h('span', { class: 'muted small' }, panel.app)),
          stats, histograms.length ? table : null, charts);
      }));
    };
    every(5, async () => render(await api('GET', '/console/api/apps')));
  };

  if (pages[page]) {
    Promise.resolve(pages[page]()).catch(fail);
  }
})();
