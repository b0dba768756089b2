/**
 * The shipping console in a real browser (Debian's Chromium via playwright-core) against a real dev server, the Azure
 * emulator and the production worker wiring (startImportJobHarness). Needs /usr/bin/chromium:
 * `bash scripts/install-browser.sh`. Screenshots go to test-output/screenshots/.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import type { WorkflowHandle } from '@temporalio/client';
import { workflowIdForJob, type JobSpecInput } from '../common/job-spec';
import { hashPassword } from '../console/passwords';
import { startConsole, type RunningConsole } from '../console/server';
import { importJobWorkflow } from '../workflows/import-job';
import { statusQuery, type ImportJobStatus } from '../workflows/import-job-messages';
import { eventually, startImportJobHarness, type ImportJobHarness } from './helpers/import-job-harness';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '..', 'test-output', 'screenshots');
/** A fresh 12-digit FedEx number per run (tracking numbers must be unique across jobs, also on a shared server). */
const TRACKING = String(100_000_000_000 + Math.floor(Math.random() * 899_999_999_999));
const TRACKING_SPACED = TRACKING.replace(/(\d{4})(?=\d)/g, '$1 ');
const XSS_NAME = 'Dana <img src=x onerror="window.__xss=1"> Operator';

let h: ImportJobHarness;
let running: Promise<void>;
let app: RunningConsole;
let browser: Browser;

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-browser.sh`);
  fs.mkdirSync(SHOTS, { recursive: true });
  h = await startImportJobHarness();
  running = h.worker.run();
  app = await startConsole({
    client: h.env.client,
    taskQueue: h.taskQueue,
    port: 0,
    users: [
      { username: 'clerk-ann', role: 'clerk', passwordHash: await hashPassword('ann-ships-drives'), displayName: 'Ann (shipping)' },
      { username: 'ops-olga', role: 'operator', passwordHash: await hashPassword('olga-runs-jobs') },
    ],
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
});
after(async () => {
  await browser?.close();
  await app?.close();
  h.worker.shutdown();
  await running;
  await h.teardown();
});

async function newSession(username: string, password: string): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20_000);
  page.on('dialog', (d) => {
    void d.dismiss();
    assert.fail(`unexpected dialog: ${d.message()}`);
  });
  await page.goto(`${app.url}/`);
  await page.waitForURL(/\/login/);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  return { context, page };
}

async function startJob(spec: JobSpecInput): Promise<WorkflowHandle<typeof importJobWorkflow>> {
  return h.env.client.workflow.start(importJobWorkflow, { args: [{ spec, startedBy: 'ops-test' }], taskQueue: h.taskQueue, workflowId: workflowIdForJob(spec.jobName) });
}

async function waitForStep(handle: WorkflowHandle, steps: ImportJobStatus['step'][]): Promise<ImportJobStatus> {
  return eventually(async () => {
    const s = await handle.query(statusQuery);
    return steps.includes(s.step) ? s : undefined;
  }, 30_000, `step ${steps.join('/')}`);
}

/** Reloads until `selector` shows up (visibility, i.e. search attributes, lags a little behind the workflow). */
async function reloadUntil(page: Page, selector: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await page.locator(selector).count()) > 0) return;
    if (Date.now() > deadline) throw new Error(`${selector} did not appear on ${page.url()}`);
    await new Promise((r) => setTimeout(r, 300));
    await page.reload();
  }
}

const shot = (page: Page, name: string, fullPage = true): Promise<Buffer> => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
const today = (): string => new Date().toISOString().slice(0, 10);

describe('shipping console in Chromium', () => {
  let shipped: { spec: JobSpecInput; handle: WorkflowHandle<typeof importJobWorkflow> };

  test('clerk: sees the waiting job, gets the error next to the field, ships, the workflow moves on', async () => {
    const base = await h.spec();
    const spec: JobSpecInput = { ...base, returnAddress: { ...base.returnAddress, recipientName: XSS_NAME } };
    const handle = await startJob(spec);
    shipped = { spec, handle };
    const waiting = await waitForStep(handle, ['awaiting-shipping']);
    const wf = handle.workflowId;
    const driveIds = waiting.drives.map((d) => d.driveId);

    // A second job created with a 2-day shipping window: nearest deadline, so listed first and highlighted.
    const urgentSpec = await h.spec();
    const urgent = await startJob({ ...urgentSpec, timing: { ...urgentSpec.timing, shippingWindow: '2 days' } });
    await waitForStep(urgent, ['awaiting-shipping']);

    const { context, page } = await newSession('clerk-ann', 'ann-ships-drives');
    assert.match(new URL(page.url()).pathname, /^\/shipping$/);
    const card = `article[data-job="${spec.jobName}"]`;
    await reloadUntil(page, card);
    await reloadUntil(page, `article[data-job="${urgentSpec.jobName}"]`);
    assert.deepEqual(await page.locator('article.job').evaluateAll((els) => els.map((e) => e.getAttribute('data-job'))), [urgentSpec.jobName, spec.jobName], 'oldest deadline first');
    assert.equal(await page.locator(`article[data-job="${urgentSpec.jobName}"] .badge.urgent`).innerText(), '2 days left');
    assert.equal(await page.locator(`${card} .badge.ok`).count(), 1);
    const cardText = await page.locator(card).innerText();
    for (const d of driveIds) assert.ok(cardText.includes(d), `drive ${d} listed`);
    assert.match(cardText, /West US/i, 'ship-to site');
    assert.ok(waiting.site && cardText.includes(waiting.site.address.streetAddress1), 'ship-to street');
    assert.match(cardText, /1[34] days left|13 days left|14 days left/);
    const carriers = await page.locator(`${card} select[name=carrierName] option`).allInnerTexts();
    assert.deepEqual(carriers, waiting.site?.supportedCarriers);
    assert.equal(await page.inputValue(`${card} input[name=driveCount]`), String(driveIds.length));
    assert.equal(await page.inputValue(`${card} input[name=shipDate]`), today());
    await shot(page, '01-clerk-awaiting-shipment');

    // Packing slip: ship-to, job name, drive serials and the return address (from the start input), escaped.
    await page.click(`${card} a.slip-link`);
    await page.waitForSelector('#packing-slip');
    const slip = await page.locator('#packing-slip').innerText();
    assert.ok(slip.includes(spec.jobName));
    for (const d of driveIds) assert.ok(slip.includes(d));
    assert.ok(slip.includes(XSS_NAME), 'return address recipient shown as text');
    assert.ok(slip.includes('1 Harbour Road'));
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss), undefined, 'no script ran');
    assert.equal(await page.locator('#packing-slip img').count(), 0);
    assert.doesNotMatch(await page.content(), /bitLocker|secret/i, 'no key material or secret refs on the page');
    await shot(page, '03-packing-slip');
    await page.goBack();

    // A UPS-shaped number for FedEx: the validator's message appears next to the tracking-number field.
    await reloadUntil(page, card);
    await page.selectOption(`${card} select[name=carrierName]`, 'FedEx');
    await page.fill(`${card} input[name=trackingNumber]`, '1Z999AA10123456784');
    await page.click(`${card} button[type=submit]`);
    const err = page.locator(`#err-trackingNumber-${wf}`);
    await err.waitFor();
    assert.match(await err.innerText(), /1Z999AA10123456784 is not a FedEx tracking number \(e\.g\. 123456789012\)/);
    const fieldBox = page.locator(`${card} .field`, { has: page.locator('input[name=trackingNumber]') });
    assert.equal(await fieldBox.locator('.field-error').count(), 1, 'the error sits in the tracking-number field');
    assert.equal(await page.getAttribute(`${card} input[name=trackingNumber]`, 'aria-invalid'), 'true');
    assert.equal(await page.getAttribute(`${card} select[name=carrierName]`, 'aria-invalid'), 'false');
    assert.equal(await page.inputValue(`${card} input[name=trackingNumber]`), '1Z999AA10123456784', 'input kept');
    await shot(page, '02-clerk-validation-error');
    assert.equal((await handle.query(statusQuery)).step, 'awaiting-shipping');

    // A good FedEx number: recorded, receipt shown, workflow moves to update/tracking.
    await page.fill(`${card} input[name=trackingNumber]`, TRACKING_SPACED);
    await page.click(`${card} button[type=submit]`);
    await page.waitForSelector('#receipt');
    const receipt = await page.locator('#receipt').innerText();
    assert.ok(receipt.includes(TRACKING), 'normalised tracking number');
    assert.match(receipt, /FedEx/);
    assert.match(receipt, /clerk-ann/);
    await shot(page, '04-clerk-shipment-recorded');
    const after = await waitForStep(handle, ['updating', 'tracking']);
    assert.equal(after.shipment?.trackingNumber, TRACKING);
    assert.equal(after.shipment?.submittedBy, 'clerk-ann');
    await waitForStep(handle, ['tracking']);

    // The shipped job has left the clerk's list.
    await page.goto(`${app.url}/shipping`);
    await eventually(async () => {
      await page.reload();
      return (await page.locator(card).count()) === 0;
    }, 20_000, 'job gone from the shipping list');

    // Direct POSTs with the clerk's cookie and a valid CSRF token: refused by the server.
    const csrf = await page.getAttribute('form[action="/logout"] input[name=_csrf]', 'value');
    assert.ok(csrf);
    const cancel = await page.request.post(`${app.url}/jobs/${wf}/cancel`, { form: { _csrf: csrf, reason: 'clerk tries', confirm: 'yes' }, maxRedirects: 0 });
    assert.equal(cancel.status(), 403);
    const start = await page.request.post(`${app.url}/start`, { form: { _csrf: csrf, spec: JSON.stringify(await h.spec()) }, maxRedirects: 0 });
    assert.equal(start.status(), 403);
    const list = await page.request.get(`${app.url}/jobs`, { maxRedirects: 0 });
    assert.equal(list.status(), 403);
    // ...and the forbidden actions did nothing.
    assert.equal((await handle.query(statusQuery)).step, 'tracking');
    assert.equal(await page.locator('nav a[href="/jobs"]').count(), 0, 'no operator links for clerks');
    await context.close();
  });

  test('operator: finds the job by tracking number and drive serial, starts a job from a spec, cancels with confirmation', async () => {
    assert.ok(shipped, 'the clerk test ran first');
    const { context, page } = await newSession('ops-olga', 'olga-runs-jobs');
    assert.match(new URL(page.url()).pathname, /^\/jobs$/);
    const row = `tr[data-workflow-id="${shipped.handle.workflowId}"]`;

    await page.fill('#q', TRACKING_SPACED);
    await page.click('form.search button[type=submit]');
    await page.waitForURL(/q=/);
    await reloadUntil(page, row);
    assert.equal(await page.locator('tbody tr').count(), 1, 'only the matching job');
    const rowText = await page.locator(row).innerText();
    assert.match(rowText, /tracking/);
    assert.ok(rowText.includes(TRACKING));
    await shot(page, '05-operator-search-tracking');

    await page.goto(`${app.url}/jobs?q=${shipped.spec.jobName}`);
    await reloadUntil(page, row);
    assert.equal(await page.locator('tbody tr').count(), 1, 'found by job name');
    const driveId = (shipped.spec.drives as { prepared: { driveId: string }[] }).prepared[1]!.driveId;
    await page.goto(`${app.url}/jobs?q=${encodeURIComponent(driveId)}`);
    await reloadUntil(page, row);

    // Start a job from a pasted spec: first with problems (all listed), then valid.
    await page.click('nav a[href="/start"]');
    const good = await h.spec();
    const bad = { ...good, jobName: 'Bad_Name', subscriptionId: 'nope', unexpected: true };
    await page.fill('#spec', JSON.stringify(bad, null, 2));
    await page.click('form[action="/start"] button[type=submit]');
    const problems = await page.locator('#spec-problems').innerText();
    assert.match(problems, /jobName: job names use lowercase/);
    assert.match(problems, /subscriptionId: a subscription GUID/);
    assert.match(problems, /unexpected/);
    await shot(page, '06-operator-start-problems');
    const { jobName } = good;
    const yamlSpec = (await import('yaml')).stringify(good);
    await page.fill('#spec', yamlSpec);
    await page.click('form[action="/start"] button[type=submit]');
    await page.waitForURL(new RegExp(`/jobs/import-job-${jobName}\\?started=1`));
    const startedHandle = h.env.client.workflow.getHandle(workflowIdForJob(jobName));
    const started = await waitForStep(startedHandle, ['awaiting-shipping']);
    assert.equal(started.timeline[0]?.by, 'ops-olga');

    // The operator's full list with progress, then the job detail.
    await page.goto(`${app.url}/jobs`);
    await reloadUntil(page, `tr[data-workflow-id="${startedHandle.workflowId}"]`);
    await shot(page, '07-operator-all-jobs');

    // Refused cancellation (drives already shipped): the workflow's reason is shown.
    await page.goto(`${app.url}/jobs/${shipped.handle.workflowId}/cancel`);
    await page.fill('#reason', 'customer changed their mind');
    await page.click('button[name=confirm]');
    const refusal = await page.locator('#cancel-error').innerText();
    assert.match(refusal, /Cannot cancel: /);
    await shot(page, '08-operator-cancel-refused');

    // Cancel with confirmation: the job started from the spec.
    await page.goto(`${app.url}/jobs/${startedHandle.workflowId}`);
    await page.click('a.button.danger');
    await page.waitForSelector('#reason');
    await page.fill('#reason', 'wrong storage account');
    await page.click('button[name=confirm]');
    await page.waitForSelector('.notice.ok');
    assert.match(await page.locator('main').innerText(), /Cancellation requested/);
    const outcome = await startedHandle.result();
    assert.equal((outcome as { result: string }).result, 'cancelled');
    await page.goto(`${app.url}/jobs/${startedHandle.workflowId}`);
    const detail = await page.locator('main').innerText();
    assert.match(detail, /cancellation requested/);
    assert.match(detail, /ops-olga/);
    await shot(page, '09-operator-job-detail');
    await context.close();
  });
});
