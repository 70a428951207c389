// Aerie console: fills the server-rendered pages from the JSON API, with the page kit's helpers (kit.js, loaded
// first). Data is always inserted as text, never as HTML.
'use strict';
(() => {
  const { api, el, $, pick, items, flash, fail, fill, every, ms, when, badge, bytes, charts } = aerie;
  const page = document.body.dataset.page;

  function objectPath(bucket, key) {
    return '/v1/buckets/' + encodeURIComponent(bucket) + '/objects/' + key.split('/').map(encodeURIComponent).join('/');
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
        charts.bar($('function-latency'),
          list.filter((f) => pick(f.stats, 'p95_ms', 'p95Ms') !== undefined).map((f) => ({
            label: f.name, values: [pick(f.stats, 'p50_ms', 'p50Ms'), pick(f.stats, 'p95_ms', 'p95Ms')],
            note: `${ms(pick(f.stats, 'p95_ms', 'p95Ms'))} · ${pick(f.stats, 'invocations') || 0} calls`,
          })), ['p50', 'p95'], 'No function has been invoked yet.', { format: ms, label: 'function latency' });
      } else {
        $('function-latency').replaceChildren(el('div', { class: 'empty' }, functions.reason.message));
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

      charts.bar($('latency-routes'), routes.slice(0, 12).map((r) => ({
        label: `${r.method} ${r.route}`, values: [r.p50_ms, r.p95_ms], note: `${ms(r.p95_ms)} · ${r.count} req`,
      })), ['p50', 'p95'], 'No requests recorded yet.', { format: ms, label: 'latency by route' });

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
      charts.line($('latency-history'), series, 'Collecting samples…', { format: ms, label: 'latency over time' });
    };
    const nodes = async () => {
      const list = items(await api('GET', '/v1/nodes'));
      fill($('nodes'), list.map((node) => el('tr', { 'data-node': node.id },
        el('td', {}, el('code', {}, node.address)), el('td', {}, (node.roles || []).join(', ')), el('td', {}, `${node.host} (pid ${node.pid})`),
        el('td', {}, node.load1 === null || node.load1 === undefined ? '–' : node.load1.toFixed(2)), el('td', {}, String(node.running)),
        el('td', {}, when(pick(node, 'started_at', 'startedAt'))), el('td', {}, when(pick(node, 'heartbeat_at', 'heartbeatAt'))),
        el('td', {}, node.alive ? badge('alive') : badge('silent')))), 'No node has reported yet.');
    };
    every(5, counts);
    every(5, latency);
    every(5, nodes);
  };

  pages.functions = () => {
    const table = $('functions');
    every(5, async () => {
      const list = items(await api('GET', '/v1/functions'));
      fill(table, list.map((f) => {
        const stats = f.stats || {};
        const configuration = f.configuration || {};
        const triggers = (f.triggers || []).map((t) => (typeof t === 'string' ? t : [t.kind, t.source].filter(Boolean).join(' ')));
        const limit = pick(configuration, 'concurrency') ?? pick(f, 'concurrency');
        const warm = pick(f, 'warm');
        return el('tr', { 'data-function': f.name },
          el('td', {}, el('a', { href: '/console/invocations?function=' + encodeURIComponent(f.name) }, f.name)),
          el('td', {}, pick(configuration, 'description') ?? pick(f, 'description') ?? ''),
          el('td', { class: 'muted' }, triggers.join(', ') || '–'),
          el('td', { class: 'num' }, pick(stats, 'invocations') ?? 0),
          el('td', { class: 'num' }, pick(stats, 'errors') ?? 0),
          el('td', { class: 'num' }, ms(pick(stats, 'p50_ms', 'p50Ms'))),
          el('td', { class: 'num' }, ms(pick(stats, 'p95_ms', 'p95Ms'))),
          el('td', { class: 'num' }, pick(stats, 'cold_starts', 'coldStarts') ?? 0),
          el('td', { class: 'num' }, `${pick(stats, 'in_flight', 'inFlight') ?? 0} / ${limit ?? '–'}`),
          el('td', {}, warm === undefined ? '–' : badge(warm ? 'warm' : 'cold')));
      }), 'No functions are registered.');
    });
  };

  pages.invocations = async () => {
    const table = $('invocations');
    const functionSelect = $('filter-function');
    const statusSelect = $('filter-status');
    const auto = $('auto-refresh');
    const params = new URLSearchParams(location.search);
    statusSelect.value = params.get('status') || '';
    try {
      for (const f of items(await api('GET', '/v1/functions'))) functionSelect.append(el('option', { value: f.name }, f.name));
    } catch (error) { fail(error); }
    if (params.get('function') && ![...functionSelect.options].some((o) => o.value === params.get('function'))) {
      functionSelect.append(el('option', { value: params.get('function') }, params.get('function')));
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
        return el('tr', { 'data-invocation': record.id },
          el('td', {}, el('a', { href: '/console/invocations/' + encodeURIComponent(record.id), class: 'invocation-link' }, el('code', {}, record.id))),
          el('td', {}, record.function),
          el('td', {}, badge(record.status)),
          el('td', { class: 'muted' }, trigger),
          el('td', { class: 'num' }, ms(pick(record, 'duration_ms', 'durationMs'))),
          el('td', {}, cold === undefined ? '' : cold ? badge('cold') : ''),
          el('td', {}, when(pick(record, 'created_at', 'createdAt'))));
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
    const id = $('invocation-id').dataset.id;
    const base = '/v1/invocations/' + encodeURIComponent(id);
    const summary = $('summary');
    const eventsList = $('events');
    const streamState = $('stream-state');
    let finished = false;

    const loadRecord = async () => {
      const record = await api('GET', base);
      $('record').textContent = JSON.stringify(record, null, 2);
      const stat = (label, value) => el('div', { class: 'card stat' }, el('span', { class: 'value' }, value), el('span', { class: 'label' }, label));
      const cold = pick(record, 'cold_start', 'coldStart');
      summary.replaceChildren(
        stat('status', badge(record.status)),
        stat('function', el('a', { href: '/console/invocations?function=' + encodeURIComponent(record.function) }, record.function)),
        stat('duration', ms(pick(record, 'duration_ms', 'durationMs'))),
        stat('start', cold === undefined ? '–' : cold ? 'cold' : 'warm'),
        stat('attempts', pick(record, 'attempts') ?? '–'),
        stat('created', when(pick(record, 'created_at', 'createdAt'))));
      finished = !['queued', 'running'].includes(record.status);
      return record;
    };
    const loadLogs = async () => {
      const list = items(await api('GET', base + '/logs'));
      fill($('logs'), list.map((entry) => {
        const data = entry.data && typeof entry.data === 'object' ? entry.data : entry;
        const level = pick(data, 'level') || 'info';
        const message = pick(data, 'message') ?? (typeof entry.data === 'string' ? entry.data : JSON.stringify(data));
        return el('tr', { class: 'log-line' }, el('td', { class: 'muted' }, when(pick(entry, 'time', 'timestamp'))),
          el('td', {}, badge(level, level === 'error' ? 'failed' : level === 'warning' ? 'running' : 'cold')), el('td', {}, message));
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
      eventsList.append(el('li', { class: 'event ' + kind }, el('span', { class: 'kind' }, kind), ' ', text));
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
    const table = $('queues');
    const card = $('dead-letters-card');
    const deadTable = $('dead-letters');
    let selected = null;

    const redrive = async (queue, ids) => {
      const result = await api('POST', '/v1/queues/' + encodeURIComponent(queue) + '/redrive', ids ? { ids } : {});
      flash(`Moved ${result && result.redriven !== undefined ? result.redriven : 'the'} message(s) back to ${queue}.`, 'info');
      await Promise.all([loadQueues(), loadDead()]);
    };
    const loadDead = async () => {
      if (!selected) return;
      card.hidden = false;
      $('dead-letters-queue').textContent = selected;
      const list = items(await api('GET', '/v1/queues/' + encodeURIComponent(selected) + '/dead-letters?limit=100'));
      fill(deadTable, list.map((message) => el('tr', { 'data-message': message.id },
        el('td', {}, el('code', {}, message.id)),
        el('td', { class: 'num' }, message.attempts),
        el('td', {}, pick(message, 'last_error', 'lastError') || '–'),
        el('td', {}, when(pick(message, 'dead_at', 'deadAt'))),
        el('td', { class: 'json', title: JSON.stringify(message.body) }, JSON.stringify(message.body)),
        el('td', {}, el('button', { type: 'button', class: 'secondary redrive', onclick: () => redrive(selected, [message.id]).catch(fail) }, 'Redrive')))),
      'No dead letters.');
    };
    const loadQueues = async () => {
      const list = items(await api('GET', '/v1/queues'));
      fill(table, list.map((queue) => {
        const stats = queue.stats || {};
        const dead = pick(stats, 'dead_letters', 'deadLetters') || 0;
        return el('tr', { 'data-queue': queue.name },
          el('td', {}, el('strong', {}, queue.name)),
          el('td', { class: 'num' }, pick(stats, 'visible') ?? 0),
          el('td', { class: 'num' }, pick(stats, 'in_flight', 'inFlight') ?? 0),
          el('td', { class: 'num' }, pick(stats, 'delayed') ?? 0),
          el('td', { class: 'num' }, dead > 0 ? badge(String(dead), 'failed') : '0'),
          el('td', { class: 'num' }, pick(queue, 'max_attempts', 'maxAttempts') ?? '–'),
          el('td', { class: 'num' }, queue.visibility_timeout !== undefined ? queue.visibility_timeout + ' s' : '–'),
          el('td', {}, el('button', { type: 'button', class: 'secondary', onclick: () => { selected = queue.name; loadDead().catch(fail); } }, 'Dead letters')));
      }), 'No queues yet.');
    };
    $('redrive-all').addEventListener('click', () => { if (selected) redrive(selected, null).catch(fail); });
    every(5, async () => { await loadQueues(); await loadDead(); });
  };

  pages.topics = () => {
    const table = $('topics');
    every(5, async () => {
      const list = items(await api('GET', '/console/api/topics'));
      fill(table, list.map((topic) => el('tr', { 'data-topic': topic.name },
        el('td', {}, el('strong', {}, topic.name)),
        el('td', { class: 'num' }, pick(topic, 'next_offset', 'nextOffset')),
        el('td', {}, (topic.consumers || []).length === 0 ? el('span', { class: 'muted' }, 'no consumer group has committed')
          : el('ul', { class: 'plain' }, topic.consumers.map((c) => el('li', {}, el('code', {}, c.group), ` at ${c.offset}, `,
            c.lag > 0 ? badge(`${c.lag} behind`, 'running') : badge('caught up', 'succeeded'))))))),
      'No topics yet: a topic exists once an event is appended.');
    });
  };

  pages.objects = () => {
    const table = $('objects');
    const crumbs = $('crumbs');
    const more = $('more-objects');
    const params = new URLSearchParams(location.search);
    const bucket = params.get('bucket');
    const prefix = params.get('prefix') || '';
    const link = (b, p) => '/console/objects?' + new URLSearchParams(b ? (p ? { bucket: b, prefix: p } : { bucket: b }) : {});

    crumbs.replaceChildren(el('a', { href: '/console/objects' }, 'Buckets'));
    if (bucket) {
      crumbs.append(' / ', el('a', { href: link(bucket, '') }, bucket));
      let walked = '';
      for (const part of prefix.split('/').filter(Boolean)) {
        walked += part + '/';
        crumbs.append(' / ', el('a', { href: link(bucket, walked) }, part));
      }
    }

    if (!bucket) {
      api('GET', '/v1/buckets').then((body) => fill(table, items(body).map((b) => el('tr', { 'data-bucket': b.name },
        el('td', {}, el('a', { href: link(b.name, '') }, '🗀 ' + b.name)), el('td', {}), el('td', { class: 'muted' }, 'bucket'),
        el('td', {}, when(pick(b, 'created_at', 'createdAt'))), el('td', {}), el('td', {}), el('td', {}))), 'No buckets yet.')).catch(fail);
      return;
    }

    const rows = [];
    const load = async (cursor) => {
      const query = new URLSearchParams({ prefix, delimiter: '/', limit: '200' });
      if (cursor) query.set('cursor', cursor);
      const listing = await api('GET', '/v1/buckets/' + encodeURIComponent(bucket) + '/objects?' + query);
      for (const folder of listing.common_prefixes || []) {
        rows.push(el('tr', { 'data-prefix': folder },
          el('td', {}, el('a', { href: link(bucket, folder) }, '🗀 ' + folder.slice(prefix.length))),
          el('td', {}), el('td', { class: 'muted' }, 'folder'), el('td', {}), el('td', {}), el('td', {}), el('td', {})));
      }
      for (const object of items(listing)) {
        const metadata = Object.entries(object.metadata || {}).map(([k, v]) => `${k}=${v}`).join(', ');
        rows.push(el('tr', { 'data-key': object.key },
          el('td', {}, object.key.slice(prefix.length)),
          el('td', { class: 'num' }, bytes(object.size)),
          el('td', {}, pick(object, 'content_type', 'contentType') || ''),
          el('td', {}, when(pick(object, 'last_modified', 'lastModified'))),
          el('td', {}, el('code', {}, (object.etag || '').replace(/"/g, '').slice(0, 12))),
          el('td', { class: 'muted' }, metadata),
          el('td', {}, el('a', { href: objectPath(bucket, object.key), download: object.key.split('/').pop() }, 'Download'))));
      }
      fill(table, rows, prefix ? 'Nothing under this prefix.' : 'This bucket is empty.');
      const next = pick(listing, 'next_cursor', 'nextCursor');
      more.hidden = !next;
      more.onclick = () => load(next).catch(fail);
    };
    load(null).catch(fail);
  };

  pages.users = () => {
    const usersTable = $('users');
    const keysTable = $('keys');
    const loadUsers = async () => {
      const list = items(await api('GET', '/v1/users'));
      fill(usersTable, list.map((user) => el('tr', { 'data-user': user.username },
        el('td', {}, el('strong', {}, user.username)),
        el('td', {}, user.role),
        el('td', {}, user.disabled ? badge('disabled') : badge('enabled')),
        el('td', {}, when(pick(user, 'created_at', 'createdAt'))),
        el('td', {}, user.disabled ? '' : el('button', { type: 'button', class: 'danger disable', onclick: async () => {
          if (!confirm(`Disable ${user.username}? Their tokens, keys and sessions stop working at once.`)) return;
          try { await api('POST', '/v1/users/' + encodeURIComponent(user.username) + '/disable'); await loadUsers(); } catch (error) { fail(error); }
        } }, 'Disable')))), 'No users.');
    };
    const loadKeys = async () => {
      const list = items(await api('GET', '/v1/keys'));
      fill(keysTable, list.map((key) => {
        const revoked = pick(key, 'revoked_at', 'revokedAt');
        return el('tr', { 'data-key-id': key.id },
          el('td', {}, el('code', {}, key.id)), el('td', {}, key.name), el('td', {}, key.owner),
          el('td', {}, (key.scopes || []).join(', ')), el('td', {}, when(pick(key, 'created_at', 'createdAt'))),
          el('td', {}, revoked ? badge('revoked') : badge('enabled')),
          el('td', {}, revoked ? '' : el('button', { type: 'button', class: 'danger revoke', onclick: async () => {
            if (!confirm(`Revoke key ${key.name} (${key.id})? It stops working at once.`)) return;
            try { await api('DELETE', '/v1/keys/' + encodeURIComponent(key.id)); await loadKeys(); } catch (error) { fail(error); }
          } }, 'Revoke')));
      }), 'No API keys.');
    };
    $('create-user').addEventListener('submit', async (event) => {
      event.preventDefault();
      const form = event.target;
      try {
        await api('POST', '/v1/users', { username: form.username.value, password: form.password.value, role: form.role.value });
        flash(`Created user ${form.username.value}.`, 'info');
        form.reset();
        await loadUsers();
      } catch (error) { fail(error); }
    });
    $('create-key').addEventListener('submit', async (event) => {
      event.preventDefault();
      const form = event.target;
      const scopes = [...form.querySelectorAll('input[name="scopes"]:checked')].map((box) => box.value);
      const body = { name: form.elements.name.value, scopes };
      if (form.owner.value) body.owner = form.owner.value;
      try {
        const created = await api('POST', '/v1/keys', body);
        $('new-key-secret').textContent = created.key;
        $('new-key').hidden = false;
        flash('', 'info');
        form.reset();
        await loadKeys();
      } catch (error) { fail(error); }
    });
    loadUsers().catch(fail);
    loadKeys().catch(fail);
  };

  pages.apps = () => {
    const root = $('app-panels');
    const number = (value) => (value === null || value === undefined ? '–'
      : Number.isInteger(value) ? String(value) : Number(value).toFixed(3));
    const formatter = (unit) => (unit === 'seconds' ? (value) => (value === null || value === undefined ? '–' : ms(value * 1000)) : number);
    const render = (body) => {
      const panels = (body && body.panels) || [];
      if (panels.length === 0) {
        root.replaceChildren(el('div', { class: 'empty' }, 'No enabled app declares a console panel.'));
        return;
      }
      root.replaceChildren(...panels.map((panel) => {
        const stats = el('div', { class: 'cards' }, (panel.stats || []).map((stat) => el('div', { class: 'card stat', 'data-stat': stat.label },
          el('span', { class: 'value' }, stat.kind === 'ratio'
            ? (stat.value === null || stat.value === undefined ? '–' : (stat.value * 100).toFixed(1) + ' %')
            : number(stat.value)),
          el('span', { class: 'label' }, stat.label))));
        const histograms = panel.histograms || [];
        const table = el('table', { class: 'data histograms' },
          el('thead', {}, el('tr', {}, ['', 'count', 'mean', 'p50', 'p95'].map((name) => el('th', {}, name)))),
          el('tbody', {}, histograms.map((histogram) => {
            const format = formatter(histogram.unit);
            return el('tr', { 'data-histogram': histogram.label },
              el('td', {}, histogram.label, el('div', { class: 'muted small' }, histogram.metric)),
              el('td', { 'data-field': 'count' }, String(histogram.count)),
              el('td', { 'data-field': 'mean' }, format(histogram.mean)),
              el('td', { 'data-field': 'p50' }, format(histogram.p50)),
              el('td', { 'data-field': 'p95' }, format(histogram.p95)));
          })));
        const chartBlocks = histograms.filter((histogram) => histogram.chart).map((histogram) => {
          const chart = el('div', { class: 'chart', 'data-chart': histogram.label });
          charts.histogram(chart, histogram.buckets || [], formatter(histogram.unit), 'Nothing observed yet.');
          return el('div', {}, el('h3', {}, histogram.label), chart);
        });
        return el('section', { class: 'card', 'data-panel': panel.app },
          el('h2', {}, panel.title, ' ', el('span', { class: 'muted small' }, panel.app)),
          stats, histograms.length ? table : null, chartBlocks);
      }));
    };
    every(5, async () => render(await api('GET', '/console/api/apps')));
  };

  if (pages[page]) {
    Promise.resolve(pages[page]()).catch(fail);
  }
})();
