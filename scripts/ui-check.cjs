// Browser check of the Temporal Web UI; scripts/ui-check.sh runs it after
// starting a generation and a batch. It opens the UI in headless Chromium
// (Debian's, through playwright-core), checks what a user should see and
// saves screenshots. Exit code 1 names everything that was missing.
//
// Environment: UI_URL, TRACK_ID, RUN_ID, BATCH_ID, SUMMARY, OUT, CHROMIUM.
'use strict';

const path = require('path');
const fs = require('fs');
const { chromium } = require('playwright-core');

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`ui-check: ${name} is not set`);
  return v;
};
const UI = env('UI_URL');
const TRACK_ID = env('TRACK_ID');
const RUN_ID = env('RUN_ID');
const BATCH_ID = env('BATCH_ID');
const SUMMARY = env('SUMMARY');
const OUT = env('OUT');
const CHROMIUM = env('CHROMIUM');
const NS = 'default';

// The list's columns: genflow's search attributes beside the usual ones.
// The UI keeps them per namespace in local storage, as its "Configure
// Columns" dialog does. (UI 2.42 has no column for a run's summary: the
// summary is on each run's page, and in `starter list`.)
const COLUMNS = ['Status', 'Workflow ID', 'Type', 'GenflowState', 'GenflowEndpoint', 'GenflowOwner',
  'GenflowParentID', 'Start', 'End'];

const missing = [];

async function expectVisible(page, what, locator, timeout = 15000) {
  try {
    await locator.first().waitFor({ state: 'visible', timeout });
    return true;
  } catch {
    missing.push(what);
    return false;
  }
}

// expectText waits for text (a string or a RegExp) in the page or any of
// its frames: the UI renders summaries and details (Temporal markdown) in
// sandboxed iframes, which locators do not enter.
async function expectText(page, what, text, timeout = 15000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    for (const frame of page.frames()) {
      const body = await frame.evaluate(() => (document.body ? document.body.innerText : '')).catch(() => '');
      if (typeof text === 'string' ? body.includes(text) : text.test(body)) return true;
    }
    if (Date.now() > deadline) {
      missing.push(what);
      return false;
    }
    await page.waitForTimeout(250);
  }
}

// Screenshots go to OUT/tmp first and replace those in OUT only when every
// check passed, so that a failing run leaves the documented ones alone.
const TMP = path.join(OUT, 'tmp');
const shots = [];

async function shoot(page, name) {
  fs.mkdirSync(TMP, { recursive: true });
  await page.screenshot({ path: path.join(TMP, name) });
  shots.push(name);
}

async function listPage(page) {
  const query = encodeURIComponent('WorkflowType != "BatchPage"');
  const url = `${UI}/namespaces/${NS}/workflows?query=${query}`;
  // Visibility is eventually consistent: reload until the run is listed.
  const deadline = Date.now() + 30000;
  for (;;) {
    await page.goto(url, { waitUntil: 'networkidle' });
    const n = await page.getByRole('link', { name: TRACK_ID, exact: true }).count();
    if (n > 0 || Date.now() > deadline) break;
    await page.waitForTimeout(1000);
  }
  // More room for the columns: fold the saved-views panel.
  await page.getByRole('button', { name: 'Collapse saved views' }).click({ timeout: 3000 }).catch(() => {});
  await page.waitForTimeout(500);
  const row = page.locator('tr', { has: page.getByRole('link', { name: TRACK_ID, exact: true }) });
  if (await expectVisible(page, `the list shows ${TRACK_ID}`, row)) {
    const text = await row.first().innerText();
    for (const want of ['Completed', 'Generation', 'succeeded', 'images/text2img', 'demo']) {
      if (!text.includes(want)) missing.push(`the list's row of ${TRACK_ID} shows "${want}" (got: ${text.replace(/\s+/g, ' ')})`);
    }
  }
  const batchRow = page.locator('tr', { has: page.getByRole('link', { name: BATCH_ID, exact: true }) });
  if (await expectVisible(page, `the list shows batch ${BATCH_ID}`, batchRow)) {
    const text = await batchRow.first().innerText();
    for (const want of ['Batch', 'completed']) {
      if (!text.includes(want)) missing.push(`the list's row of ${BATCH_ID} shows "${want}"`);
    }
  }
  const child = page.locator('tr', { has: page.getByRole('link', { name: `${BATCH_ID}-00000`, exact: true }) });
  if (await expectVisible(page, `the list shows the batch's item ${BATCH_ID}-00000`, child)) {
    const text = await child.first().innerText();
    if (!text.includes(BATCH_ID)) missing.push(`the batch item's row shows its parent ${BATCH_ID}`);
  }
  await shoot(page, 'workflow-list.png');
}

async function generationPage(page) {
  await page.goto(`${UI}/namespaces/${NS}/workflows/${TRACK_ID}/${RUN_ID}/user-metadata`, { waitUntil: 'networkidle' });
  await expectText(page, `the page of ${TRACK_ID} shows its summary "${SUMMARY}"`, SUMMARY);
  await expectText(page, 'the page shows the static details (model, owner)', 'model flux · owner demo');
  await expectText(page, 'the page shows the current details ("succeeded since ...")', /succeeded\s+since/);
  await expectText(page, 'the current details say the output was stored', /1 of 1 stored/);
  await expectVisible(page, 'the page lists the Submit activity by its summary', page.getByText('submit images/text2img', { exact: true }));
  await expectVisible(page, 'the page lists the webhook timer by its summary', page.getByText('webhook overdue: poll', { exact: true }));
  await expectVisible(page, 'the page lists the StoreOutputs activity by its summary', page.getByText('store 1 output(s)', { exact: true }));
  await shoot(page, 'generation.png');

  // Tall enough for the timeline under the input and result.
  await page.setViewportSize({ width: 1600, height: 1150 });
  await page.goto(`${UI}/namespaces/${NS}/workflows/${TRACK_ID}/${RUN_ID}/history`, { waitUntil: 'networkidle' });
  await expectVisible(page, 'the timeline labels the Submit activity with its summary', page.getByText(/submit images\/text2img/));
  await expectVisible(page, 'the timeline labels the timer with its summary', page.getByText('webhook overdue: poll'));
  await shoot(page, 'generation-history.png');
}

(async () => {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1600, height: 900 }, timezoneId: 'UTC' });
  await context.addInitScript(([ns, labels]) => {
    const cols = labels.map((label, i) => ({ label, pinned: i < 2 }));
    window.localStorage.setItem('namespace-workflow-table-columns', JSON.stringify({ [ns]: cols }));
  }, [NS, COLUMNS]);
  const page = await context.newPage();
  try {
    await listPage(page);
    await generationPage(page);
  } catch (err) {
    missing.push(`the check itself failed: ${err.message}`);
  }
  if (missing.length > 0) {
    fs.mkdirSync(TMP, { recursive: true });
    await page.screenshot({ path: path.join(TMP, 'failure.png'), fullPage: true }).catch(() => {});
    console.error('ui-check: FAILED; the Temporal UI did not show:');
    for (const m of missing) console.error(`  - ${m}`);
    console.error(`  (last page: ${page.url()}; screenshots in ${TMP})`);
  } else {
    for (const name of shots) {
      fs.renameSync(path.join(TMP, name), path.join(OUT, name));
      console.log(`ui-check: saved ${path.join(OUT, name)}`);
    }
    fs.rmSync(TMP, { recursive: true, force: true });
    console.log('ui-check: OK');
  }
  await browser.close();
  process.exit(missing.length > 0 ? 1 : 0);
})().catch((err) => {
  console.error('ui-check:', err);
  process.exit(1);
});
