/**
 * `npm start`: the whole local stack in one command, each component its own supervised process:
 *  - Temporal dev server with a persistent SQLite file (data/temporal/dev.db) and its Web UI,
 *  - the Azure emulator, Data Box and Import/Export (unless AZURE_ENDPOINT points at real Azure),
 *  - the codec server (so the Web UI can decode encrypted payloads for an operator who signs in),
 *  - the shipping console for clerks and operators,
 *  - the worker (orchestrator + this machine's preparation station),
 * then prints where everything is and how to run the sample jobs. A component that crashes is restarted; Ctrl-C
 * stops everything cleanly and keeps the data.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal as proto } from '@temporalio/proto';
import { z } from 'zod';
import { devServerSearchAttributeArgs } from '../common/search-attributes';
import { formatProblems, problemsFromZodError } from '../common/problems';
import { ensureLocalSecurityFiles } from '../security/config';
import { ensureLocalConsoleUsers } from './lib/local-console-users';
import { EMULATOR_SUBSCRIPTION, ensureSampleJobs } from './lib/sample-jobs';
import { Supervisor, type ServiceSpec } from './lib/supervisor';
import { DEV_SERVER_DYNAMIC_CONFIG_ARGS, provisionTemporalCli } from './lib/temporal-binaries';

const root = path.resolve(__dirname, '..');
const Port = z.coerce.number().int().min(1).max(65535);
const StartEnvSchema = z.object({
  DATA_DIR: z.string().default(path.join(root, 'data')),
  TEMPORAL_PORT: Port.default(7233),
  TEMPORAL_UI_PORT: Port.default(8233),
  /** Where the dev server's own UI listens; the Web UI gateway on TEMPORAL_UI_PORT forwards to it. */
  TEMPORAL_UI_INTERNAL_PORT: Port.default(8234),
  /** Set to use real Azure (then AZURE_SUBSCRIPTION_ID and AZURE_CREDENTIAL=default are needed); unset = emulator. */
  AZURE_ENDPOINT: z.url().optional(),
  EMULATOR_HTTP_PORT: Port.default(10880),
  EMULATOR_HTTPS_PORT: Port.default(10843),
  CODEC_SERVER_PORT: Port.default(8888),
  CONSOLE_PORT: Port.default(8080),
  METRICS_BIND: z.string().default('127.0.0.1:9464'),
  TASK_QUEUE: z.string().min(1).default('import-jobs'),
});

/** One host name everywhere: the codec server's sign-in cookie only applies to the host it was set for. */
const HOST = '127.0.0.1';
const log = (line: string): void => console.log(`[start] ${line}`);
const rel = (p: string): string => path.relative(root, p) || p;

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false));
    srv.listen(port, HOST, () => srv.close(() => resolve(true)));
  });
}

/** Resolves once a worker polls the task queue, so the banner never promises a stack that cannot run jobs yet. */
async function waitForWorker(address: string, taskQueue: string, timeoutMs: number): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const res = await connection.workflowService.describeTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue, kind: proto.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        taskQueueType: proto.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
      });
      if ((res.pollers ?? []).length > 0) return;
      if (Date.now() > deadline) throw new Error(`no worker polls task queue ${taskQueue} after ${timeoutMs / 1000} s (see the worker's output above)`);
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await connection.close();
  }
}

async function main(): Promise<void> {
  const parsed = StartEnvSchema.safeParse(process.env);
  if (!parsed.success) throw new Error(`invalid environment:\n  ${formatProblems(problemsFromZodError(parsed.error)).join('\n  ')}`);
  const env = parsed.data;
  const dataDir = path.resolve(env.DATA_DIR);
  // The data folder holds keys, secrets and the Temporal database (search attributes are plaintext there): owner only.
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
  for (const dir of [path.join(dataDir, 'temporal'), path.join(dataDir, 'logs'), path.join(dataDir, 'notifications')]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  for (const port of [env.TEMPORAL_PORT, env.TEMPORAL_UI_PORT, env.TEMPORAL_UI_INTERNAL_PORT, env.CODEC_SERVER_PORT, env.CONSOLE_PORT]) {
    if (!(await portFree(port))) throw new Error(`port ${port} is in use — is another \`npm start\` running? (TEMPORAL_PORT, TEMPORAL_UI_PORT, TEMPORAL_UI_INTERNAL_PORT, CODEC_SERVER_PORT, CONSOLE_PORT choose others)`);
  }

  let stopping = false;
  const supervisor = new Supervisor(log, (reason) => void shutdown(reason, 1));
  const shutdown = async (reason: string, exitCode = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`${reason}: stopping (data kept in ${rel(dataDir)}/) ...`);
    // The worker first (finishes in-flight tasks), the Temporal server last (flushes SQLite).
    await supervisor.stopAll(['temporal']);
    log('stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown('Ctrl-C'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  try {
    await startStack(env, dataDir, supervisor);
  } catch (err) {
    // A failed start never leaves a server or worker running on its own.
    supervisor.killAll();
    throw err;
  }
}

async function startStack(env: z.infer<typeof StartEnvSchema>, dataDir: string, supervisor: Supervisor): Promise<void> {
  const logDir = path.join(dataDir, 'logs');
  // Local security material (payload keys, codec server token), created once with owner-only modes.
  const security = ensureLocalSecurityFiles(dataDir);
  const { usersFile, passwordsFile } = await ensureLocalConsoleUsers(dataDir, log);
  const temporalAddress = `${HOST}:${env.TEMPORAL_PORT}`;
  const codecUrl = `http://${HOST}:${env.CODEC_SERVER_PORT}`;
  const uiUrl = `http://${HOST}:${env.TEMPORAL_UI_PORT}`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: temporalAddress,
    TASK_QUEUE: env.TASK_QUEUE,
    PAYLOAD_KEY_FILE: process.env.PAYLOAD_KEYS ? undefined : security.keyFile.path,
    CODEC_SERVER_TOKEN_FILE: process.env.CODEC_SERVER_TOKEN ? undefined : security.tokenFile.path,
  };
  /** A TypeScript component of this project, run with tsx, its output in data/logs/<log>.log. */
  const component = (name: string, entry: string, env: NodeJS.ProcessEnv, readyPort: number, logName: string): ServiceSpec => ({
    name,
    command: process.execPath,
    args: ['--import', 'tsx', path.join(root, entry)],
    env,
    readyPort,
    output: { logFile: path.join(logDir, `${logName}.log`) },
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 10_000,
  });

  // 1. Temporal dev server. Its UI sends no credentials to a codec endpoint on another origin, so it is served through
  //    a gateway that also serves the codec endpoints and their sign-in on the UI's own origin.
  const dbFile = path.join(dataDir, 'temporal', 'dev.db');
  await supervisor.start({
    name: 'temporal',
    command: provisionTemporalCli(log),
    args: [
      'server', 'start-dev',
      '--db-filename', dbFile,
      '--ip', HOST,
      '--port', String(env.TEMPORAL_PORT),
      '--ui-ip', HOST,
      '--ui-port', String(env.TEMPORAL_UI_INTERNAL_PORT),
      '--namespace', 'default',
      '--ui-codec-endpoint', `${uiUrl}/codec`,
      '--log-level', 'warn',
      ...devServerSearchAttributeArgs(),
      ...DEV_SERVER_DYNAMIC_CONFIG_ARGS,
    ],
    env: process.env,
    readyPort: env.TEMPORAL_PORT,
    output: { logFile: path.join(logDir, 'temporal.log') },
    stopSignal: 'SIGTERM',
    stopTimeoutMs: 20_000,
  });
  log(`Temporal dev server: ${temporalAddress} (SQLite ${rel(dbFile)})`);
  const webUiEnv = { ...childEnv, WEB_UI_HOST: HOST, WEB_UI_PORT: String(env.TEMPORAL_UI_PORT), WEB_UI_UPSTREAM: `http://${HOST}:${env.TEMPORAL_UI_INTERNAL_PORT}` };
  await supervisor.start(component('web UI', 'codec-server/web-ui-main.ts', webUiEnv, env.TEMPORAL_UI_PORT, 'web-ui'));

  // 2. Azure: the emulator unless real Azure is configured.
  const emulatorDir = path.join(dataDir, 'emulator');
  const emulatorUrl = `http://${HOST}:${env.EMULATOR_HTTP_PORT}`;
  if (!env.AZURE_ENDPOINT) {
    const emulatorEnv = { ...process.env, EMULATOR_HOST: HOST, EMULATOR_HTTP_PORT: String(env.EMULATOR_HTTP_PORT), EMULATOR_HTTPS_PORT: String(env.EMULATOR_HTTPS_PORT), EMULATOR_DATA_DIR: emulatorDir };
    await supervisor.start(component('emulator', 'emulator/main.ts', emulatorEnv, env.EMULATOR_HTTP_PORT, 'emulator'));
    const local = { AZURE_ENDPOINT: emulatorUrl, AZURE_ALLOW_INSECURE_HTTP: 'true', AZURE_CREDENTIAL: 'static-token', AZURE_SUBSCRIPTION_ID: process.env.AZURE_SUBSCRIPTION_ID ?? EMULATOR_SUBSCRIPTION };
    Object.assign(childEnv, local);
    // importctl reads this when AZURE_ENDPOINT is unset, so `importctl locations` talks to the same emulator.
    fs.writeFileSync(path.join(dataDir, 'local-azure.json'), `${JSON.stringify(local, null, 2)}\n`, { mode: 0o600 });
  }

  // 3. Codec server for the Web UI (accepts the UI's origin with the sign-in cookie).
  const codecEnv = { ...childEnv, CODEC_SERVER_HOST: HOST, CODEC_SERVER_PORT: String(env.CODEC_SERVER_PORT), CODEC_CORS_ORIGINS: uiUrl };
  await supervisor.start(component('codec server', 'codec-server/main.ts', codecEnv, env.CODEC_SERVER_PORT, 'codec-server'));

  // 4. The shipping console.
  const consoleEnv = { ...childEnv, CONSOLE_HOST: HOST, CONSOLE_PORT: String(env.CONSOLE_PORT), CONSOLE_USERS_FILE: usersFile };
  await supervisor.start(component('console', 'console/main.ts', consoleEnv, env.CONSOLE_PORT, 'console'));

  // 5. The worker (orchestrator + preparation station); its output is the job log, so it stays on the terminal.
  await supervisor.start({
    name: 'worker',
    command: process.execPath,
    args: ['--max-old-space-size=1024', '--import', 'tsx', path.join(root, 'worker', 'main.ts')],
    env: { ...childEnv, METRICS_BIND: env.METRICS_BIND, NOTIFICATION_DIR: path.join(dataDir, 'notifications') },
    output: 'terminal',
    stopSignal: 'SIGINT',
    stopTimeoutMs: 30_000,
  });
  await waitForWorker(temporalAddress, env.TASK_QUEUE, 120_000);

  const samples = ensureSampleJobs(dataDir);
  const sampleLines = samples.map((s) => `    npx importctl start ${rel(s.specFile)}${s.api === 'databox' ? '          # Data Box (default)' : '   # classic Import/Export'}`);
  const metrics = env.METRICS_BIND === 'off' ? 'off' : `http://${env.METRICS_BIND}/metrics   (Temporal runtime + project counters, Prometheus format)`;
  console.log(`
  azure-import-orchestrator is running        (Ctrl-C stops everything; data stays in ${rel(dataDir)}/, logs in ${rel(logDir)}/)

  Temporal gRPC      ${temporalAddress}
  Temporal Web UI    ${uiUrl}   (to see payloads decoded, sign in once at ${uiUrl}/codec/login with the token in ${rel(security.tokenFile.path)})
  Codec server       ${codecUrl}   (CLI: --codec-endpoint ${codecUrl} --codec-auth "Bearer $(cat ${rel(security.tokenFile.path)})")
  Azure              ${env.AZURE_ENDPOINT ?? `emulator ${emulatorUrl} (HTTPS https://${HOST}:${env.EMULATOR_HTTPS_PORT}, CA ${rel(path.join(emulatorDir, 'tls', 'emulator-ca.pem'))})`}
  Shipping console   http://${HOST}:${env.CONSOLE_PORT}   (users operator and clerk: ${rel(passwordsFile)})
  Worker metrics     ${metrics}

  Try a sample job (in another terminal):
${sampleLines.join('\n')}
    npx importctl status <job> --watch
    npx importctl ship <job> --carrier FedEx --tracking 123456789012
`);
}

main().catch((err: unknown) => {
  console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
