// Aerie Lab page: the catalog, a training form generated from it (checked as you type against each hyperparameter's
// spec, and against the server's catalog rules on submit), the drafts with their metrics and confusion matrix, and
// the committed experiments side by side in a chart. Everything comes from the catalog, so a new dataset or model
// needs no change here. Requests, elements and charts come from the page kit (kit.js); data is inserted as text.
'use strict';
(() => {
  const { api, el, $, flash, fail, fill, percent, badge, charts } = aerie;
  /** The table whose body has this id, for aerie.fill. */
  const tableOf = (id) => $(id).closest('table');
  const base = '/v1/apps/lab';
  let catalog = null;
  let selectedDraft = null;
  const following = new Set();

  // ---- catalog -------------------------------------------------------------------------------------

  const specText = (specs) => specs.map((s) => `${s.name}=${JSON.stringify(s.default)}`).join(' ') || '–';

  function showCatalog() {
    $('catalog-version').textContent = `version ${catalog.version}`;
    fill(tableOf('catalog-datasets'), catalog.datasets.map((d) => el('tr', { 'data-dataset': d.name },
      el('td', {}, el('strong', {}, d.name), el('div', { class: 'muted small' }, d.description)), el('td', {}, d.task),
      el('td', { class: 'num' }, String(d.records)), el('td', {}, d.label), el('td', {}, d.features.join(', ')))), 'No datasets.');
    fill(tableOf('catalog-models'), catalog.models.map((m) => el('tr', { 'data-model': m.name },
      el('td', {}, el('strong', {}, m.name)), el('td', {}, m.task), el('td', { class: 'small' }, specText(m.hyperparameters)),
      el('td', { class: 'small' }, catalog.learning.filter((l) => l.model === m.name).map((l) => `${l.loss} / ${l.algorithm}`).join(', ')))), 'No models.');
  }

  // ---- the training form ---------------------------------------------------------------------------

  const options = (select, values, labels) => {
    const previous = select.value;
    select.replaceChildren(...values.map((value, i) => el('option', { value }, labels ? labels[i] : value)));
    if (values.includes(previous)) select.value = previous;
  };

  function input(spec, group) {
    const id = `param-${group}-${spec.name}`;
    let control;
    if (spec.type === 'bool') {
      control = el('input', { type: 'checkbox', id, 'data-name': spec.name, 'data-group': group });
      control.checked = spec.default === true;
    } else if (spec.options) {
      control = el('select', { id, 'data-name': spec.name, 'data-group': group }, spec.options.map((o) => el('option', { value: o }, o)));
      control.value = spec.default;
    } else {
      const attrs = { type: spec.type === 'string' ? 'text' : 'number', id, 'data-name': spec.name, 'data-group': group,
        step: spec.type === 'int' ? '1' : 'any', value: String(spec.default) };
      if (spec.min !== null && spec.min !== undefined) attrs.min = String(spec.min);
      if (spec.max !== null && spec.max !== undefined) attrs.max = String(spec.max);
      control = el('input', attrs);
    }
    control.addEventListener('input', () => check(control, spec));
    control.addEventListener('change', () => check(control, spec));
    const range = spec.options ? '' : (spec.min !== null && spec.min !== undefined ? ` ${spec.min}–${spec.max}` : '');
    return el('label', {}, `${spec.name} (${spec.type}${range})`, control, el('span', { class: 'field-error', id: `${id}-error` }));
  }

  /** The control's value as the spec's JSON type, or undefined with a message when it does not fit. */
  function value(control, spec) {
    if (spec.type === 'bool') return { value: control.checked };
    const text = control.value.trim();
    if (spec.type === 'string') {
      if (spec.options && !spec.options.includes(text)) return { error: `one of ${spec.options.join(', ')}` };
      return { value: text };
    }
    if (text === '' || Number.isNaN(Number(text))) return { error: spec.type === 'int' ? 'a whole number' : 'a number' };
    const number = Number(text);
    if (spec.type === 'int' && !Number.isInteger(number)) return { error: 'a whole number' };
    if (spec.min !== null && spec.min !== undefined && number < spec.min) return { error: `at least ${spec.min}` };
    if (spec.max !== null && spec.max !== undefined && number > spec.max) return { error: `at most ${spec.max}` };
    return { value: number };
  }

  function check(control, spec) {
    const result = value(control, spec);
    control.classList.toggle('invalid', !!result.error);
    $(`${control.id}-error`).textContent = result.error ? `must be ${result.error}` : '';
    updateButton();
    return result;
  }

  function checkSplit() {
    const split = Number($('train-test-split').value);
    const bad = !(split > 0 && split < 1);
    $('train-test-split').classList.toggle('invalid', bad);
    updateButton();
    return !bad;
  }

  function updateButton() {
    $('train-button').disabled = document.querySelectorAll('#train-form .invalid').length > 0;
  }

  const currentModel = () => catalog.models.find((m) => m.name === $('train-model').value);
  const currentPairs = () => catalog.learning.filter((l) => l.model === $('train-model').value);
  const currentPair = () => currentPairs()[Number($('train-learning').value) || 0];

  function formChanged(level) {
    if (level <= 0) {
      const dataset = catalog.datasets.find((d) => d.name === $('train-dataset').value);
      const models = catalog.models.filter((m) => !dataset || m.task === dataset.task);
      options($('train-model'), models.map((m) => m.name));
    }
    if (level <= 1) {
      const pairs = currentPairs();
      options($('train-learning'), pairs.map((_, i) => String(i)), pairs.map((p) => `${p.loss} / ${p.algorithm}`));
      const model = currentModel();
      $('train-hyperparameters').replaceChildren(...(model ? model.hyperparameters.map((s) => input(s, 'model')) : []));
    }
    const pair = currentPair();
    $('train-learning-hyperparameters').replaceChildren(...(pair && pair.hyperparameters.length
      ? pair.hyperparameters.map((s) => input(s, 'learning')) : [el('span', { class: 'muted small' }, 'none')]));
    $('train-errors').replaceChildren();
    updateButton();
  }

  function request() {
    const model = currentModel();
    const pair = currentPair();
    const collect = (specs, group) => {
      const values = {};
      for (const spec of specs) {
        const control = $(`param-${group}-${spec.name}`);
        const result = check(control, spec);
        if (!result.error) values[spec.name] = result.value;
      }
      return values;
    };
    return {
      dataset: $('train-dataset').value, model: $('train-model').value, test_split: Number($('train-test-split').value),
      hyperparameters: collect(model ? model.hyperparameters : [], 'model'),
      loss: pair ? pair.loss : undefined, algorithm: pair ? pair.algorithm : undefined,
      learning_hyperparameters: collect(pair ? pair.hyperparameters : [], 'learning'),
    };
  }

  $('train-dataset').addEventListener('change', () => formChanged(0));
  $('train-model').addEventListener('change', () => formChanged(1));
  $('train-learning').addEventListener('change', () => formChanged(2));
  $('train-test-split').addEventListener('input', checkSplit);

  $('train-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    flash('');
    $('train-errors').replaceChildren();
    if (!checkSplit()) return;
    const body = request();
    if (document.querySelectorAll('#train-form .invalid').length) return;
    $('train-button').disabled = true;
    try {
      const created = await api('POST', `${base}/experiments`, body);
      flash(`Training ${body.model} on ${body.dataset} (${created.id.slice(0, 10)}…).`, 'info');
      await refresh();
      follow(created.id);
    } catch (error) {
      const errors = (error.problem && error.problem.errors) || [];
      if (error.status === 422 && errors.length) {
        $('train-errors').replaceChildren(...errors.map((e) => el('li', { 'data-rule': e.rule }, `${e.field} (${e.rule}): ${e.detail}`)));
      } else {
        fail(error);
      }
    } finally {
      updateButton();
    }
  });

  // ---- drafts and committed experiments -------------------------------------------------------------

  const short = (id) => el('code', { title: id }, id.slice(0, 10) + '…');
  const metric = (experiment, name) => el('td', { class: 'num' }, experiment.metrics ? percent(experiment.metrics[name]) : '–');

  async function act(method, path, message) {
    try {
      await api(method, path);
      if (message) flash(message, 'info');
    } catch (error) {
      fail(error);
    }
    await refresh();
  }

  function draftRow(experiment) {
    const settled = ['trained', 'evaluated', 'failed'].includes(experiment.status);
    const actions = el('td', {});
    if (experiment.status === 'trained' || experiment.status === 'evaluated') {
      actions.append(el('button', { class: 'link', 'data-action': 'evaluate', onclick: async () => {
        await act('POST', `${base}/experiments/${experiment.id}/evaluate`);
        follow(experiment.id);
      } }, 'evaluate'), ' ');
    }
    if (settled) {
      actions.append(el('button', { class: 'link', 'data-action': 'commit', onclick: () => act('POST', `${base}/experiments/${experiment.id}/commit`, 'Committed.') }, 'commit'), ' ');
    }
    actions.append(el('button', { class: 'link delete', 'data-action': 'delete', onclick: () => act('DELETE', `${base}/experiments/${experiment.id}`, 'Deleted.') }, 'delete'));
    const row = el('tr', { 'data-id': experiment.id, 'data-status': experiment.status },
      el('td', {}, short(experiment.id)), el('td', {}, experiment.settings.dataset), el('td', {}, experiment.settings.model),
      el('td', {}, badge(experiment.status, { evaluated: 'succeeded', trained: 'ready', training: 'running', evaluating: 'running' }[experiment.status] || experiment.status),
        experiment.error ? el('div', { class: 'error small' }, experiment.error) : ''),
      metric(experiment, 'accuracy'), metric(experiment, 'precision'), metric(experiment, 'recall'), actions);
    row.addEventListener('click', (event) => { if (event.target.tagName !== 'BUTTON') showDraft(experiment); });
    return row;
  }

  function showDraft(experiment) {
    selectedDraft = experiment.id;
    $('draft-detail').hidden = false;
    const s = experiment.settings;
    $('draft-detail-title').textContent = `${s.model} on ${s.dataset} (${s.loss} / ${s.algorithm}, test split ${s.test_split})`;
    if (experiment.metrics) {
      $('draft-matrix').replaceChildren(charts.matrix(experiment.metrics.labels, experiment.metrics.confusion_matrix,
        { rows: 'true', columns: 'predicted', label: 'confusion matrix' }));
    } else {
      $('draft-matrix').replaceChildren(el('p', { class: 'muted' }, 'No metrics yet: evaluate the draft.'));
    }
  }

  async function list(state) {
    const items = [];
    let cursor = null;
    do {
      const page = await api('GET', `${base}/experiments?state=${state}&limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      items.push(...page.items);
      cursor = page.next_cursor;
    } while (cursor);
    return items;
  }

  async function refresh() {
    const [drafts, committed] = await Promise.all([list('draft'), list('committed')]);
    fill(tableOf('drafts'), drafts.map(draftRow), 'No drafts: train a model above.');
    const shown = drafts.find((d) => d.id === selectedDraft);
    if (shown) showDraft(shown); else $('draft-detail').hidden = true;
    fill(tableOf('committed'), committed.map((e) => el('tr', { 'data-id': e.id },
      el('td', {}, short(e.id)), el('td', {}, e.settings.dataset), el('td', {}, e.settings.model), el('td', {}, badge(e.status)),
      metric(e, 'accuracy'), metric(e, 'precision'), metric(e, 'recall'), metric(e, 'f1'))), 'Nothing committed yet.');
    const rows = committed.filter((e) => e.metrics).map((e) => ({
      label: `${e.settings.model} · ${e.settings.dataset} · ${e.id.slice(0, 6)}`,
      values: [e.metrics.accuracy, e.metrics.precision, e.metrics.recall, e.metrics.f1],
    }));
    charts.bar($('committed-chart'), rows, ['accuracy', 'precision', 'recall', 'f1'], 'Commit evaluated drafts to compare them here.', { format: percent, label: 'committed experiments' });
    for (const draft of drafts) if (!['trained', 'evaluated', 'failed'].includes(draft.status)) follow(draft.id);
  }

  /** Polls a running draft until it settles, refreshing the lists. */
  async function follow(id) {
    if (following.has(id)) return;
    following.add(id);
    try {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 400));
        const experiment = await api('GET', `${base}/experiments/${id}`);
        if (['trained', 'evaluated', 'failed'].includes(experiment.status) || experiment.state === 'committed') break;
      }
    } catch (_) {
      // deleted meanwhile
    } finally {
      following.delete(id);
    }
    await refresh();
  }

  (async () => {
    try {
      catalog = await api('GET', `${base}/catalog`);
      showCatalog();
      options($('train-dataset'), catalog.datasets.map((d) => d.name));
      formChanged(0);
      await refresh();
    } catch (error) {
      fail(error);
    }
  })();
})();
