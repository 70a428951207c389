// The Gallery page: drag-and-drop upload with per-file progress, the grid of thumbnails (loaded lazily from their
// signed URLs), search by meaning and tag, delete, share links and the duplicate view. API: /v1/apps/gallery/.
'use strict';
(() => {
  const { api, el, $, fail, flash } = aerie;
  const base = '/v1/apps/gallery';
  const csrf = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  let cursor = null;
  let filter = {};

  function card(photo, extra) {
    const thumbnail = photo.thumbnails && photo.thumbnails.small;
    const frame = el('div', { class: 'frame' },
      thumbnail ? el('img', { src: thumbnail, alt: photo.caption || photo.filename, loading: 'lazy', 'data-photo': photo.id })
        : el('span', { class: 'muted' }, photo.status === 'failed' ? 'failed' : 'processing…'));
    const tags = el('div', { class: 'tags' }, (photo.tags || []).map((tag) =>
      el('button', { type: 'button', class: 'tag', title: `${Math.round(tag.score * 100)}%`, onclick: () => search({ tag: tag.label }) }, tag.label)));
    const score = photo.score !== undefined ? el('span', { class: 'muted' }, ` · ${photo.score.toFixed(2)}`) : null;
    return el('figure', { class: 'photo' + (extra ? ' ' + extra : ''), id: `photo-${photo.id}`, 'data-status': photo.status },
      el('a', { href: photo.url, target: '_blank', rel: 'noopener' }, frame),
      el('figcaption', { class: 'body' },
        el('div', {}, el('strong', {}, photo.caption || photo.filename), score),
        tags,
        photo.duplicate_of ? el('div', { class: 'muted' }, 'duplicate of ', photo.duplicate_of) : null,
        el('div', { class: 'actions' },
          el('button', { type: 'button', class: 'secondary', onclick: () => share(photo) }, 'Share'),
          el('button', { type: 'button', class: 'danger delete', onclick: () => remove(photo) }, 'Delete'))));
  }

  async function load(append) {
    try {
      if ($('show-duplicates').checked) return duplicates();
      const query = new URLSearchParams({ limit: '24' });
      for (const [name, value] of Object.entries(filter)) if (value) query.set(name, value);
      if (append && cursor) query.set('cursor', cursor);
      const page = await api('GET', `${base}/photos?${query}`);
      if (!append) $('grid').replaceChildren();
      $('grid').append(...page.items.map((photo) => card(photo)));
      cursor = page.next_cursor;
      $('more-button').hidden = !cursor;
      const shown = $('grid').children.length;
      $('result-summary').textContent = filter.q || filter.tag
        ? `${shown} photo${shown === 1 ? '' : 's'} for ${[filter.q && `“${filter.q}”`, filter.tag && `tag ${filter.tag}`].filter(Boolean).join(' and ')}`
        : `${shown}${cursor ? '+' : ''} photo${shown === 1 ? '' : 's'}`;
      if (page.items.some((photo) => photo.status === 'processing')) setTimeout(() => load(false), 1000);
    } catch (error) {
      fail(error);
    }
  }

  async function duplicates() {
    const body = await api('GET', `${base}/duplicates`);
    $('grid').replaceChildren();
    for (const group of body.groups) {
      for (const id of group) $('grid').append(card(await api('GET', `${base}/photos/${id}`), 'duplicate'));
    }
    $('more-button').hidden = true;
    $('result-summary').textContent = `${body.groups.length} group${body.groups.length === 1 ? '' : 's'} of duplicates`;
  }

  function search(next) {
    filter = next;
    $('query').value = next.q || '';
    $('tag').value = next.tag || '';
    cursor = null;
    load(false);
  }

  async function remove(photo) {
    if (!confirm(`Delete ${photo.filename}?`)) return;
    try {
      await api('DELETE', `${base}/photos/${photo.id}`);
      const node = $(`photo-${photo.id}`);
      if (node) node.remove();
      usage();
    } catch (error) {
      fail(error);
    }
  }

  async function share(photo) {
    try {
      const link = await api('POST', `${base}/photos/${photo.id}/share`, { expires_in: 7 * 24 * 3600 });
      const url = new URL(link.url, location.href).href;
      if (navigator.clipboard) navigator.clipboard.writeText(url).catch(() => {});
      flash(`Share link (7 days): ${url}`, 'info');
    } catch (error) {
      fail(error);
    }
  }

  async function usage() {
    try {
      const body = await api('GET', `${base}/usage`);
      $('usage').textContent = `${aerie.bytes(body.used_bytes)} of ${aerie.bytes(body.quota_bytes)} used`;
    } catch (error) {
      $('usage').textContent = '';
    }
  }

  /** Uploads one file with XMLHttpRequest, for its upload progress events. */
  function upload(file) {
    const bar = el('progress', { max: file.size || 1, value: 0 });
    const state = el('span', { class: 'muted' }, 'uploading');
    $('uploads').append(el('div', { class: 'upload-row' }, el('span', {}, file.name), bar, state));
    return new Promise((resolve) => {
      const request = new XMLHttpRequest();
      request.open('POST', `${base}/photos`);
      request.setRequestHeader('X-CSRF-Token', csrf);
      request.upload.onprogress = (event) => { bar.value = event.loaded; bar.max = event.total || bar.max; };
      request.onload = () => {
        let body = {};
        try { body = JSON.parse(request.responseText); } catch (error) { /* not JSON */ }
        if (request.status === 201) {
          bar.value = bar.max;
          state.textContent = 'uploaded, tagging…';
          state.className = 'ok';
        } else {
          state.textContent = body.detail || `failed (${request.status})`;
          state.className = 'error';
        }
        resolve(request.status);
      };
      request.onerror = () => { state.textContent = 'network error'; state.className = 'error'; resolve(0); };
      const form = new FormData();
      form.append('file', file, file.name);
      request.send(form);
    });
  }

  async function uploadAll(files) {
    const accepted = [...files];
    if (accepted.length === 0) return;
    await Promise.all(accepted.map(upload));
    usage();
    search({});
  }

  const zone = $('drop-zone');
  zone.addEventListener('dragover', (event) => { event.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('over');
    uploadAll(event.dataTransfer.files);
  });
  $('files').addEventListener('change', (event) => { uploadAll(event.target.files); event.target.value = ''; });
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    search({ q: $('query').value.trim(), tag: $('tag').value.trim() });
  });
  $('clear-button').addEventListener('click', () => { $('show-duplicates').checked = false; search({}); });
  $('show-duplicates').addEventListener('change', () => load(false));
  $('more-button').addEventListener('click', () => load(true));
  usage();
  load(false);
})();
