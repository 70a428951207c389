// Aerie Pipeline page: upload a CSV and follow its stages, list the models with metrics and a confusion matrix,
// and predict with a form built from a model's schema. Requests, messages, elements and the confusion-matrix chart
// come from the page kit (kit.js, loaded first); data is inserted as text.
'use strict';
(() => {
  const { api, el, $, $$, flash, seconds, percent, charts } = aerie;
  const base = '/v1/apps/pipeline';
  const stages = ['queued', 'preprocessing', 'training', 'ready'];
  let models = [];

  // ---- upload and live stages ---------------------------------------------------------------------

  function showStatus(record) {
    $('upload-status').hidden = false;
    $('upload-name').textContent = record.name;
    $('upload-version').textContent = record.version;
    const stage = $('upload-stage');
    stage.textContent = record.stage;
    stage.className = `stage-${record.stage}`;
    $('upload-message').textContent = record.message || '';
    const error = $('upload-error');
    error.textContent = record.error || '';
    error.hidden = !record.error;
    const reached = stages.indexOf(record.stage);
    for (const item of $$('#stages li')) {
      const index = stages.indexOf(item.dataset.stage);
      item.className = '';
      if (record.stage === 'failed') {
        if (index === 0) item.className = 'failed';
      } else if (index < reached || record.stage === 'ready') item.className = 'done';
      else if (index === reached) item.className = 'current';
    }
    const bar = $('upload-progress');
    const stageShare = { queued: 0, preprocessing: 0.1, training: 0.3, ready: 1, failed: 1 }[record.stage] || 0;
    bar.value = record.stage === 'training' ? 0.3 + 0.7 * (record.progress || 0) : stageShare;
  }

  async function follow(name) {
    for (;;) {
      const record = await api('GET', `${base}/datasets/${encodeURIComponent(name)}`);
      showStatus(record);
      if (record.stage === 'ready' || record.stage === 'failed') {
        await refresh();
        if (record.stage === 'ready') selectModel(name);
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 400));
    }
  }

  $('upload-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    flash('');
    const file = $('file').files[0];
    if (!file) { flash('Choose a CSV file first.'); return; }
    const form = new FormData();
    form.append('file', file, file.name);
    for (const id of ['name', 'target', 'model']) {
      const value = $(id).value.trim();
      if (value) form.append(id, value);
    }
    for (const pair of $('params').value.split(',')) {
      const [key, ...rest] = pair.split('=');
      if (key.trim() && rest.length) form.append(key.trim(), rest.join('=').trim());
    }
    const button = $('upload-button');
    button.disabled = true;
    try {
      const record = await api('POST', `${base}/datasets`, form);
      showStatus(record);
      await refresh();
      await follow(record.name);
    } catch (error) {
      flash(error.message);
    } finally {
      button.disabled = false;
    }
  });

  // ---- datasets ------------------------------------------------------------------------------------

  function renderDatasets(items) {
    const body = $('datasets');
    body.replaceChildren();
    if (!items.length) {
      body.append(el('tr', {}, el('td', { colspan: 8, class: 'muted' }, 'No datasets yet: upload a CSV above.')));
      return;
    }
    for (const dataset of items) {
      for (const version of dataset.versions) {
        const report = version.report;
        const remove = el('button', { class: 'link', type: 'button' }, 'delete');
        remove.addEventListener('click', async () => {
          if (!confirm(`Delete ${version.name} version ${version.version}?`)) return;
          try {
            await api('DELETE', `${base}/datasets/${encodeURIComponent(version.name)}?version=${version.version}`);
            await refresh();
          } catch (error) { flash(error.message); }
        });
        body.append(el('tr', { 'data-dataset': version.name, 'data-version': version.version },
          el('td', {}, version.name),
          el('td', {}, version.version, version.version === dataset.serving_version ? ' (serving)' : ''),
          el('td', { class: `stage-${version.stage}` }, version.stage),
          el('td', {}, report ? `${report.rows_in} → ${report.rows_out}` : ''),
          el('td', {}, seconds(version.timings.preprocess_seconds)),
          el('td', {}, seconds(version.timings.train_seconds)),
          el('td', { class: 'error' }, version.error || ''),
          el('td', {}, remove)));
      }
    }
  }

  // ---- models and confusion matrices ---------------------------------------------------------------

  function confusionMatrix(labels, matrix) {
    const svg = charts.matrix(labels, matrix, { rows: 'true ↓', columns: 'predicted →',
      label: 'confusion matrix: rows are true classes, columns predicted classes' });
    svg.classList.add('confusion');
    return svg;
  }

  function renderModels(items) {
    const box = $('models');
    box.replaceChildren();
    if (!items.length) box.append(el('p', { class: 'muted' }, 'No ready models yet.'));
    for (const model of items) {
      const m = model.metrics;
      const metrics = model.task === 'classification'
        ? [`accuracy ${percent(m.accuracy)}`, `F1 ${percent(m.f1_macro)}`, `precision ${percent(m.precision_macro)}`, `recall ${percent(m.recall_macro)}`]
        : [`R² ${m.r2.toFixed(3)}`, `MAE ${m.mae.toFixed(3)}`, `RMSE ${m.rmse.toFixed(3)}`];
      const use = el('button', { type: 'button', class: 'link' }, 'predict with it');
      use.addEventListener('click', () => selectModel(model.name));
      box.append(el('div', { class: 'model', 'data-model': model.name },
        el('h3', {}, `${model.name} · v${model.version}`),
        el('div', { class: 'muted' }, `${model.kind}, ${model.task} of “${model.target}”, ${model.train_rows} training rows, evaluated on ${m.evaluated_on} (${model.test_rows} rows)`),
        el('div', { class: 'metrics' }, ...metrics.map((text) => el('span', {}, text))),
        model.classes && m.confusion ? confusionMatrix(model.classes, m.confusion) : null,
        use));
    }
    const select = $('predict-model');
    const chosen = select.value;
    select.replaceChildren(...items.map((model) => el('option', { value: model.name }, `${model.name} (v${model.version})`)));
    if (items.some((model) => model.name === chosen)) select.value = chosen;
    buildPredictForm();
  }

  // ---- predict form from the schema ---------------------------------------------------------------

  function selectModel(name) {
    const select = $('predict-model');
    if ([...select.options].some((option) => option.value === name)) {
      select.value = name;
      buildPredictForm();
    }
  }

  function buildPredictForm() {
    const form = $('predict-form');
    const model = models.find((item) => item.name === $('predict-model').value);
    if (form.dataset.model === (model ? `${model.name}@${model.version}` : '')) return;
    form.replaceChildren();
    $('prediction').hidden = true;
    form.dataset.model = model ? `${model.name}@${model.version}` : '';
    if (!model) return;
    for (const feature of model.features) {
      const input = feature.type === 'categorical'
        ? el('select', { name: feature.name, 'data-feature': feature.name }, ...feature.categories.map((c) => el('option', { value: c }, c)))
        : el('input', { type: 'number', step: 'any', required: true, name: feature.name, 'data-feature': feature.name });
      form.append(el('label', {}, feature.name, input));
    }
    form.append(el('button', { type: 'submit', id: 'predict-button' }, 'Predict'));
  }

  $('predict-model').addEventListener('change', buildPredictForm);
  $('predict-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    flash('');
    const name = $('predict-model').value;
    const model = models.find((item) => item.name === name);
    if (!model) return;
    const row = {};
    for (const feature of model.features) {
      const value = event.target.querySelector(`[data-feature="${CSS.escape(feature.name)}"]`).value;
      row[feature.name] = feature.type === 'numeric' ? Number(value) : value;
    }
    try {
      const result = await api('POST', `${base}/models/${encodeURIComponent(name)}/predict`, { rows: [row] });
      $('prediction-result').textContent = String(result.predictions[0]);
      const table = $('probabilities');
      table.replaceChildren();
      if (result.probabilities) {
        const entries = Object.entries(result.probabilities[0]).sort((a, b) => b[1] - a[1]);
        table.append(el('tr', {}, el('th', {}, 'class'), el('th', {}, 'probability')));
        for (const [label, p] of entries) table.append(el('tr', {}, el('td', {}, label), el('td', {}, percent(p))));
      }
      $('prediction').hidden = false;
    } catch (error) {
      flash(error.message);
    }
  });

  // ---- refresh --------------------------------------------------------------------------------------

  async function refresh() {
    const [datasets, modelList] = await Promise.all([api('GET', `${base}/datasets`), api('GET', `${base}/models`)]);
    renderDatasets(datasets.items);
    models = modelList.items;
    renderModels(models);
    return datasets.items;
  }

  async function poll() {
    try {
      const items = await refresh();
      const busy = items.some((dataset) => dataset.versions.some((v) => v.stage !== 'ready' && v.stage !== 'failed'));
      setTimeout(poll, busy ? 1000 : 5000);
    } catch (error) {
      flash(error.message);
      setTimeout(poll, 5000);
    }
  }
  poll();
})();
