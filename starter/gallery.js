(function () {
  'use strict';
  // The gallery's data is JSON in #gallery-data. Everything it holds came
  // from prompts, parameters and provider replies: it only ever reaches
  // the page through textContent and setAttribute, and a link only
  // through safeURL: no string is ever parsed as HTML.
  var data = JSON.parse(document.getElementById('gallery-data').textContent);
  var PAGE = data.page_size > 0 ? data.page_size : 60;
  var main = document.getElementById('main');
  var filter = 'all';
  var query = ''; // the search box's words, lower case
  var pages = {}; // page number per grid (a batch has one, a pipeline one per step)

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null && text !== '') e.textContent = String(text);
    return e;
  }

  // safeURL returns u when a page may load or link it: http(s), or a
  // relative path (a stored copy beside the page or served with it).
  function safeURL(u) {
    if (typeof u !== 'string' || u === '') return null;
    if (/[\u0000-\u0020\u007f\\]/.test(u)) return null;
    if (/^https?:\/\/[^/]/i.test(u)) return u;
    if (/^[a-z][a-z0-9+.\-]*:/i.test(u) || u.indexOf('//') === 0) return null;
    return u;
  }

  function group(status) {
    switch (status) {
      case 'succeeded': return 'succeeded';
      case 'failed': case 'canceled': case 'terminated': case 'timed_out': case 'unknown': return 'failed';
      case 'running': case 'pending': return 'running';
      default: return 'other';
    }
  }

  function when(s) {
    if (!s) return '';
    var d = new Date(s);
    if (isNaN(d.getTime())) return String(s);
    return d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }

  function size(n) {
    if (!(n > 0)) return '';
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    var i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i === 0 ? String(n) : n.toFixed(1)) + ' ' + units[i];
  }

  function seconds(s) {
    if (!(s > 0)) return '';
    if (s < 60) return s.toFixed(s < 10 ? 2 : 1) + ' s';
    var m = Math.floor(s / 60);
    return m + ' min ' + Math.round(s - m * 60) + ' s';
  }

  // The overlay shows one image at full size, and steps through every
  // image the filter and the search keep, across pages (arrow keys or
  // the buttons); Escape or a click beside the image closes it.
  var box = document.getElementById('lightbox');
  var boxImg = document.getElementById('lightbox-img');
  var boxCap = document.getElementById('lightbox-cap');
  var boxPos = document.getElementById('lightbox-pos');
  var boxPrev = document.getElementById('lightbox-prev');
  var boxNext = document.getElementById('lightbox-next');
  var images = [];          // {src, caption} of every image shown by the filter
  var imageAt = new Map();  // output object -> its place in images
  var current = -1;
  function showImage(i) {
    if (i < 0 || i >= images.length) return;
    current = i;
    boxImg.setAttribute('src', images[i].src);
    boxImg.setAttribute('alt', images[i].caption);
    boxCap.textContent = images[i].caption;
    boxPos.textContent = (i + 1) + ' of ' + images.length + ' ·';
    boxPrev.disabled = i === 0;
    boxNext.disabled = i === images.length - 1;
    box.hidden = false;
  }
  function closeBox() {
    box.hidden = true;
    current = -1;
    boxImg.removeAttribute('src');
  }
  box.addEventListener('click', function (e) { if (e.target === box || e.target === boxImg) closeBox(); });
  boxPrev.addEventListener('click', function (e) { e.stopPropagation(); showImage(current - 1); });
  boxNext.addEventListener('click', function (e) { e.stopPropagation(); showImage(current + 1); });
  document.addEventListener('keydown', function (e) {
    if (box.hidden) return;
    if (e.key === 'Escape') closeBox();
    else if (e.key === 'ArrowRight') showImage(current + 1);
    else if (e.key === 'ArrowLeft') showImage(current - 1);
  });

  function linkNote(o) {
    if (o.stored) return el('div', 'link-note stored', 'stored copy' + (o.size ? ' · ' + size(o.size) : ''));
    if (!o.src) return null;
    if (o.expires) {
      var exp = new Date(o.expires);
      var expired = exp.getTime() < Date.now();
      return el('div', 'link-note ' + (expired ? 'expired' : 'expiring'),
        'provider link, ' + (expired ? 'expired ' : 'expires ') + when(o.expires));
    }
    return el('div', 'link-note expiring', 'provider link (expires)');
  }

  function output(o, item) {
    var src = safeURL(o.src);
    var wrap = el('div', 'out out-' + o.kind);
    if (!src) {
      wrap.appendChild(el('div', 'unsafe', 'link not shown (not http or https): ' + (o.link || '')));
      if (o.note) wrap.appendChild(el('div', 'link-note', o.note));
      return wrap;
    }
    if (o.kind === 'image') {
      var a = el('a', 'thumb');
      a.setAttribute('href', src);
      a.setAttribute('target', '_blank');
      a.setAttribute('rel', 'noreferrer noopener');
      a.title = 'full size';
      var img = el('img');
      img.setAttribute('loading', 'lazy');
      img.setAttribute('decoding', 'async');
      img.setAttribute('alt', item.prompt || o.name || 'output');
      img.setAttribute('src', src);
      a.appendChild(img);
      a.addEventListener('click', function (e) {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0 || !imageAt.has(o)) return;
        e.preventDefault();
        showImage(imageAt.get(o));
      });
      wrap.appendChild(a);
    } else if (o.kind === 'video') {
      var v = el('video');
      v.setAttribute('controls', '');
      v.setAttribute('preload', 'metadata');
      v.setAttribute('src', src);
      wrap.appendChild(v);
    } else if (o.kind === 'audio') {
      var au = el('audio');
      au.setAttribute('controls', '');
      au.setAttribute('preload', 'none');
      au.setAttribute('src', src);
      wrap.appendChild(au);
    } else {
      var f = el('a', 'file');
      f.setAttribute('href', src);
      f.setAttribute('download', o.name || '');
      f.setAttribute('rel', 'noreferrer noopener');
      var ext = /\.([a-z0-9]{1,5})$/i.exec(o.name || '');
      f.appendChild(el('span', 'icon', ext ? ext[1].toUpperCase() : (o.kind === 'model' ? '3D' : 'FILE')));
      f.appendChild(el('span', 'name', o.name || o.link));
      f.appendChild(el('span', 'meta', (o.kind === 'model' ? '3D model' : 'file') +
        (o.size ? ' · ' + size(o.size) : ' · size unknown') + (o.content_type ? ' · ' + o.content_type : '')));
      wrap.appendChild(f);
    }
    var note = linkNote(o);
    if (note) wrap.appendChild(note);
    if (o.note) wrap.appendChild(el('div', 'link-note', o.note));
    return wrap;
  }

  function dl(pairs) {
    var d = el('dl');
    pairs.forEach(function (p) {
      if (p[1] === undefined || p[1] === null || p[1] === '' || p[1] === 0) return;
      d.appendChild(el('dt', '', p[0]));
      var dd = el('dd');
      if (p[2]) {
        var a = el('a', '', p[1]);
        a.setAttribute('href', p[2]);
        a.setAttribute('target', '_blank');
        a.setAttribute('rel', 'noreferrer noopener');
        dd.appendChild(a);
      } else {
        dd.textContent = String(p[1]);
      }
      d.appendChild(dd);
    });
    return d;
  }

  function card(item, numbered) {
    var g = group(item.status);
    var c = el('article', 'card g-' + g);
    c.setAttribute('data-status', item.status);
    c.setAttribute('data-group', g);
    c.setAttribute('data-track-id', item.track_id);
    var media = el('div', 'media');
    (item.outputs || []).forEach(function (o) { media.appendChild(output(o, item)); });
    if (!item.outputs || item.outputs.length === 0) {
      var what = g === 'running' ? (item.phase ? item.phase.replace(/_/g, ' ') + '…' : 'waiting…') :
        g === 'failed' ? 'no output' : item.status === 'skipped' ? 'skipped' : 'not started';
      media.appendChild(el('div', 'nothing', what));
    }
    c.appendChild(media);

    var body = el('div', 'body');
    var row = el('div', 'row1');
    row.appendChild(el('span', 'tid', (numbered ? '#' + item.index + ' ' : '') + item.track_id));
    row.appendChild(el('span', 'badge st-' + item.status, item.status.replace(/_/g, ' ')));
    body.appendChild(row);
    if (item.prompt) {
      var p = el('p', 'prompt', item.prompt);
      p.title = item.prompt;
      body.appendChild(p);
    }
    var facts = [];
    if (item.model) facts.push(item.model);
    if (item.endpoint) facts.push(item.endpoint);
    if (item.learned_by) facts.push('by ' + item.learned_by);
    if (item.seconds) facts.push(seconds(item.seconds));
    if (item.phase && g === 'running') facts.push(item.phase.replace(/_/g, ' '));
    if (facts.length) body.appendChild(el('div', 'meta', facts.join(' · ')));
    if (item.error) body.appendChild(el('div', 'error', item.error));

    var det = el('details');
    det.appendChild(el('summary', '', 'details'));
    var ui = safeURL(item.ui_url);
    det.appendChild(dl([
      ['track_id', item.track_id],
      ['endpoint', item.endpoint],
      ['model', item.model],
      ['status', item.status + (item.phase ? ' (' + item.phase + ')' : '')],
      ['learned by', item.learned_by],
      ['provider id', item.provider_id],
      ['started', when(item.started_at)],
      ['submitted', when(item.submitted_at)],
      ['completed', when(item.completed_at)],
      ['took', seconds(item.seconds)],
      ['provider time', seconds(item.generation_time)],
      ['webhooks', item.webhooks],
      ['polls', item.polls],
      ['Temporal UI', ui ? 'open run' : '', ui]
    ]));
    if (item.prompt) {
      det.appendChild(el('div', '', 'prompt'));
      det.appendChild(el('pre', '', item.prompt));
    }
    if (item.params) {
      det.appendChild(el('div', '', 'parameters'));
      det.appendChild(el('pre', 'params', item.params));
    }
    (item.outputs || []).forEach(function (o) {
      det.appendChild(el('pre', 'link', o.link + (o.sha256 ? '\nsha256 ' + o.sha256 : '')));
    });
    body.appendChild(det);
    c.appendChild(body);
    return c;
  }

  // matches reports whether an item holds every word of the search box
  // in its prompt, track_id, model, endpoint, parameters or error.
  function matches(it) {
    if (!query) return true;
    var hay = [it.prompt, it.track_id, it.model, it.endpoint, it.params, it.error, it.status]
      .join('\n').toLowerCase();
    return query.split(/\s+/).every(function (w) { return hay.indexOf(w) >= 0; });
  }

  // visible are the items the filter and the search keep.
  function visible(items) {
    return items.filter(function (it) {
      return (filter === 'all' || group(it.status) === filter) && matches(it);
    });
  }

  // collectImages lists the images of the items shown, in page order, for
  // the overlay.
  function collectImages(items) {
    visible(items).forEach(function (it) {
      (it.outputs || []).forEach(function (o) {
        var src = o.kind === 'image' ? safeURL(o.src) : null;
        if (!src) return;
        imageAt.set(o, images.length);
        images.push({ src: src, caption: (it.prompt || it.track_id) + ' — ' + (o.name || o.link) });
      });
    });
  }

  // grid renders items (those of the filter), a page at a time, with a
  // pager when they do not fit one page.
  function grid(key, items, numbered) {
    var shown = visible(items);
    var wrap = el('div', 'grid-wrap');
    wrap.setAttribute('data-grid', key);
    if (shown.length === 0) {
      wrap.appendChild(el('p', 'empty', items.length === 0 ? 'no generations' : 'nothing matches'));
      return wrap;
    }
    var n = Math.ceil(shown.length / PAGE);
    var page = Math.min(pages[key] || 0, n - 1);
    var g = el('div', 'grid');
    shown.slice(page * PAGE, (page + 1) * PAGE).forEach(function (it) { g.appendChild(card(it, numbered)); });
    if (n > 1) wrap.appendChild(pager(key, page, n, shown.length));
    wrap.appendChild(g);
    if (n > 1) wrap.appendChild(pager(key, page, n, shown.length));
    return wrap;
  }

  function pager(key, page, n, total) {
    var p = el('div', 'pager');
    var prev = el('button', 'prev', '‹ previous');
    prev.type = 'button';
    prev.disabled = page === 0;
    prev.addEventListener('click', function () { pages[key] = page - 1; render(); window.scrollTo(0, 0); });
    var next = el('button', 'next', 'next ›');
    next.type = 'button';
    next.disabled = page >= n - 1;
    next.addEventListener('click', function () { pages[key] = page + 1; render(); window.scrollTo(0, 0); });
    p.appendChild(prev);
    p.appendChild(el('span', 'page-of', 'page ' + (page + 1) + ' of ' + n + ' · items ' + (page * PAGE + 1) + '–' +
      Math.min(total, (page + 1) * PAGE) + ' of ' + total));
    p.appendChild(next);
    return p;
  }

  function step(s, i) {
    var sec = el('section', 'step');
    sec.setAttribute('data-step', s.name);
    var h = el('h2');
    h.appendChild(el('span', 'num', (i + 1) + '. '));
    h.appendChild(el('span', 'name', s.name));
    h.appendChild(document.createTextNode(' '));
    h.appendChild(el('span', 'badge st-' + s.state, s.state));
    sec.appendChild(h);
    var facts = [s.endpoint];
    if (s.mapped) facts.push('mapped: ' + (s.items ? s.items.length : 0) + ' generation(s)');
    if (s.depends_on && s.depends_on.length) facts.push('after ' + s.depends_on.join(', '));
    if (s.started_at) facts.push('started ' + when(s.started_at));
    if (s.completed_at) facts.push('ended ' + when(s.completed_at));
    sec.appendChild(el('p', 'facts', facts.join(' · ')));
    if (s.error) sec.appendChild(el('p', 'error', s.error));
    var items = s.items || [];
    var g = grid('step:' + s.name, items, s.mapped);
    sec.appendChild(g);
    // A step of a few generations takes only their width, so that small
    // steps line up side by side in plan order.
    if (items.length <= 4) {
      sec.classList.add('compact');
      var inner = g.querySelector('.grid');
      if (inner) inner.style.gridTemplateColumns = 'repeat(' + inner.children.length + ', 240px)';
    }
    return sec;
  }

  function render() {
    images = [];
    imageAt = new Map();
    if (data.kind === 'pipeline') {
      (data.steps || []).forEach(function (s) { collectImages(s.items || []); });
    } else {
      collectImages(data.items || []);
    }
    var frag = document.createDocumentFragment();
    if (data.kind === 'pipeline') {
      var steps = el('div', 'steps');
      (data.steps || []).forEach(function (s, i) { steps.appendChild(step(s, i)); });
      frag.appendChild(steps);
    } else {
      frag.appendChild(grid('items', data.items || [], data.kind === 'batch'));
    }
    main.replaceChildren(frag);
  }

  var buttons = document.querySelectorAll('#filters button[data-filter]');
  Array.prototype.forEach.call(buttons, function (b) {
    b.addEventListener('click', function () {
      filter = b.getAttribute('data-filter');
      pages = {};
      Array.prototype.forEach.call(buttons, function (o) { o.setAttribute('aria-pressed', String(o === b)); });
      render();
    });
  });

  var search = document.getElementById('search');
  var searchTimer = null;
  search.addEventListener('input', function () {
    window.clearTimeout(searchTimer);
    searchTimer = window.setTimeout(function () {
      query = search.value.trim().toLowerCase();
      pages = {};
      render();
    }, 150);
  });

  // A running run's page, served by `starter gallery --serve`, reloads
  // itself (the server makes it again) unless the box is unticked.
  if (data.refresh > 0 && data.status === 'running') {
    var label = document.getElementById('refresh');
    var boxEl = document.getElementById('refresh-box');
    document.getElementById('refresh-secs').textContent = String(data.refresh);
    label.hidden = false;
    try { boxEl.checked = window.sessionStorage.getItem('gallery-refresh') !== 'off'; } catch (e) { /* storage off */ }
    boxEl.addEventListener('change', function () {
      try { window.sessionStorage.setItem('gallery-refresh', boxEl.checked ? 'on' : 'off'); } catch (e) { /* storage off */ }
    });
    window.setInterval(function () { if (boxEl.checked) window.location.reload(); }, data.refresh * 1000);
  }

  render();
  document.documentElement.setAttribute('data-rendered', 'true');
  if (window.performance && performance.mark) performance.mark('gallery-rendered');
})();
