// Aerie Pipeline page: upload a CSV and follow its stages, list the models with metrics and a confusion matrix,
// and predict with a form built from a model's schema. Requests go same-origin with the HttpOnly session cookie;
// state-changing ones carry the CSRF token from <meta name="csrf-token"> in X-CSRF-Token. Data is inserted as text.
'use strict';
(() => {
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  const base = '/v1/apps/pipeline';
  const stages = ['queued', 'preprocessing', 'training', 'ready'];
  const svgNS = 'http://www.w3.org/2000/svg';
  let models = [];

  async function api(method, path, body, isForm) {
    const headers = { Accept: 'application/json' };
    if (method !== 'GET') headers['X-CSRF-Token'] = csrf;
    let payload = body;
    if (body !== undefined && !isForm) {
      headers['Content-Type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const response = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
    if (response.status === 401) {
      location.href = '/console/login?next=' + encodeURIComponent(location.pathname);
      throw new Error('The session has ended; sign in again.');
    }
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      let detail = (data && data.detail) || `${method} ${path}: ${response.status}`;
      if (data && data.errors && data.errors.length) {
        const where = data.errors[0].pointer || data.errors[0].parameter;
        if (where) detail += ` (${where})`;
      }
      throw new Error(detail);
    }
    return data;
  }

  function h(tag, attributes, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value !== undefined && value !== null && value !== false) element.setAttribute(name, value === true ? '' : value);
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      element.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
    }
    return element;
  }

  function flash(message) {
    const box = document.getElementById('flash');
    box.textContent = message || '';
    box.hidden = !message;
  }

  const seconds = (value) => (value === undefined || value === null ? '' : `${value.toFixed(2)} s`);
  const percent = (value) => (value === undefined || value === null ? '–' : `${(value * 100).toFixed(1)} %`);

  // ---- upload and live stages ---------------------------------------------------------------------

  function showStatus(record) {
    document.getElementById('upload-status').hidden = false;
    document.getElementById('upload-name').textContent = record.name;
    document.getElementById('upload-version').textContent = record.version;
    const stage = document.getElementById('upload-stage');
    stage.textContent = record.stage;
    stage.className = `stage-${record.stage}`;
    document.getElementById('upload-message').textContent = record.message || '';
    const error = document.getElementById('upload-error');
    error.textContent = record.error || '';
    error.hidden = !record.error;
    const reached = stages.indexOf(record.stage);
    for (const item of document.querySelectorAll('#stages li')) {
      const index = stages.indexOf(item.dataset.stage);
      item.className = '';
      if (record.stage === 'failed') {
        if (index === 0) item.className = 'failed';
      } else if (index < reached || record.stage === 'ready') item.className = 'done';
      else if (index === reached) item.className = 'current';
    }
    const bar = document.getElementById('upload-progress');
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

  document.getElementById('upload-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    flash('');
    const file = document.getElementById('file').files[0];
    if (!file) { flash('Choose a CSV file first.'); return; }
    const form = new FormData();
    form.append('file', file, file.name);
    for (const id of ['name', 'target', 'model']) {
      const value = document.getElementById(id).value.trim();
      if (value) form.append(id, value);
    }
    for (const pair of document.getElementById('params').value.split(',')) {
      const [key, ...rest] = pair.split('=');
      if (key.trim() && rest.length) form.append(key.trim(), rest.join('=').trim());
    }
    const button = document.getElementById('upload-button');
    button.disabled = true;
    try {
      const record = await api('POST', `${base}/datasets`, form, true);
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
    const body = document.getElementById('datasets');
    body.replaceChildren();
    if (!items.length) {
      body.append(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'No datasets yet: upload a CSV above.')));
      return;
    }
    for (const dataset of items) {
      for (const version of dataset.versions) {
        const report = version.report;
        const remove = h('button', { class: 'link', type: 'button' }, 'delete');
        remove.addEventListener('click', async () => {
          if (!confirm(`Delete ${version.name} version ${version.version}?`)) return;
          try {
            await api('DELETE', `${base}/datasets/${encodeURIComponent(version.name)}?version=${version.version}`);
            await refresh();
          } catch (error) { flash(error.message); }
        });
        body.append(h('tr', { 'data-dataset': version.name, 'data-version': version.version },
          h('td', {}, version.name),
          h('td', {}, version.version, version.version === dataset.serving_version ? ' (serving)' : ''),
          h('td', { class: `stage-${version.stage}` }, version.stage),
          h('td', {}, report ? `${report.rows_in} → ${report.rows_out}` : ''),
          h('td', {}, seconds(version.timings.preprocess_seconds)),
          h('td', {}, seconds(version.timings.train_seconds)),
          h('td', { class: 'error' }, version.error || ''),
          h('td', {}, remove)));
      }
    }
  }

  // ---- models and confusion matrices ---------------------------------------------------------------

  function confusionMatrix(labels, matrix) {
    const cell = 34;
    const left = 96;
    const top = 40;
    const svg = document.createElementNS(svgNS, 'svg');
    svg.setAttribute('class', 'confusion');
    svg.setAttribute('width', left + cell * labels.length + 4);
    svg.setAttribute('height', top + cell * labels.length + 4);
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', 'confusion matrix: rows are true classes, columns predicted classes');
    const max = Math.max(1, ...matrix.flat());
    const text = (x, y, value, anchor, light) => {
      const element = document.createElementNS(svgNS, 'text');
      element.setAttribute('x', x);
      element.setAttribute('y', y);
      element.setAttribute('text-anchor', anchor);
      if (light) element.setAttribute('class', 'light');
      element.textContent = value;
      svg.append(element);
    };
    text(left + (cell * labels.length) / 2, 12, 'predicted →', 'middle');
    text(4, 12, 'true ↓', 'start');
    labels.forEach((label, i) => {
      text(left - 6, top + cell * i + cell / 2 + 4, label.slice(0, 14), 'end');
      text(left + cell * i + cell / 2, top - 6, label.slice(0, 5), 'middle');
    });
    matrix.forEach((row, i) => row.forEach((count, j) => {
      const rect = document.createElementNS(svgNS, 'rect');
      const strength = count / max;
      rect.setAttribute('x', left + cell * j);
      rect.setAttribute('y', top + cell * i);
      rect.setAttribute('width', cell - 1);
      rect.setAttribute('height', cell - 1);
      rect.setAttribute('fill', `rgba(47, 111, 222, ${0.08 + 0.92 * strength})`);
      rect.setAttribute('data-count', count);
      const title = document.createElementNS(svgNS, 'title');
      title.textContent = `true ${labels[i]}, predicted ${labels[j]}: ${count}`;
      rect.append(title);
      svg.append(rect);
      text(left + cell * j + cell / 2, top + cell * i + cell / 2 + 4, count, 'middle', strength > 0.55);
    }));
    return svg;
  }

  function renderModels(items) {
    const box = document.getElementById('models');
    box.replaceChildren();
    if (!items.length) box.append(h('p', { class: 'muted' }, 'No ready models yet.'));
    for (const model of items) {
      const m = model.metrics;
      const metrics = model.task === 'classification'
        ? [`accuracy ${percent(m.accuracy)}`, `F1 ${percent(m.f1_macro)}`, `precision ${percent(m.precision_macro)}`, `recall ${percent(m.recall_macro)}`]
        : [`R² ${m.r2.toFixed(3)}`, `MAE ${m.mae.toFixed(3)}`, `RMSE ${m.rmse.toFixed(3)}`];
      const use = h('button', { type: 'button', class: 'link' }, 'predict with it');
      use.addEventListener('click', () => selectModel(model.name));
      box.append(h('div', { class: 'model', 'data-model': model.name },
        h('h3', {}, `${model.name} · v${model.version}`),
        h('div', { class: 'muted' }, `${model.kind}, ${model.task} of “${model.target}”, ${model.train_rows} training rows, evaluated on ${m.evaluated_on} (${model.test_rows} rows)`),
        h('div', { class: 'metrics' }, ...metrics.map((text) => h('span', {}, text))),
        model.classes && m.confusion ? confusionMatrix(model.classes, m.confusion) : null,
        use));
    }
    const select = document.getElementById('predict-model');
    const chosen = select.value;
    select.replaceChildren(...items.map((model) => h('option', { value: model.name }, `${model.name} (v${model.version})`)));
    if (items.some((model) => model.name === chosen)) select.value = chosen;
    buildPredictForm();
  }

  // ---- predict form from the schema ---------------------------------------------------------------

  function selectModel(name) {
    const select = document.getElementById('predict-model');
    if ([...select.options].some((option) => option.value === name)) {
      select.value = name;
      buildPredictForm();
    }
  }

  function buildPredictForm() {
    const form = document.getElementById('predict-form');
    const model = models.find((item) => item.name === document.getElementById('predict-model').value);
    if (form.dataset.model === (model ? `${model.name}@${model.version}` : '')) return;
    form.replaceChildren();
    document.getElementById('prediction').hidden = true;
    form.dataset.model = model ? `${model.name}@${model.version}` : '';
    if (!model) return;
    for (const feature of model.features) {
      const input = feature.type === 'categorical'
        ? h('select', { name: feature.name, 'data-feature': feature.name }, ...feature.categories.map((c) => h('option', { value: c }, c)))
        : h('input', { type: 'number', step: 'any', required: true, name: feature.name, 'data-feature': feature.name });
      form.append(h('label', {}, feature.name, input));
    }
    form.append(h('button', { type: 'submit', id: 'predict-button' }, 'Predict'));
  }

  document.getElementById('predict-model').addEventListener('change', buildPredictForm);
  document.getElementById('predict-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    flash('');
    const name = document.getElementById('predict-model').value;
    const model = models.find((item) => item.name === name);
    if (!model) return;
    const row = {};
    for (const feature of model.features) {
      const value = event.target.querySelector(`[data-feature="${CSS.escape(feature.name)}"]`).value;
      row[feature.name] = feature.type === 'numeric' ? Number(value) : value;
    }
    try {
      const result = await api('POST', `${base}/models/${encodeURIComponent(name)}/predict`, { rows: [row] });
      document.getElementById('prediction-result').textContent = String(result.predictions[0]);
      const table = document.getElementById('probabilities');
      table.replaceChildren();
      if (result.probabilities) {
        const entries = Object.entries(result.probabilities[0]).sort((a, b) => b[1] - a[1]);
        table.append(h('tr', {}, h('th', {}, 'class'), h('th', {}, 'probability')));
        for (const [label, p] of entries) table.append(h('tr', {}, h('td', {}, label), h('td', {}, percent(p))));
      }
      document.getElementById('prediction').hidden = false;
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
