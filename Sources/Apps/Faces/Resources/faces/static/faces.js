// The Faces page: recognize a dropped photo (boxes and names drawn over it), people with their enrolled faces
// (enrol by dropping photos on a person), clusters of unknown faces to name, and watches. API: /v1/apps/faces/.
'use strict';
(() => {
  const { api, el, $, fail, flash } = aerie;
  const base = '/v1/apps/faces';
  let people = [];

  /** A data: URL of a file (the page's CSP allows data: images, not blob: ones). */
  function dataURL(file) {
    return new Promise((resolve, reject) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result);
      reader.onerror = () => reject(reader.error);
      reader.readAsDataURL(file);
    });
  }

  function dropTarget(node, onFiles) {
    node.addEventListener('dragover', (event) => { event.preventDefault(); node.classList.add('over'); });
    node.addEventListener('dragleave', () => node.classList.remove('over'));
    node.addEventListener('drop', (event) => {
      event.preventDefault();
      node.classList.remove('over');
      onFiles([...event.dataTransfer.files]);
    });
  }

  // ---- recognize ----------------------------------------------------------------------------------

  async function recognize(file) {
    const result = $('recognize-result');
    result.replaceChildren(el('p', { class: 'muted' }, `Recognizing ${file.name}…`));
    try {
      const [body, url] = await Promise.all([api('POST', `${base}/recognize`, file), dataURL(file)]);
      const image = el('img', { src: url, alt: file.name, id: 'recognized-photo' });
      const overlay = el('svg', { preserveAspectRatio: 'none' });
      const frame = el('div', { class: 'photo-frame' }, image, overlay);
      image.addEventListener('load', () => {
        overlay.setAttribute('viewBox', `0 0 ${image.naturalWidth} ${image.naturalHeight}`);
        body.faces.forEach((face) => {
          const known = Boolean(face.person);
          overlay.append(el('rect', { x: face.box.x, y: face.box.y, width: face.box.width, height: face.box.height,
            class: known ? 'known' : 'unknown', 'data-person': known ? face.person.name : '' }));
          overlay.append(el('text', { x: face.box.x, y: Math.max(16, face.box.y - 6), fill: known ? '#1f8a4c' : '#e0793b' },
            known ? face.person.name : 'unknown'));
        });
      });
      const list = el('ul', { class: 'matches', id: 'matches' }, body.faces.map((face) => el('li', { class: face.person ? 'known' : 'unknown' },
        face.person ? `${face.person.name}` : 'Unknown face',
        el('span', { class: 'muted' }, face.distance === null ? ' (no people enrolled yet)' : ` · distance ${face.distance.toFixed(3)}`))));
      const summary = el('p', { id: 'recognize-summary' }, body.faces.length === 0 ? 'No face found.'
        : `${body.faces.length} face${body.faces.length === 1 ? '' : 's'}, ${body.faces.filter((f) => f.person).length} recognized (threshold ${body.threshold}).`);
      result.replaceChildren(summary, frame, list);
      loadClusters();
    } catch (error) {
      result.replaceChildren();
      fail(error);
    }
  }

  // ---- people -------------------------------------------------------------------------------------

  async function loadPeople() {
    try {
      people = [];
      let cursor = null;
      do {
        const page = await api('GET', `${base}/people?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
        people.push(...page.items);
        cursor = page.next_cursor;
      } while (cursor);
      const cards = await Promise.all(people.map(personCard));
      $('people').replaceChildren(...cards);
      if (people.length === 0) $('people').append(el('p', { class: 'muted' }, 'No people yet: add one, then drop their photos on the card.'));
      $('watch-person').replaceChildren(...people.map((person) => el('option', { value: person.id }, person.name)));
    } catch (error) {
      fail(error);
    }
  }

  async function personCard(person) {
    const faces = await api('GET', `${base}/people/${person.id}/faces`);
    const row = el('div', { class: 'faces-row' }, faces.items.map((face) => el('span', { class: 'face-thumb' },
      el('img', { src: face.image, alt: `${person.name}, face ${face.id}`, loading: 'lazy' }),
      el('button', { type: 'button', class: 'danger', title: 'Remove this face', onclick: () => removeFace(person, face) }, '×'))));
    const input = el('input', { type: 'file', accept: 'image/jpeg,image/png,image/webp', multiple: true, hidden: true,
      onchange: (event) => { enrol(person, [...event.target.files]); event.target.value = ''; } });
    const card = el('article', { class: 'person', id: `person-${person.id}`, 'data-name': person.name },
      el('header', {}, el('strong', {}, person.name), el('span', { class: 'muted faces-count' }, `${person.faces} face${person.faces === 1 ? '' : 's'}`)),
      row,
      el('div', { class: 'actions' },
        el('label', { class: 'link' }, 'add photos', input), ' ',
        el('button', { type: 'button', class: 'danger', onclick: () => removePerson(person) }, 'Delete')));
    dropTarget(card, (files) => enrol(person, files));
    return card;
  }

  async function enrol(person, files) {
    for (const file of files) {
      try {
        flash(`Enrolling ${file.name} for ${person.name}…`, 'info');
        await api('POST', `${base}/people/${person.id}/faces?pick=largest`, file);
        flash(`Enrolled a face of ${person.name} from ${file.name}.`, 'info');
      } catch (error) {
        fail(error);
      }
    }
    loadPeople();
  }

  async function removeFace(person, face) {
    try {
      await api('DELETE', `${base}/people/${person.id}/faces/${face.id}`);
      loadPeople();
    } catch (error) {
      fail(error);
    }
  }

  async function removePerson(person) {
    if (!confirm(`Delete ${person.name} with their faces and watches?`)) return;
    try {
      await api('DELETE', `${base}/people/${person.id}`);
      loadPeople();
      loadWatches();
    } catch (error) {
      fail(error);
    }
  }

  // ---- clusters -----------------------------------------------------------------------------------

  async function loadClusters() {
    try {
      const body = await api('GET', `${base}/clusters`);
      $('clusters').replaceChildren(...body.groups.map((group) => {
        const name = el('input', { type: 'text', placeholder: 'Who is this?', 'aria-label': 'Name', maxlength: 200 });
        const form = el('form', { class: 'inline-form' }, name, el('button', { type: 'submit' }, 'Name'));
        form.addEventListener('submit', async (event) => {
          event.preventDefault();
          try {
            const named = await api('POST', `${base}/clusters/${group.id}/name`, { name: name.value.trim() });
            flash(`Enrolled ${named.faces.length} face${named.faces.length === 1 ? '' : 's'} as ${named.person.name}.`, 'info');
            loadPeople();
            loadClusters();
          } catch (error) {
            fail(error);
          }
        });
        return el('div', { class: 'cluster', id: `cluster-${group.id}` },
          el('div', { class: 'faces-row' }, group.faces.map((face) => el('img', { src: face.image, alt: `unknown face from photo ${face.photo}`, loading: 'lazy' }))),
          el('span', { class: 'muted' }, `${group.faces.length} face${group.faces.length === 1 ? '' : 's'}`), form);
      }));
      if (body.groups.length === 0) $('clusters').append(el('p', { class: 'muted' }, 'No unknown faces.'));
    } catch (error) {
      fail(error);
    }
  }

  // ---- watches ------------------------------------------------------------------------------------

  async function loadWatches() {
    try {
      const body = await api('GET', `${base}/watches`);
      const names = Object.fromEntries(people.map((person) => [person.id, person.name]));
      aerie.fill($('watches'), body.items.map((watch) => el('tr', {},
        el('td', {}, names[watch.person_id] || watch.person_id),
        el('td', {}, watch.email || watch.webhook_url),
        el('td', {}, aerie.when(watch.created_at)),
        el('td', {}, el('button', { type: 'button', class: 'danger', onclick: async () => {
          try { await api('DELETE', `${base}/watches/${watch.id}`); loadWatches(); } catch (error) { fail(error); }
        } }, 'Stop')))), 'No watches.');
    } catch (error) {
      fail(error);
    }
  }

  $('watch-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const target = $('watch-target').value.trim();
    const body = { person_id: $('watch-person').value };
    if (/^https?:\/\//i.test(target)) body.webhook_url = target; else body.email = target;
    try {
      const watch = await api('POST', `${base}/watches`, body);
      flash(watch.secret ? `Watching. Webhook secret (shown once): ${watch.secret}` : 'Watching.', 'info');
      $('watch-target').value = '';
      loadWatches();
    } catch (error) {
      fail(error);
    }
  });

  $('person-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api('POST', `${base}/people`, { name: $('person-name').value.trim() });
      $('person-name').value = '';
      await loadPeople();
    } catch (error) {
      fail(error);
    }
  });

  dropTarget($('recognize-zone'), (files) => files[0] && recognize(files[0]));
  $('recognize-file').addEventListener('change', (event) => { if (event.target.files[0]) recognize(event.target.files[0]); event.target.value = ''; });
  loadPeople().then(loadWatches);
  loadClusters();
})();
