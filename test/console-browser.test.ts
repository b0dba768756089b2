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
import * as os from 'node:os';
import { stringify as toYaml } from 'yaml';
import { workflowIdForJob } from '../common/ids';
import type { JobSpecInput } from '../common/job-spec';
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
    secrets: { store: h.secrets, kind: 'local' },
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

/** A well-formed BitLocker recovery password: 8 groups, each a multiple of 11 below 720 896. */
const recoveryPassword = (): string => Array.from({ length: 8 }, () => String(11 * Math.floor(Math.random() * 65_536)).padStart(6, '0')).join('-');
const CONSOLE_KEYS = [recoveryPassword(), recoveryPassword()];

/** The spec as a person writes it (importctl's language): prepared drives with their BitLocker keys inline. */
function asSpecFile(spec: JobSpecInput): Record<string, unknown> {
  const prepared = (spec.drives as { prepared: Array<Record<string, unknown>> }).prepared;
  return { ...spec, drives: { prepared: prepared.map(({ bitLockerKeyRef: _ref, ...d }, i) => ({ ...d, bitLockerKey: CONSOLE_KEYS[i % CONSOLE_KEYS.length] })) } };
}
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
    const urgent = await startJob({ ...urgentSpec, timing: { ...urgentSpec.timing, shippingWindow: '2 days', reminders: ['1 day'] } });
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
    assert.ok(waiting.site?.address && cardText.includes(waiting.site.address.streetAddress1), 'ship-to street');
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
    assert.equal(await page.locator('#slip-qr svg').count(), 1, 'a QR code of job name and drive serials');
    assert.match(await page.locator('#slip-shipment').innerText(), /Carrier\s+FedEx/, 'the site\'s carriers to choose from before shipping');
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

    // The packing slip now carries the carrier and tracking number.
    await page.goto(`${app.url}/jobs/${wf}/slip`);
    const shippedSlip = await page.locator('#slip-shipment').innerText();
    assert.match(shippedSlip, /Carrier\s+FedEx/);
    assert.ok(shippedSlip.includes(TRACKING), 'tracking number on the slip');
    assert.match(shippedSlip, new RegExp(`Ship date\\s+${today()}`), 'the ship date in the one date format');
    await shot(page, '03b-packing-slip-shipped');

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
    const start = await page.request.post(`${app.url}/start`, { form: { _csrf: csrf, spec: JSON.stringify(asSpecFile(await h.spec())) }, maxRedirects: 0 });
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

    // Start a job from a pasted spec: first with problems (all listed, per field), then valid.
    await page.click('nav a[href="/start"]');
    const good = await h.spec();
    const bad = { ...asSpecFile(good), jobName: 'Bad_Name', subscriptionId: 'nope', unexpected: true };
    await page.fill('#spec', JSON.stringify(bad, null, 2));
    await page.click('#start-button');
    const problems = await page.locator('#spec-problems').innerText();
    assert.match(problems, /jobName: job names use lowercase/);
    assert.match(problems, /subscriptionId: a subscription GUID/);
    assert.match(problems, /unexpected/);
    assert.equal(await page.locator('#spec-problems li[data-field="subscriptionId"]').count(), 1, 'one entry per field problem');
    await shot(page, '06-operator-start-problems');

    // The README's format: datasetCsv / drivesetCsv, uploaded with the form, "Validate only" writes nothing.
    const station = fs.mkdtempSync(path.join(os.tmpdir(), 'console-csv-'));
    fs.mkdirSync(path.join(station, 'photos'));
    fs.writeFileSync(path.join(station, 'photos', 'a.jpg'), 'jpeg bytes');
    for (const d of ['drive1', 'drive2']) fs.mkdirSync(path.join(station, d));
    const datasetCsv = path.join(station, 'dataset.csv');
    const drivesetCsv = path.join(station, 'driveset.csv');
    fs.writeFileSync(datasetCsv, `BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile\n"${station}/photos/",photos/,block,rename,None,None\n`);
    fs.writeFileSync(drivesetCsv, `DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId\n${['drive1', 'drive2'].map((d, i) => `${path.join(station, d)},AlreadyFormatted,SilentMode,AlreadyEncrypted,${CONSOLE_KEYS[i]},CSVDRV${i}${Date.now() % 100000}`).join('\n')}\n`);
    const csvJob = `csv-${good.jobName}`;
    const { drives: _prepared, ...rest } = asSpecFile(good);
    const csvSpec = toYaml({ ...rest, jobName: csvJob, drives: { prepare: { datasetCsv: 'dataset.csv', drivesetCsv: 'driveset.csv', journalDir: path.join(station, 'journal') } } });
    const storedBefore = h.secrets.size;
    await page.goto(`${app.url}/start`);
    await page.fill('#spec', csvSpec);
    await page.setInputFiles('#datasetCsvFile', datasetCsv);
    await page.setInputFiles('#drivesetCsvFile', drivesetCsv);
    await page.click('#validate-button');
    await page.waitForSelector('.notice.ok');
    assert.match(await page.locator('.notice.ok').innerText(), new RegExp(`${csvJob}: valid \\(2 drive\\(s\\) to prepare, region westus\\)\\. Nothing was started or stored\\.`));
    assert.equal(h.secrets.size, storedBefore, 'validate only stored no key');
    await assert.rejects(h.env.client.workflow.getHandle(workflowIdForJob(csvJob)).describe(), /not found/i, 'validate only started nothing');
    assert.equal(await page.inputValue('#spec'), csvSpec, 'the spec stays in the form');
    // The same spec without the uploads names the file that is missing (a relative path is not looked up on the station).
    await page.click('#validate-button');
    assert.match(await page.locator('#spec-problems').innerText(), /drives\.prepare\.datasetCsv: dataset\.csv: upload the file with the form, or give an absolute path/);
    const template = await page.request.get(`${app.url}/start/template.yaml`);
    assert.equal(template.status(), 200);
    assert.match(template.headers()['content-disposition'] ?? '', /attachment/);
    assert.match(await template.text(), /datasetCsv: dataset\.csv/);
    fs.rmSync(station, { recursive: true, force: true });

    const { jobName } = good;
    await page.goto(`${app.url}/start`);
    await page.fill('#spec', toYaml(asSpecFile(good)));
    await page.click('#start-button');
    await page.waitForURL(new RegExp(`/jobs/import-job-${jobName}\\?started=1`)).catch(async (err: unknown) => {
      throw new Error(`not started: ${await page.locator('main').innerText()}`, { cause: err });
    });
    const startedHandle = h.env.client.workflow.getHandle(workflowIdForJob(jobName));
    const started = await waitForStep(startedHandle, ['awaiting-shipping']);
    assert.equal(started.timeline[0]?.by, 'ops-olga');

    // The job page: the step diagram with the deadline bar on "await shipping".
    await page.goto(`${app.url}/jobs/${startedHandle.workflowId}`);
    const stepStates = await page.locator('#step-diagram li').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-step')}:${e.getAttribute('data-state')}`));
    assert.deepEqual(stepStates, ['prepare:done', 'locate:done', 'create:done', 'await-shipping:current', 'update:pending', 'track:pending']);
    assert.equal(await page.locator('#step-diagram li[data-step="await-shipping"] meter').count(), 1, 'shipping deadline bar');
    assert.match(await page.locator('#step-diagram').innerText(), /1[34] days left/);
    await shot(page, '10-operator-step-diagram');

    // The operator's full list with progress, then the job detail.
    await page.goto(`${app.url}/jobs`);
    await reloadUntil(page, `tr[data-workflow-id="${startedHandle.workflowId}"]`);
    const progress = await page.locator(`tr[data-workflow-id="${startedHandle.workflowId}"] td.progress-cell`).innerText();
    assert.match(progress, /4\/6 await shipping · 1[34] days left/, 'real progress, not a dash');
    await shot(page, '07-operator-all-jobs');
    const cancelLink = page.locator(`tr[data-workflow-id="${startedHandle.workflowId}"] a.danger-link`);
    const box = await cancelLink.boundingBox();
    const card = await page.locator('section.table-card').boundingBox();
    assert.ok(box && card && box.x + box.width <= card.x + card.width, 'the Cancel link is not clipped');
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
    assert.equal(await page.locator('h1 .step').innerText(), 'cancelled', 'a cancelled job reads cancelled');
    assert.doesNotMatch(await page.locator('.page-head').innerText(), /completed/);
    assert.equal(await page.locator('#step-diagram li[data-state="cancelled"]').count(), 1);
    await shot(page, '09-operator-job-detail');

    // A job that fails (Azure refuses the create): a failure panel, no empty cards or useless buttons.
    await h.control('faults', { operation: 'Jobs_Create', kind: 'status', status: 400, count: 1 });
    const failing = await startJob(await h.spec());
    await waitForStep(failing, ['failed']);
    await page.goto(`${app.url}/jobs/${failing.workflowId}`);
    const panel = page.locator('#failure-panel');
    await panel.waitFor();
    const failureText = await panel.locator('.failure-text').innerText();
    assert.match(failureText, /\S/, 'the failure says what happened');
    assert.equal(await panel.locator('.failure-text').evaluate((e) => (globalThis as unknown as { getComputedStyle(el: unknown): { whiteSpace: string } }).getComputedStyle(e).whiteSpace), 'pre-line', 'line breaks kept');
    const failedPage = await page.locator('main').innerText();
    assert.doesNotMatch(failedPage, /Not chosen yet/);
    assert.equal(await page.locator('a[href$="/slip"]').count(), 0, 'no packing-slip button for a failed job');
    assert.equal(await page.locator('#drives tbody tr').count() > 0 || (await page.locator('#drives').count()) === 0, true, 'no empty drives table');
    assert.equal(await page.locator('#step-diagram li[data-state="failed"]').getAttribute('data-step'), 'create');
    await shot(page, '11-operator-failure-panel');

    const favicon = await page.request.get(`${app.url}/favicon.ico`);
    assert.equal(favicon.status(), 200);
    assert.match(favicon.headers()['content-type'] ?? '', /icon/);
    await context.close();
  });
  test('a Data Box job (the default API): the clerk ships to the datacenter address, the operator follows it to Completed per disk', async () => {
    const base = await h.spec();
    const spec: JobSpecInput = { ...base, jobName: `db-${base.jobName.slice(-8)}`, azure: { api: 'databox' } };
    const handle = await startJob(spec);
    const waiting = await waitForStep(handle, ['awaiting-shipping']);
    const wf = handle.workflowId;

    const clerk = await newSession('clerk-ann', 'ann-ships-drives');
    const card = `article[data-job="${spec.jobName}"]`;
    await reloadUntil(clerk.page, card);
    const cardText = await clerk.page.locator(card).innerText();
    assert.match(cardText, /Santa Clara/, 'ship to the datacenter address Data Box gives for the region');
    // Several carriers: the clerk must choose one (a placeholder first, no silent default).
    assert.deepEqual(await clerk.page.locator(`${card} select[name=carrierName] option:not([value=""])`).allInnerTexts(), waiting.site?.supportedCarriers);
    await clerk.page.selectOption(`${card} select[name=carrierName]`, 'UPS');
    await clerk.page.fill(`${card} input[name=trackingNumber]`, '1Z999AA10123456784');
    await clerk.page.click(`${card} button[type=submit]`);
    await clerk.page.waitForSelector('#receipt');
    await clerk.context.close();
    await waitForStep(handle, ['tracking']);

    // The datacenter receives and copies the disks.
    await h.emulatorControl.dataBoxAdvance(spec.subscriptionId, spec.resourceGroup, spec.jobName, { to: 'Completed' });
    const done = await waitForStep(handle, ['completed']);
    assert.equal(done.azureState, 'Completed');

    const operator = await newSession('ops-olga', 'olga-runs-jobs');
    await operator.page.goto(`${app.url}/jobs/${wf}`);
    for (const d of done.drives) {
      const row = await operator.page.locator(`#drives tr[data-drive="${d.driveId}"]`).innerText();
      assert.match(row, /Completed/, `disk ${d.driveId} copied`);
    }
    assert.equal(await operator.page.locator('#step-diagram li[data-step="track"]').getAttribute('data-state'), 'done');
    await shot(operator.page, '12-operator-databox-completed');
    await operator.context.close();
  });
});
