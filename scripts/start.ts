/**
 * `npm start`: the whole local stack in one command.
 *  - Temporal dev server with a persistent SQLite file (data/temporal/dev.db) and its Web UI,
 *  - the Azure Import/Export emulator (unless AZURE_ENDPOINT points at real Azure),
 *  - the codec server (so the Web UI can decode encrypted payloads for an operator who signs in),
 *  - the shipping console for clerks and operators,
 *  - the worker (orchestrator + this machine's preparation station),
 * then prints where everything is and how to run the sample job. Ctrl-C stops it all cleanly; data is kept.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { z } from 'zod';
import { devServerSearchAttributeArgs } from '../common/search-attributes';
import { startEmulator, type RunningEmulator } from '../emulator/server';
import { ensureLocalTokenFile, loadSecurityConfig } from '../security/config';
import { EncryptionCodec } from '../security/payload-codec';
import { startCodecServer } from '../codec-server/server';
import { startLocalConsole } from '../console/start-local';
import { provisionTemporalCli } from './lib/temporal-binaries';

const root = path.resolve(__dirname, '..');
const StartEnvSchema = z.object({
  DATA_DIR: z.string().default(path.join(root, 'data')),
  TEMPORAL_PORT: z.coerce.number().int().min(1).max(65535).default(7233),
  TEMPORAL_UI_PORT: z.coerce.number().int().min(1).max(65535).default(8233),
  /** Set to use real Azure (then AZURE_SUBSCRIPTION_ID and AZURE_CREDENTIAL=default are needed); unset = emulator. */
  AZURE_ENDPOINT: z.string().url().optional(),
  EMULATOR_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(10880),
  EMULATOR_HTTPS_PORT: z.coerce.number().int().min(0).max(65535).default(10843),
  CODEC_SERVER_PORT: z.coerce.number().int().min(1).max(65535).default(8888),
  CONSOLE_PORT: z.coerce.number().int().min(1).max(65535).default(8080),
});

const log = (line: string): void => console.log(`[start] ${line}`);
/** Child processes, so that a failed start never leaves a server or worker running on its own. */
const children: { name: string; proc: ChildProcess; signal: NodeJS.Signals; timeoutMs: number }[] = [];
const EMULATOR_SUBSCRIPTION = '00000000-0000-0000-0000-000000000000';

function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      if (child && child.exitCode !== null) return reject(new Error(`process exited with code ${child.exitCode} before listening on ${port}`));
      const sock = net.connect({ host: '127.0.0.1', port }, () => {
        sock.end();
        resolve();
      });
      sock.on('error', () => {
        sock.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`));
        else setTimeout(attempt, 200);
      });
    };
    attempt();
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

function stopChild(child: ChildProcess, name: string, signal: NodeJS.Signals, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      log(`${name} did not stop in ${timeoutMs / 1000} s; killing it`);
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** A sample job (driveset with fresh random BitLocker-style keys, so none is ever committed). */
function writeSample(dataDir: string): string {
  const dir = path.join(dataDir, 'sample');
  const specFile = path.join(dir, 'sample-job.yaml');
  if (fs.existsSync(specFile)) return specFile;
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const drives = [path.join(dataDir, 'sample-drives', 'drive1'), path.join(dataDir, 'sample-drives', 'drive2')];
  for (const d of drives) fs.mkdirSync(d, { recursive: true });
  const key = (): string => Array.from({ length: 8 }, () => String(crypto.randomInt(0, 1_000_000)).padStart(6, '0')).join('-');
  const sampleData = path.join(root, 'samples', 'data');
  fs.writeFileSync(
    path.join(dir, 'dataset.csv'),
    ['BasePath,DstBlobPathOrPrefix,BlobType,Disposition,MetadataFile,PropertiesFile', `"${sampleData}/photos/",photos/,block,rename,None,None`, `"${sampleData}/logs/",logs/2026/,block,overwrite,None,None`].join('\n') + '\n',
  );
  fs.writeFileSync(
    path.join(dir, 'driveset.csv'),
    ['DriveLetter,FormatOption,SilentOrPromptOnFormat,Encryption,ExistingBitLockerKey,DriveId', ...drives.map((d, i) => `${d},AlreadyFormatted,SilentMode,AlreadyEncrypted,${key()},SAMPLE${i + 1}WD${crypto.randomInt(1000, 9999)}`)].join('\n') + '\n',
    { mode: 0o600 },
  );
  fs.writeFileSync(
    specFile,
    `# A sample import job. Start it with: npx importctl start ${path.relative(root, specFile)}
jobName: sample-import-${crypto.randomInt(1000, 9999)}
subscriptionId: "${EMULATOR_SUBSCRIPTION}"
resourceGroup: rg-imports
storageAccountId: /subscriptions/${EMULATOR_SUBSCRIPTION}/resourceGroups/rg-imports/providers/Microsoft.Storage/storageAccounts/importsample
region: westus
returnAddress:
  recipientName: Sample Operator
  streetAddress1: 1 Sample Street
  city: Seattle
  stateOrProvince: WA
  postalCode: "98101"
  countryOrRegion: USA
  phone: "+1 206 555 0100"
  email: operator@example.com
returnShipping: { carrierName: FedEx, carrierAccountNumber: "123456789" }
drives:
  prepare:
    datasetCsv: dataset.csv
    drivesetCsv: driveset.csv
    journalDir: ${path.join(dataDir, 'journal')}
notification: { kind: file, path: ${path.join(dataDir, 'notifications.jsonl')} }
# Short polls so the walkthrough finishes in seconds (defaults: 1 hour doubling to 1 day).
timing: { trackingPollInitial: 5 seconds, trackingPollMax: 30 seconds }
`,
  );
  return specFile;
}

async function main(): Promise<void> {
  const env = StartEnvSchema.parse(process.env);
  const dataDir = path.resolve(env.DATA_DIR);
  fs.mkdirSync(path.join(dataDir, 'temporal'), { recursive: true });
  const closers: { name: string; close: () => Promise<void> }[] = [];
  let stopping = false;

  const shutdown = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${reason}: stopping (data kept in ${path.relative(root, dataDir) || dataDir}) ...`);
    // Reverse order: the worker first (finishes in-flight tasks), the Temporal server last (flushes SQLite).
    for (const c of [...children].reverse().filter((c) => c.name !== 'temporal')) await stopChild(c.proc, c.name, c.signal, c.timeoutMs);
    for (const c of [...closers].reverse()) await c.close().catch((err: Error) => log(`${c.name}: ${err.message}`));
    const temporal = children.find((c) => c.name === 'temporal');
    if (temporal) await stopChild(temporal.proc, 'temporal', 'SIGTERM', 20_000);
    log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('Ctrl-C'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  // Security material for local runs: payload keys and the codec server token (generated once, mode 0600, in data/).
  const security = loadSecurityConfig(process.env, { baseDir: root });
  const tokenFile = ensureLocalTokenFile(path.join(dataDir, 'keys', 'codec-server-token'));
  const codecToken = security.codecServer.token ?? fs.readFileSync(tokenFile.path, 'utf8').trim();

  // 1. Temporal dev server.
  for (const port of [env.TEMPORAL_PORT, env.TEMPORAL_UI_PORT]) {
    if (!(await portFree(port))) throw new Error(`port ${port} is in use — is another \`npm start\` running? (set TEMPORAL_PORT / TEMPORAL_UI_PORT to use others)`);
  }
  const cli = provisionTemporalCli(log);
  const codecUrl = `http://127.0.0.1:${env.CODEC_SERVER_PORT}`;
  const dbFile = path.join(dataDir, 'temporal', 'dev.db');
  const temporal = spawn(
    cli,
    [
      'server', 'start-dev',
      '--db-filename', dbFile,
      '--ip', '127.0.0.1',
      '--port', String(env.TEMPORAL_PORT),
      '--ui-port', String(env.TEMPORAL_UI_PORT),
      '--namespace', 'default',
      '--ui-codec-endpoint', codecUrl,
      '--log-level', 'warn',
      ...devServerSearchAttributeArgs(),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  children.push({ name: 'temporal', proc: temporal, signal: 'SIGTERM', timeoutMs: 20_000 });
  temporal.on('exit', (code) => {
    if (!stopping) void shutdown(`the Temporal server exited (code ${code})`);
  });
  await waitForPort(env.TEMPORAL_PORT, 60_000, temporal);
  log(`Temporal dev server: 127.0.0.1:${env.TEMPORAL_PORT} (SQLite ${path.relative(root, dbFile)})`);

  // 2. Azure: the emulator unless real Azure is configured.
  let emulator: RunningEmulator | undefined;
  const workerEnv: Record<string, string> = { ...(process.env as Record<string, string>), TEMPORAL_ADDRESS: `127.0.0.1:${env.TEMPORAL_PORT}` };
  if (!env.AZURE_ENDPOINT) {
    emulator = await startEmulator({ httpPort: env.EMULATOR_HTTP_PORT, httpsPort: env.EMULATOR_HTTPS_PORT, dataDir: path.join(dataDir, 'emulator') });
    closers.push({ name: 'emulator', close: () => emulator!.close() });
    Object.assign(workerEnv, {
      AZURE_ENDPOINT: emulator.httpUrl,
      AZURE_ALLOW_INSECURE_HTTP: 'true',
      AZURE_CREDENTIAL: 'static-token',
      AZURE_SUBSCRIPTION_ID: process.env.AZURE_SUBSCRIPTION_ID ?? EMULATOR_SUBSCRIPTION,
    });
    // importctl reads this when AZURE_ENDPOINT is unset, so `importctl locations` talks to the same emulator.
    fs.writeFileSync(
      path.join(dataDir, 'local-azure.json'),
      JSON.stringify({ AZURE_ENDPOINT: emulator.httpUrl, AZURE_ALLOW_INSECURE_HTTP: 'true', AZURE_CREDENTIAL: 'static-token', AZURE_SUBSCRIPTION_ID: workerEnv.AZURE_SUBSCRIPTION_ID }, null, 2),
    );
  }

  // 3. Codec server for the Web UI.
  const codec = await startCodecServer({
    codec: new EncryptionCodec(security.payloadKeys),
    token: codecToken,
    port: env.CODEC_SERVER_PORT,
    corsOrigins: [`http://localhost:${env.TEMPORAL_UI_PORT}`, `http://127.0.0.1:${env.TEMPORAL_UI_PORT}`],
    onError: (m) => log(`codec server: ${m}`),
  });
  closers.push({ name: 'codec server', close: () => codec.close() });

  // 4. The shipping console.
  let consoleUrl: string | undefined;
  {
    const running = await startLocalConsole({ temporalAddress: `127.0.0.1:${env.TEMPORAL_PORT}`, dataDir, port: env.CONSOLE_PORT, log });
    closers.push({ name: 'console', close: () => running.close() });
    consoleUrl = running.url;
  }

  // 5. The worker (orchestrator + preparation station), as its own process.
  const worker = spawn(process.execPath, ['--max-old-space-size=1024', '--import', 'tsx', path.join(root, 'worker', 'main.ts')], { env: workerEnv, stdio: ['ignore', 'inherit', 'inherit'] });
  children.push({ name: 'worker', proc: worker, signal: 'SIGINT', timeoutMs: 30_000 });
  worker.on('exit', (code) => {
    if (!stopping) void shutdown(`the worker exited (code ${code})`);
  });

  const sample = writeSample(dataDir);
  const rel = (p: string): string => path.relative(root, p);
  console.log(`
  azure-import-orchestrator is running        (Ctrl-C stops everything; data stays in ${rel(dataDir)}/)

  Temporal gRPC      127.0.0.1:${env.TEMPORAL_PORT}
  Temporal Web UI    http://127.0.0.1:${env.TEMPORAL_UI_PORT}
  Codec server       ${codec.url}   (sign in at ${codec.url}/login with the token in ${rel(tokenFile.path)})
  Console users      ${path.join(rel(dataDir), 'console-initial-passwords.txt')} (operator, clerk)
  Azure              ${emulator ? `emulator ${emulator.httpUrl} (HTTPS ${emulator.httpsUrl}, CA ${rel(emulator.caCertPath ?? '')})` : env.AZURE_ENDPOINT}${consoleUrl ? `\n  Shipping console   ${consoleUrl}` : ''}

  Try the sample job (in another terminal):
    npx importctl start ${rel(sample)}
    npx importctl status <job> --watch
    npx importctl ship <job> --carrier FedEx --tracking 123456789012
    curl -X POST ${emulator?.httpUrl ?? '<emulator>'}/_emulator/jobs/${EMULATOR_SUBSCRIPTION}/rg-imports/<job>/advance -H 'content-type: application/json' -d '{"to":"Completed"}'
`);
}

main().catch((err) => {
  console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
  for (const c of children) c.proc.kill('SIGTERM');
  process.exit(1);
});
