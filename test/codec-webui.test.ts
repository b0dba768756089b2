/**
 * The Temporal Web UI decodes payloads the way the README says, first time, in Chromium: the dev server is started
 * exactly as `npm start` starts it (its UI on a loopback port of its own, `--ui-codec-endpoint <gateway>/codec`),
 * the Web UI gateway serves the UI and the codec endpoints under one origin, a person signs in at
 * `<gateway>/codec/login` with the codec token and, keeping the UI's default "Codec Server" setting, sees the
 * workflow's input decoded. Without signing in, the same page shows only ciphertext.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { Client, Connection } from '@temporalio/client';
import { startWebUiGateway, type RunningWebUiGateway } from '../codec-server/web-ui-gateway';
import { freePort } from '../scripts/cluster/cluster';
import { findTemporalCli } from '../scripts/lib/temporal-binaries';
import { EncryptionCodec, createDataConverter } from '../security/payload-codec';
import { eventually } from './helpers/import-job-harness';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '..', 'test-output', 'screenshots');
const HOST = '127.0.0.1';
const TOKEN = randomBytes(32).toString('base64url');
const KEYS = { currentKeyId: 'webui1', keys: { webui1: randomBytes(32) } };
const MARKER = `decoded-marker-${randomUUID().slice(0, 8)}`;

let devServer: ChildProcess;
let gateway: RunningWebUiGateway;
let browser: Browser;
let connection: Connection;
let workflowId: string;

function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const sock = net.connect({ host: HOST, port }, () => {
        sock.end();
        resolve();
      });
      sock.on('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${HOST}:${port}`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-browser.sh`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const cli = findTemporalCli();
  if (!cli) throw new Error('The Temporal CLI is not provisioned: run `npm run provision`.');
  const [grpcPort, uiPort, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  gateway = await startWebUiGateway({ codec: new EncryptionCodec(KEYS), token: TOKEN, host: HOST, port: gatewayPort, uiUpstream: `http://${HOST}:${uiPort}` });
  // The flags npm start passes (ports aside): the UI on its own loopback port, the gateway's codec endpoint preset.
  devServer = spawn(cli, ['server', 'start-dev', '--ip', HOST, '--port', String(grpcPort), '--ui-ip', HOST, '--ui-port', String(uiPort), '--ui-codec-endpoint', gateway.codecEndpoint, '--log-level', 'error'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitForPort(grpcPort, 60_000);
  await waitForPort(uiPort, 60_000);
  connection = await Connection.connect({ address: `${HOST}:${grpcPort}` });
  const client = new Client({ connection, dataConverter: createDataConverter({ payloadKeys: KEYS }) });
  // No worker: the started event's input is all the page needs, and it is stored encrypted.
  workflowId = `webui-decode-${randomUUID().slice(0, 8)}`;
  await client.workflow.start('importJobWorkflow', { taskQueue: `webui-${randomUUID()}`, workflowId, args: [{ note: MARKER, startedBy: 'webui-test' }] });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
});

after(async () => {
  await browser?.close();
  await connection?.close();
  await gateway?.close();
  if (devServer && devServer.exitCode === null) {
    const exited = new Promise((r) => devServer.once('exit', r));
    devServer.kill('SIGTERM');
    await exited;
  }
});

describe('Temporal Web UI decoding through the gateway', () => {
  test('without signing in the UI shows ciphertext; after signing in at /codec/login the default setting decodes', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.setDefaultTimeout(30_000);
    const decodeStatuses: number[] = [];
    const allAre = (status: number): boolean => decodeStatuses.every((s) => s === status);
    page.on('response', (r) => {
      if (r.url().endsWith('/codec/decode')) decodeStatuses.push(r.status());
    });
    const workflowPage = `${gateway.url}/namespaces/default/workflows/${workflowId}`;

    await page.goto(workflowPage);
    await eventually(async () => decodeStatuses.length > 0 || undefined, 30_000, 'the UI asks the codec endpoint');
    assert.ok(allAre(401), `not signed in: ${decodeStatuses.join(',')}`);
    assert.equal(await page.getByText(MARKER).count(), 0, 'no plaintext before signing in');

    await page.goto(`${gateway.url}/codec/login`);
    await page.fill('input[name=token]', TOKEN);
    await page.click('button[type=submit]');
    await page.waitForSelector('text=Signed in');

    decodeStatuses.splice(0);
    await page.goto(workflowPage);
    await page.getByText(MARKER).first().waitFor({ timeout: 30_000 });
    assert.ok(decodeStatuses.length > 0 && allAre(200), `signed in: ${decodeStatuses.join(',')}`);
    await page.screenshot({ path: path.join(SHOTS, '20-web-ui-decoded.png'), fullPage: true });
    console.log(`Web UI ${gateway.url} decoded the input of ${workflowId} through ${gateway.codecEndpoint} (${decodeStatuses.length} decode calls, all 200)`);
    await page.close();
  });
});
