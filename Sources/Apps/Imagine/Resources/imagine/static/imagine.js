// Imagine: the /imagine/ page. Submits prompts to the Imagine API asynchronously (Prefer: respond-async),
// follows the generation's steps over server-sent events, and shows the caller's images with a cache badge.
// Requests, messages and elements come from the page kit (kit.js, loaded first); data is always inserted as text.
'use strict';
(() => {
  const API = '/v1/apps/imagine/images';
  const { request, el, $, pick, flash, fail } = aerie;

  // ---- the form ------------------------------------------------------------------------------------

  const form = $('imagine-form');
  const defaults = form.dataset;
  const sizes = [64, 128, 256, 384, 512, 640, 768, 1024];
  for (const id of ['width', 'height']) {
    const select = $(id);
    if (select.options.length === 0) sizes.forEach((size) => select.append(el('option', { value: size }, size)));
    const size = String(Number(defaults.defaultSize) || 512);
    if (![...select.options].some((option) => option.value === size)) select.prepend(el('option', { value: size }, size));
    select.value = size;
  }
  $('steps').value = defaults.defaultSteps || 20;
  $('guidance').value = defaults.defaultGuidance || 7.5;

  /** The request body from the form; only the fields the user set beyond the prompt. */
  function parameters() {
    const body = { prompt: $('prompt').value.trim() };
    const negative = $('negative-prompt').value.trim();
    if (negative) body.negative_prompt = negative;
    body.width = Number($('width').value);
    body.height = Number($('height').value);
    body.steps = Number($('steps').value);
    body.guidance = Number($('guidance').value);
    if ($('seed').value !== '') body.seed = Number($('seed').value);
    if ($('scheduler').value) body.scheduler = $('scheduler').value;
    return body;
  }

  function validate(body) {
    if (!body.prompt) return 'Write a prompt (1–500 characters).';
    if (body.prompt.length > 500) return 'The prompt is longer than 500 characters.';
    if (!Number.isInteger(body.steps) || body.steps < 1 || body.steps > 100) return 'Steps must be a whole number from 1 to 100.';
    if (!(body.guidance >= 0 && body.guidance <= 20)) return 'Guidance must be between 0 and 20.';
    if (body.seed !== undefined && (!Number.isInteger(body.seed) || body.seed < 0 || body.seed > 4294967295)) return 'The seed must be a whole number from 0 to 4294967295.';
    return null;
  }

  // ---- progress ------------------------------------------------------------------------------------

  let current = null; // { invocation, stream }

  function showProgress(fraction, text) {
    $('progress').hidden = false;
    $('progress-bar').style.width = Math.round(Math.max(0, Math.min(1, fraction)) * 100) + '%';
    $('progress-text').textContent = text;
  }

  function busy(on) {
    $('generate').disabled = on;
    $('cancel').hidden = !on;
    form.classList.toggle('busy', on);
  }

  function finish() {
    if (current && current.stream) current.stream.close();
    current = null;
    busy(false);
  }

  /** The invocation id of a 202: the body's invocation_id or id, else the Location header. */
  function invocationOf(response) {
    const body = response.data || {};
    const fromBody = pick(body, 'invocation_id', 'invocationId', 'invocation');
    if (typeof fromBody === 'string') return fromBody;
    if (fromBody && typeof fromBody === 'object' && fromBody.id) return fromBody.id;
    const header = response.headers.get('X-Aerie-Invocation-Id');
    if (header) return header;
    const location = response.headers.get('Location') || '';
    const match = location.match(/\/v1\/invocations\/([^/?#]+)/);
    if (match) return decodeURIComponent(match[1]);
    return typeof body.id === 'string' ? body.id : null;
  }

  function follow(invocation, body) {
    const stream = new EventSource('/v1/invocations/' + encodeURIComponent(invocation) + '/events');
    current = { invocation, stream };
    $('progress').dataset.events = '0';
    delete $('progress').dataset.lastStep;
    delete $('progress').dataset.totalSteps;
    showProgress(0, 'Queued…');
    stream.addEventListener('progress', (event) => {
      let data = {};
      try { data = JSON.parse(event.data); } catch (_) { /* ignore */ }
      const fraction = Number(pick(data, 'fraction', 'progress')) || 0;
      const details = data.details || {};
      const step = pick(details, 'step');
      const steps = pick(details, 'steps', 'total') || body.steps;
      const text = step !== undefined ? `Step ${step} of ${steps}` : (data.message || `${Math.round(fraction * 100)}%`);
      showProgress(fraction, text);
      // For tests and curious readers: how many progress events arrived and the last step they named.
      const box = $('progress');
      box.dataset.events = String(Number(box.dataset.events || 0) + 1);
      if (step !== undefined) {
        box.dataset.lastStep = String(step);
        box.dataset.totalSteps = String(steps);
      }
    });
    stream.addEventListener('result', (event) => {
      let image = null;
      try { image = JSON.parse(event.data); } catch (_) { /* ignore */ }
      const cache = image && image.cache;
      showProgress(1, cache === 'hit' ? 'Done: served from the cache.' : 'Done.');
      finish();
      refresh().catch(fail);
    });
    stream.addEventListener('error', (event) => {
      if (event.data !== undefined) {
        let message = 'The generation failed.';
        try {
          const data = JSON.parse(event.data);
          message = data.message || (data.error && data.error.message) || message;
        } catch (_) { /* plain text */ }
        $('progress').hidden = true;
        finish();
        flash(message);
        return;
      }
      // A dropped connection: EventSource reconnects with Last-Event-ID unless closed.
      if (stream.readyState === EventSource.CLOSED) {
        finish();
        refresh().catch(fail);
      } else {
        $('progress-text').textContent = 'Reconnecting…';
      }
    });
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    flash('');
    const body = parameters();
    const invalid = validate(body);
    if (invalid) { flash(invalid); return; }
    busy(true);
    const headers = { Prefer: 'respond-async' };
    if ($('bypass-cache').checked) headers['Cache-Control'] = 'no-cache';
    try {
      const response = await request('POST', API, body, { headers });
      if (response.status === 202) {
        const invocation = invocationOf(response);
        if (!invocation) throw new Error('The server accepted the request but named no invocation to follow.');
        follow(invocation, body);
      } else {
        // Answered at once (a cache hit, or a server that does not do async).
        const cache = response.data && response.data.cache;
        showProgress(1, cache === 'hit' ? 'Done: served from the cache.' : 'Done.');
        finish();
        await refresh();
      }
    } catch (error) {
      $('progress').hidden = true;
      finish();
      fail(error);
    }
  });

  $('cancel').addEventListener('click', async () => {
    if (!current) return;
    const invocation = current.invocation;
    try {
      await request('DELETE', '/v1/invocations/' + encodeURIComponent(invocation));
      showProgress(0, 'Cancelled.');
    } catch (error) {
      if (error.status !== 409) fail(error); // 409: it had already finished
    }
    finish();
    refresh().catch(fail);
  });

  // ---- results -------------------------------------------------------------------------------------

  let nextCursor = null;

  function card(image) {
    const parameters = image.parameters || {};
    const cache = image.cache === 'hit' ? 'hit' : 'miss';
    const similarity = Number(image.similarity);
    const badgeText = cache === 'hit'
      ? 'cache hit' + (Number.isFinite(similarity) ? ' ' + similarity.toFixed(3) : '')
      : 'cache miss';
    const matched = pick(image, 'matched_prompt', 'matchedPrompt');
    const src = pick(image, 'image_url', 'imageUrl') || (API + '/' + encodeURIComponent(image.id) + '.png');
    const details = [
      parameters.width && parameters.height ? `${parameters.width}×${parameters.height}` : null,
      parameters.steps !== undefined ? `${parameters.steps} steps` : null,
      parameters.guidance !== undefined ? `guidance ${parameters.guidance}` : null,
      parameters.seed !== undefined ? `seed ${parameters.seed}` : null,
      parameters.scheduler || null,
    ].filter(Boolean).join(' · ');
    const created = pick(image, 'created_at', 'createdAt');
    return el('figure', { class: 'result', 'data-id': image.id, 'data-cache': cache },
      el('a', { href: src, target: '_blank', rel: 'noopener' },
        el('img', { src, alt: image.prompt || '', loading: 'lazy', width: parameters.width, height: parameters.height })),
      el('figcaption', {},
        el('span', { class: 'badge ' + cache }, badgeText),
        el('p', { class: 'prompt-text' }, image.prompt || ''),
        matched ? el('p', { class: 'matched small' }, 'matched: ', el('q', {}, matched)) : null,
        details ? el('p', { class: 'muted small' }, details) : null,
        created ? el('p', { class: 'muted small' }, new Date(created).toLocaleString()) : null,
        el('div', { class: 'card-actions' },
          el('button', { type: 'button', class: 'link reuse', onclick: () => reuse(image) }, 'Use prompt'),
          el('button', { type: 'button', class: 'link delete', onclick: () => remove(image) }, 'Delete'))));
  }

  function reuse(image) {
    const parameters = image.parameters || {};
    $('prompt').value = image.prompt || '';
    $('negative-prompt').value = parameters.negative_prompt || '';
    if (parameters.steps !== undefined) $('steps').value = parameters.steps;
    if (parameters.guidance !== undefined) $('guidance').value = parameters.guidance;
    if (parameters.seed !== undefined) $('seed').value = parameters.seed;
    $('prompt').focus();
  }

  async function remove(image) {
    if (!confirm('Delete this image?')) return;
    try {
      await request('DELETE', API + '/' + encodeURIComponent(image.id));
      const node = document.querySelector(`figure.result[data-id="${CSS.escape(image.id)}"]`);
      if (node) node.remove();
      if (!document.querySelector('figure.result')) showEmpty();
    } catch (error) { fail(error); }
  }

  function showEmpty() {
    $('results').replaceChildren(el('p', { class: 'muted', id: 'results-empty' }, 'No images yet. Write a prompt and press Generate.'));
  }

  async function load(cursor) {
    const path = API + '?limit=24' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : '');
    const response = await request('GET', path);
    const body = response.data || {};
    const list = Array.isArray(body.items) ? body.items : Array.isArray(body) ? body : [];
    nextCursor = pick(body, 'next_cursor', 'nextCursor') || null;
    $('more').hidden = !nextCursor;
    return list;
  }

  async function refresh() {
    const list = await load(null);
    if (list.length === 0) { showEmpty(); return; }
    $('results').replaceChildren(...list.map(card));
  }

  $('more').addEventListener('click', async () => {
    try {
      const list = await load(nextCursor);
      $('results').append(...list.map(card));
    } catch (error) { fail(error); }
  });
  $('refresh').addEventListener('click', () => refresh().catch(fail));

  refresh().catch(fail);
})();
