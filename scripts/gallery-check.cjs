// Browser check of `starter gallery` pages; scripts/gallery-check.sh runs
// it over the pages TestGalleryFixtures writes (a running batch, a
// pipeline, the injection cases, a 10,000-item batch, one generation).
// It opens each in headless Chromium (Debian's, through playwright-core),
// checks what a user should see, fails if any script a prompt or a
// provider's reply carries runs (with the page's CSP, and again with the
// CSP bypassed, so that escaping alone is tested), measures the 10,000-item
// page's size and first paint, and saves screenshots.
//
// Environment: FIXTURES (the pages), OUT (screenshots), CHROMIUM,
// MEASURE_OUT (a JSON file for the figures), RUNS (first-paint runs, 5),
// E2E_PAGES (optional: the pages TestGalleryEndToEnd kept, from the real
// stack).
'use strict';

const path = require('path');
const fs = require('fs');
const { chromium } = require('playwright-core');

const env = (name, def) => {
  const v = process.env[name] || def;
  if (!v) throw new Error(`gallery-check: ${name} is not set`);
  return v;
};
const FIXTURES = env('FIXTURES');
const OUT = env('OUT');
const CHROMIUM = env('CHROMIUM');
const MEASURE_OUT = process.env.MEASURE_OUT || '';
const RUNS = Number(process.env.RUNS || 5);
const E2E_PAGES = process.env.E2E_PAGES || '';

const failures = [];
const check = (ok, what) => {
  if (!ok) failures.push(what);
  return ok;
};
const url = (name) => 'file://' + path.join(FIXTURES, name);

// The provider's links of the fixtures point at cdn.modelslab.test, served
// here from FIXTURES/provider (a picture for every .png, a tone for
// .wav); anything else is a 404, like an expired link.
async function serveProvider(context) {
  const png = fs.readFileSync(path.join(FIXTURES, 'provider', 'thumb.png'));
  const wav = fs.readFileSync(path.join(FIXTURES, 'provider', 'clip.wav'));
  await context.route('https://cdn.modelslab.test/**', (route) => {
    const u = route.request().url();
    if (u.endsWith('.png')) return route.fulfill({ status: 200, contentType: 'image/png', body: png });
    if (u.endsWith('.wav')) return route.fulfill({ status: 200, contentType: 'audio/wav', body: wav });
    return route.fulfill({ status: 404, body: 'gone' });
  });
}

// Every way a script could announce itself: alert and friends, dialogs,
// and CSP violations (which mean markup that should not exist was
// parsed).
async function watchScripts(context) {
  await context.addInitScript(() => {
    window.__pwned = 0;
    window.__csp = [];
    for (const f of ['alert', 'confirm', 'prompt']) {
      window[f] = () => { window.__pwned++; };
    }
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sample || ''}`);
    });
  });
}

async function open(context, name) {
  const page = await context.newPage();
  page.on('dialog', (d) => { failures.push(`${name}: a dialog opened: ${d.message()}`); d.dismiss().catch(() => {}); });
  page.on('pageerror', (e) => failures.push(`${name}: script error: ${e.message}`));
  await page.goto(url(name), { waitUntil: 'load' });
  await page.waitForSelector('html[data-rendered="true"]', { timeout: 15000 });
  return page;
}

const count = (page, sel) => page.locator(sel).count();
const text = (page, sel) => page.locator(sel).first().innerText();

async function filterTo(page, f) {
  await page.click(`#filters button[data-filter="${f}"]`);
  return page.locator('article.card').count();
}

async function batchPage(context) {
  const page = await open(context, 'batch.html');
  const btn = async (f) => (await text(page, `#filters button[data-filter="${f}"] b`)).trim();
  check(await btn('all') === '24', 'batch: the "all" filter counts 24');
  check(await btn('succeeded') === '14', 'batch: the "succeeded" filter counts 14');
  check(await btn('failed') === '4', 'batch: the "failed" filter counts 4');
  check(await btn('running') === '6', 'batch: the "running" filter counts 6 (3 running, 3 pending)');
  const prog = page.locator('#progress progress');
  check(await prog.getAttribute('value') === '18' && await prog.getAttribute('max') === '24', 'batch: the progress bar shows 18 of 24');
  check((await text(page, '#progress-text')).includes('18 of 24 done'), 'batch: the progress text says 18 of 24 done');
  check((await text(page, '.note')).includes('still running'), 'batch: a running batch says how to refresh');
  check(await count(page, 'article.card') === 24, 'batch: 24 cards');
  const imgs = page.locator('article.card .thumb img');
  check(await imgs.count() === 14, 'batch: 14 thumbnails');
  const lazy = await imgs.evaluateAll((els) => els.every((e) => e.getAttribute('loading') === 'lazy'));
  check(lazy, 'batch: thumbnails are lazy-loaded');
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await page.waitForTimeout(500);
  await page.evaluate(() => window.scrollTo(0, 0));
  const loaded = await imgs.evaluateAll((els) => els.filter((e) => e.complete && e.naturalWidth > 0).length);
  check(loaded === 14, `batch: every thumbnail loads, stored copies beside the page and provider links (${loaded} of 14)`);
  check(await count(page, '.link-note.stored') === 11, 'batch: 11 outputs are marked as stored copies');
  check(await count(page, '.link-note.expiring') === 3, 'batch: 3 provider links are marked as expiring');
  const first = page.locator('article.card').first();
  const firstText = await first.innerText();
  for (const want of ['#0 launch-42-00000', 'succeeded', 'a lighthouse on a cliff at dusk', 'flux', 'images/text2img', 'by webhook']) {
    check(firstText.includes(want), `batch: the first card shows "${want}"`);
  }
  await first.locator('details summary').click();
  const det = await first.locator('details').innerText();
  for (const want of ['"width": 512', 'Temporal UI', 'started', 'completed', 'webhooks']) {
    check(det.includes(want), `batch: the first card's details show "${want}"`);
  }
  check(await first.locator('details a[href^="http://localhost:8233/"]').count() === 1, 'batch: the card links its run in the Temporal UI');
  await first.locator('details summary').click();

  // Full size on click, Escape closes.
  await page.locator('article.card .thumb').first().click();
  check(await page.locator('#lightbox').isVisible(), 'batch: a thumbnail opens the full-size image');
  const full = await page.locator('#lightbox-img').evaluate((e) => e.complete && e.naturalWidth);
  check(full >= 256, 'batch: the full-size image is loaded at its size');
  check((await text(page, '#lightbox-pos')).startsWith('1 of 14'), 'batch: the overlay says 1 of 14 images');
  await page.keyboard.press('ArrowRight');
  check((await text(page, '#lightbox-pos')).startsWith('2 of 14') &&
    (await text(page, '#lightbox-cap')).includes('a harbour at dawn'), 'batch: the right arrow shows the next image');
  await page.click('#lightbox-prev');
  check((await text(page, '#lightbox-pos')).startsWith('1 of 14'), 'batch: the previous button goes back');
  await page.screenshot({ path: path.join(OUT, 'tmp', 'gallery-lightbox.png') });
  await page.keyboard.press('Escape');
  check(!(await page.locator('#lightbox').isVisible()), 'batch: Escape closes the full-size image');

  check(await filterTo(page, 'failed') === 4, 'batch: filtering failed shows 4 cards');
  const errs = await page.locator('article.card .error').allInnerTexts();
  check(errs.length === 4 && errs.some((e) => e.includes('NSFW content detected')), 'batch: failed cards show their errors');
  check(await filterTo(page, 'running') === 6, 'batch: filtering running shows 6 cards');
  const running = await page.locator('article.card').allInnerTexts();
  check(running.some((t) => t.includes('polling')) && running.some((t) => t.includes('pending')), 'batch: running cards show their phase');
  check(await filterTo(page, 'succeeded') === 14, 'batch: filtering succeeded shows 14 cards');
  await filterTo(page, 'all');
  await page.screenshot({ path: path.join(OUT, 'tmp', 'gallery-batch.png'), fullPage: false });
  await page.close();
}

async function pipelinePage(context) {
  const page = await open(context, 'pipeline.html');
  const steps = await page.locator('section.step').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
  check(JSON.stringify(steps) === JSON.stringify(['portrait', 'animate', 'voice', 'model', 'turntable']),
    `pipeline: the steps in plan order (got ${steps.join(', ')})`);
  const step = (name) => page.locator(`section.step[data-step="${name}"]`);
  check(await step('portrait').locator('.thumb img').count() === 1, 'pipeline: the portrait step shows its image');
  check(await step('animate').locator('video[controls]').count() === 1, 'pipeline: the animate step shows a video player');
  check(await step('voice').locator('audio[controls]').count() === 1, 'pipeline: the voice step shows an audio player');
  const files = await step('model').locator('a.file').allInnerTexts();
  check(files.length === 2 && files.every((t) => t.includes('3D model') && /\d+(\.\d)? KiB/.test(t)),
    `pipeline: the model step lists two 3D models as downloads with their size (${files.join(' | ')})`);
  check(await step('model').locator('a.file[download]').count() === 2, 'pipeline: 3D models are download links');
  check((await step('model').innerText()).includes('could not find a single object'), 'pipeline: the failed item shows its error');
  check((await step('model').innerText()).includes('mapped: 3 generation(s)'), 'pipeline: the mapped step says how many');
  check((await step('turntable').innerText()).includes('skipped'), 'pipeline: the skipped step says so');
  check((await step('animate').innerText()).includes('after portrait'), 'pipeline: a step names what it waits for');
  check((await text(page, '#run-status')).includes('partial'), 'pipeline: the header shows the pipeline partial');
  check(await btnCount(page, 'all') === '6', 'pipeline: 6 generations');
  await page.setViewportSize({ width: 1400, height: 1250 });
  await page.screenshot({ path: path.join(OUT, 'tmp', 'gallery-pipeline.png'), fullPage: false });
  await page.close();
}

async function btnCount(page, f) {
  return (await text(page, `#filters button[data-filter="${f}"] b`)).trim();
}

// injection opens the hostile page and fails on anything a script did.
async function injection(context, label) {
  const page = await open(context, 'injection.html');
  await page.locator('details').evaluateAll((els) => els.forEach((d) => { d.open = true; }));
  await page.click('#filters button[data-filter="failed"]');
  await page.click('#filters button[data-filter="all"]');
  await page.locator('article.card .thumb').first().click().catch(() => {});
  await page.keyboard.press('Escape');
  await page.waitForTimeout(1000);
  const pwned = await page.evaluate(() => window.__pwned);
  check(pwned === 0, `injection (${label}): no script ran (window.__pwned = ${pwned})`);
  const csp = await page.evaluate(() => window.__csp);
  check(csp.length === 0, `injection (${label}): nothing was blocked by the CSP, so nothing tried (${csp.join('; ')})`);
  const handlers = await page.evaluate(() => {
    const bad = [];
    for (const e of document.querySelectorAll('*')) {
      for (const a of e.attributes) {
        if (a.name.startsWith('on')) bad.push(`${e.tagName} ${a.name}`);
        if (['href', 'src', 'action', 'formaction'].includes(a.name) && /^\s*(javascript|data|vbscript):/i.test(a.value)) {
          bad.push(`${e.tagName} ${a.name}=${a.value}`);
        }
      }
    }
    return bad.concat([...document.querySelectorAll('svg, iframe, object, embed, form')].map((e) => e.tagName));
  });
  check(handlers.length === 0, `injection (${label}): no event handler attributes, script links or injected elements (${handlers.join(', ')})`);
  check(await count(page, 'script') === 2, `injection (${label}): the page's two script elements only`);
  const body = await page.evaluate(() => document.body.innerText);
  for (const want of ['<script>window.__pwned=1;alert(1)</script>', '"><img src=x onerror="window.__pwned=1;alert(1)">',
    'link not shown (not http or https): javascript:window.__pwned=1']) {
    check(body.includes(want), `injection (${label}): shows ${want} as text`);
  }
  if (label === 'with its CSP') {
    await page.screenshot({ path: path.join(OUT, 'tmp', 'gallery-injection.png') });
  }
  await page.close();
}

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function big(browser) {
  const file = path.join(FIXTURES, 'big.html');
  const size = fs.statSync(file).size;
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    // A fresh context each time: no cache.
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await serveProvider(context);
    const page = await context.newPage();
    await page.goto(url('big.html'), { waitUntil: 'load' });
    await page.waitForSelector('html[data-rendered="true"]');
    await page.waitForTimeout(300);
    runs.push(await page.evaluate(() => {
      const paint = Object.fromEntries(performance.getEntriesByType('paint').map((p) => [p.name, p.startTime]));
      const nav = performance.getEntriesByType('navigation')[0];
      const mark = performance.getEntriesByName('gallery-rendered')[0];
      return { fp: paint['first-paint'], fcp: paint['first-contentful-paint'], dcl: nav.domContentLoadedEventEnd,
        load: nav.loadEventEnd, rendered: mark ? mark.startTime : null, cards: document.querySelectorAll('article.card').length,
        images: document.querySelectorAll('article.card img').length };
    }));
    if (i === 0) {
      check(runs[0].cards === 60, `big: the first page shows 60 of 10,000 items (got ${runs[0].cards})`);
      check((await text(page, '.pager .page-of')).includes('page 1 of 167'), 'big: the pager says page 1 of 167');
      await page.locator('.pager .next').first().click();
      check((await text(page, '.pager .page-of')).includes('page 2 of 167'), 'big: next goes to page 2');
      check((await page.locator('article.card').first().getAttribute('data-track-id')) === 'big-10k-00060', 'big: page 2 starts at item 60');
      await page.click('#filters button[data-filter="failed"]');
      check((await text(page, '.pager .page-of')).includes('page 1 of 4') && (await btnCount(page, 'failed')) === '200',
        'big: the failed filter holds 200 items on 4 pages');
      await page.click('#filters button[data-filter="all"]');
      await page.fill('#search', 'variation 1234,');
      await page.waitForTimeout(400);
      const found = await page.locator('article.card').evaluateAll((els) => els.map((e) => e.getAttribute('data-track-id')));
      check(JSON.stringify(found) === '["big-10k-01234"]', `big: searching "variation 1234," finds item 1234 only (${found.slice(0, 5)})`);
      await page.fill('#search', 'nsfw');
      await page.waitForTimeout(400);
      check((await text(page, '.pager .page-of')).includes('of 200'), 'big: searching "nsfw" finds the 200 failed items');
      await page.fill('#search', '');
      await page.waitForTimeout(400);
      await page.screenshot({ path: path.join(OUT, 'tmp', 'gallery-big.png') });
    }
    await context.close();
  }
  const m = {
    items: 10000, bytes: size, runs: RUNS,
    first_paint_ms: Math.round(median(runs.map((r) => r.fp))),
    first_contentful_paint_ms: Math.round(median(runs.map((r) => r.fcp))),
    dom_content_loaded_ms: Math.round(median(runs.map((r) => r.dcl))),
    rendered_ms: Math.round(median(runs.map((r) => r.rendered))),
    load_ms: Math.round(median(runs.map((r) => r.load))),
    chromium: browser.version(),
  };
  console.log(`gallery-check: 10,000-item page: ${(size / 1048576).toFixed(2)} MiB; median of ${RUNS}: first paint ${m.first_paint_ms} ms, ` +
    `first contentful paint ${m.first_contentful_paint_ms} ms, first page of cards rendered ${m.rendered_ms} ms, load ${m.load_ms} ms`);
  check(m.first_contentful_paint_ms < 3000, `big: first contentful paint under 3 s (${m.first_contentful_paint_ms} ms)`);
  if (MEASURE_OUT) fs.writeFileSync(MEASURE_OUT, JSON.stringify(m, null, 2) + '\n');
}

// e2ePages opens the pages TestGalleryEndToEnd made on the real stack
// (E2E_PAGES): stored copies of the fake provider's outputs beside them.
async function e2ePages(context) {
  const open2 = async (name) => {
    const page = await context.newPage();
    page.on('pageerror', (e) => failures.push(`e2e ${name}: script error: ${e.message}`));
    await page.goto('file://' + path.join(E2E_PAGES, name), { waitUntil: 'load' });
    await page.waitForSelector('html[data-rendered="true"]', { timeout: 15000 });
    await page.waitForTimeout(500);
    return page;
  };
  const loadedImages = (page, sel) => page.locator(sel).evaluateAll((els) => els.filter((e) => e.complete && e.naturalWidth > 0).length);

  let page = await open2('batch.html');
  check(await count(page, 'article.card') === 4, 'e2e batch: 4 cards');
  check(await btnCount(page, 'succeeded') === '3' && await btnCount(page, 'failed') === '1', 'e2e batch: 3 succeeded, 1 failed');
  check(await loadedImages(page, 'article.card .thumb img') === 3, 'e2e batch: the 3 stored copies load beside the page');
  check(await count(page, '.link-note.stored') === 3, 'e2e batch: 3 outputs marked as stored copies');
  const body = await page.evaluate(() => document.body.innerText);
  check(body.includes('<script>window.__pwned=1</script> a fox "><img src=x onerror=alert(1)>'), 'e2e batch: the hostile prompt is shown as text');
  check(body.includes('GenerationFailed'), 'e2e batch: the failed item shows its error');
  check(body.includes('by poll'), 'e2e batch: the polled item says so');
  check(await page.evaluate(() => window.__pwned) === 0, 'e2e batch: no script ran');
  await page.screenshot({ path: path.join(E2E_PAGES, 'batch.png') });
  await page.close();

  page = await open2('pipe.html');
  const steps = await page.locator('section.step').evaluateAll((els) => els.map((e) => e.getAttribute('data-step')));
  check(JSON.stringify(steps) === '["views","model"]', `e2e pipeline: steps views, model (got ${steps})`);
  check(await loadedImages(page, 'section.step[data-step="views"] .thumb img') === 4, 'e2e pipeline: the 4 views load');
  const files = await page.locator('section.step[data-step="model"] a.file').allInnerTexts();
  check(files.length === 4 && files.every((t) => t.includes('3D model') && /\d+ B|KiB/.test(t)),
    `e2e pipeline: 4 3D models as downloads with their size (${files.join(' | ')})`);
  await page.screenshot({ path: path.join(E2E_PAGES, 'pipe.png'), fullPage: true });
  await page.close();

  page = await open2('generation.html');
  check(await loadedImages(page, 'article.card .thumb img') === 1, 'e2e generation: its stored output loads');
  await page.close();
}

async function generationPage(context) {
  const page = await open(context, 'generation.html');
  check(await count(page, 'article.card .thumb img') === 2, 'generation: both outputs as thumbnails');
  check((await text(page, 'article.card')).includes('a red fox in fresh snow'), 'generation: shows its prompt');
  await page.close();
}

(async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--allow-file-access-from-files'],
  });
  fs.mkdirSync(path.join(OUT, 'tmp'), { recursive: true });
  try {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, timezoneId: 'UTC', colorScheme: 'light' });
    await serveProvider(context);
    await watchScripts(context);
    await batchPage(context);
    await pipelinePage(context);
    await generationPage(context);
    await injection(context, 'with its CSP');
    if (E2E_PAGES) await e2ePages(context);
    await context.close();

    // Escaping alone: the same page with its CSP bypassed.
    const bare = await browser.newContext({ viewport: { width: 1400, height: 900 }, bypassCSP: true });
    await serveProvider(bare);
    await watchScripts(bare);
    await injection(bare, 'CSP bypassed');
    await bare.close();

    await big(browser);
  } catch (err) {
    failures.push(`the check itself failed: ${err.stack || err.message}`);
  }
  await browser.close();
  if (failures.length > 0) {
    console.error('gallery-check: FAILED:\n  ' + failures.join('\n  '));
    console.error(`gallery-check: screenshots so far in ${path.join(OUT, 'tmp')}`);
    process.exit(1);
  }
  for (const f of fs.readdirSync(path.join(OUT, 'tmp'))) {
    fs.renameSync(path.join(OUT, 'tmp', f), path.join(OUT, f));
  }
  fs.rmdirSync(path.join(OUT, 'tmp'));
  console.log(`gallery-check: every check passed; screenshots in ${OUT}`);
})();
