// Aerie Lab admin page: the behavioural records of the Lab's services, filtered by topic, service and time, with
// re-emit; the consumer groups of the Lab's topics with their offsets and lag, with rewind. On the page kit (kit.js).
'use strict';
(() => {
  const { api, el, $, flash, fail, fill, when } = aerie;
  /** The table whose body has this id, for aerie.fill. */
  const tableOf = (id) => $(id).closest('table');
  const base = '/v1/apps/lab';
  const topics = ['catalog', 'training', 'evaluation', 'session', 'sessionRecord', 'sessionUpdate', 'storage', 'storageRecord'];
  const services = ['client', 'catalog', 'training', 'evaluation', 'session', 'storage'];
  let cursor = null;

  $('records-topic').append(...topics.map((t) => el('option', { value: t }, t)));
  $('records-service').append(...services.map((s) => el('option', { value: s }, s)));

  function query() {
    const parts = [];
    const add = (name, value) => { if (value) parts.push(`${name}=${encodeURIComponent(value)}`); };
    add('topic', $('records-topic').value);
    add('service', $('records-service').value);
    const time = (id) => ($(id).value ? new Date($(id).value).toISOString() : '');
    add('since', time('records-since'));
    add('until', time('records-until'));
    return parts;
  }

  function recordRow(record) {
    return el('tr', { 'data-topic': record.topic, 'data-offset': String(record.offset) },
      el('td', { class: 'small' }, when(record.time)), el('td', {}, record.topic), el('td', { class: 'num' }, String(record.offset)),
      el('td', {}, record.key || '–'), el('td', {}, `${record.source_service} → ${record.destination_service}`),
      el('td', {}, `${record.message_type} · ${record.com_type}`),
      el('td', {}, el('code', {}, record.payload), record.reemitted_from ? el('div', { class: 'muted small' }, `re-emitted from ${record.reemitted_from}`) : ''),
      el('td', {}, el('button', { class: 'link', 'data-action': 'reemit', onclick: async () => {
        try {
          const copy = await api('POST', `${base}/records/${record.topic}/${record.offset}/reemit`);
          flash(`Re-emitted ${record.topic}@${record.offset} as ${copy.topic}@${copy.offset}.`, 'info');
          await Promise.all([loadRecords(false), loadConsumers()]);
        } catch (error) { fail(error); }
      } }, 're-emit')));
  }

  async function loadRecords(more) {
    const parts = query();
    parts.push('limit=100');
    if (more && cursor) parts.push(`cursor=${encodeURIComponent(cursor)}`);
    const page = await api('GET', `${base}/records?${parts.join('&')}`);
    cursor = page.next_cursor;
    $('records-more').hidden = !cursor;
    if (more) {
      $('records').append(...page.items.map(recordRow));
    } else {
      fill(tableOf('records'), page.items.map(recordRow), 'No records match.');
    }
  }

  async function loadConsumers() {
    const body = await api('GET', `${base}/consumers`);
    fill(tableOf('consumers'), body.groups.map((group) => {
      const offset = el('input', { type: 'number', min: '0', step: '1', value: '0', 'aria-label': 'offset' });
      return el('tr', { 'data-group': group.group, 'data-topic': group.topic },
        el('td', {}, group.group), el('td', {}, group.topic), el('td', { class: 'num' }, String(group.offset)),
        el('td', { class: 'num' }, String(group.lag)),
        el('td', {}, el('span', { class: 'rewind' }, offset, el('button', { class: 'secondary', 'data-action': 'rewind', onclick: async () => {
          try {
            const result = await api('POST', `${base}/consumers/${encodeURIComponent(group.group)}/rewind`, { topic: group.topic, offset: Number(offset.value) });
            flash(`Rewound ${group.group} on ${group.topic} to ${result.rewound_to}; it is at ${result.offset} again.`, 'info');
            await loadConsumers();
          } catch (error) { fail(error); }
        } }, 'rewind'))));
    }), 'No consumer groups yet.');
  }

  $('records-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try { await loadRecords(false); } catch (error) { fail(error); }
  });
  $('records-more').addEventListener('click', async () => {
    try { await loadRecords(true); } catch (error) { fail(error); }
  });

  (async () => {
    try {
      await Promise.all([loadRecords(false), loadConsumers()]);
    } catch (error) {
      fail(error);
    }
  })();
})();
