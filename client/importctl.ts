/**
 * importctl — the operations team's and shipping clerks' command line for import jobs.
 * Exit codes scripts can rely on: 0 ok, 1 unexpected failure, 2 invalid input, 3 refused by the workflow
 * (validator / not allowed now), 4 job not found, 130 interrupted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { Client, Connection, WorkflowNotFoundError, WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ImportExportClient } from '../activities/azure/client';
import { loadAzureConfig } from '../activities/azure/config';
import { toSiteInfo } from '../activities/import-job-activities';
import { runPrepareCommand } from '../activities/prepare/cli';
import { PrepareProgressSchema } from '../common/prepare-contract';
import { JobNameSchema, workflowIdForJob } from '../common/job-spec';
import { loadSecurityConfig } from '../security/config';
import { dataConverterFor } from '../security/payload-codec';
import { createSecretStore } from '../security/secret-store';
import type { importJobWorkflow } from '../workflows/import-job';
import {
  IMPORT_JOB_WORKFLOW_TYPE,
  cancelUpdate,
  recreateUpdate,
  shipSignal,
  shipUpdate,
  statusQuery,
  type ImportJobStatus,
} from '../workflows/import-job-messages';
import { formatJobList, formatSites, formatStatus } from './format';
import { loadJobSpecFile } from './spec-file';

export const EXIT = { ok: 0, failure: 1, input: 2, refused: 3, notFound: 4, interrupted: 130 } as const;

const ClientEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('127.0.0.1:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TASK_QUEUE: z.string().min(1).default('import-jobs'),
});

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: Record<string, string | undefined>;
  /** Aborted on Ctrl-C: a running `prepare` stops cleanly (its journal makes a re-run resume). */
  signal?: AbortSignal;
}

class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

export async function runImportctl(argv: string[], io: CliIo): Promise<number> {
  const envParsed = ClientEnvSchema.safeParse(io.env);
  if (!envParsed.success) {
    io.stderr(`importctl: invalid environment: ${envParsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`);
    return EXIT.input;
  }
  const env = envParsed.data;
  let connection: Connection | undefined;
  const client = async (): Promise<Client> => {
    const security = loadSecurityConfig(io.env);
    connection ??= await Connection.connect({ address: env.TEMPORAL_ADDRESS, connectTimeout: '5s' }).catch((err: Error) => {
      throw new CliExit(EXIT.failure, `cannot reach Temporal at ${env.TEMPORAL_ADDRESS}: ${err.message}. Is \`npm start\` running?`);
    });
    return new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter: dataConverterFor(security) });
  };
  const handleFor = async (job: string): Promise<WorkflowHandle<typeof importJobWorkflow>> => {
    const name = JobNameSchema.safeParse(job);
    if (!name.success) throw new CliExit(EXIT.input, `job name "${job}": ${name.error.issues[0]?.message}`);
    return (await client()).workflow.getHandle<typeof importJobWorkflow>(workflowIdForJob(job));
  };
  const out = (json: boolean, value: unknown, human: () => string): void => {
    io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
  };

  const program = new Command('importctl')
    .description('Run Azure Import/Export import jobs as durable Temporal workflows')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  program
    .command('start <spec>')
    .description('validate a job spec (JSON or YAML) and start its workflow; prints every problem when invalid')
    .option('--json', 'machine-readable output')
    .option('--by <user>', 'who starts it (recorded in the timeline)', io.env.USER ?? 'operator')
    .option('--dry-run', 'only validate the spec')
    .action(async (specFile: string, opts: { json?: boolean; by: string; dryRun?: boolean }) => {
      const security = loadSecurityConfig(io.env);
      const loaded = await loadJobSpecFile(specFile, createSecretStore(security));
      if (!loaded.ok) {
        if (opts.json) io.stdout(`${JSON.stringify({ ok: false, problems: loaded.problems }, null, 2)}\n`);
        throw new CliExit(EXIT.input, `the job spec has ${loaded.problems.length} problem(s):\n  ${loaded.problems.join('\n  ')}`);
      }
      const workflowId = workflowIdForJob(loaded.spec.jobName);
      if (opts.dryRun) return out(!!opts.json, { ok: true, jobName: loaded.spec.jobName, workflowId }, () => `${specFile}: valid (job ${loaded.spec.jobName})`);
      const c = await client();
      try {
        const handle = await c.workflow.start<typeof importJobWorkflow>(IMPORT_JOB_WORKFLOW_TYPE, {
          args: [{ spec: loaded.spec, startedBy: opts.by }],
          taskQueue: env.TASK_QUEUE,
          workflowId,
        });
        out(!!opts.json, { ok: true, jobName: loaded.spec.jobName, workflowId, runId: handle.firstExecutionRunId }, () =>
          [`started import job ${loaded.spec.jobName} (workflow ${workflowId})`, `  watch it:   importctl status ${loaded.spec.jobName} --watch`].join('\n'),
        );
      } catch (err) {
        if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') {
          throw new CliExit(EXIT.refused, `a workflow for job ${loaded.spec.jobName} already exists (${workflowId}); job names are unique`);
        }
        throw err;
      }
    });

  program
    .command('ship <job>')
    .description('record that the drives were shipped (carrier + tracking number); rejected at once when invalid')
    .requiredOption('--carrier <name>', 'carrier, one the shipping site supports (see `importctl status`)')
    .requiredOption('--tracking <number>', 'tracking number')
    .option('--drives <count>', 'number of drives in the package (default: all of the job\'s drives)')
    .option('--date <yyyy-mm-dd>', 'ship date (default: today)')
    .option('--by <user>', 'who shipped (recorded in the timeline)', io.env.USER ?? 'clerk')
    .option('--signal', 'fire-and-forget: send as a signal instead of a validated update')
    .option('--json', 'machine-readable output')
    .action(async (job: string, opts: { carrier: string; tracking: string; drives?: string; date?: string; by: string; signal?: boolean; json?: boolean }) => {
      const handle = await handleFor(job);
      let driveCount = opts.drives === undefined ? undefined : Number(opts.drives);
      if (driveCount !== undefined && (!Number.isInteger(driveCount) || driveCount < 1)) throw new CliExit(EXIT.input, `--drives: "${opts.drives}" is not a positive whole number`);
      driveCount ??= (await withNotFound(job, () => handle.query(statusQuery))).drives.length;
      const shipment = { carrierName: opts.carrier, trackingNumber: opts.tracking, driveCount, shipDate: opts.date ?? new Date().toISOString().slice(0, 10), submittedBy: opts.by };
      if (opts.signal) {
        await withNotFound(job, () => handle.signal(shipSignal, shipment));
        return out(!!opts.json, { ok: true, sent: 'signal', shipment }, () => `shipping signal sent for ${job}; check \`importctl status ${job}\` for the result`);
      }
      const receipt = await withNotFound(job, () => refusedAsExit(handle.executeUpdate(shipUpdate, { args: [shipment] })));
      out(!!opts.json, { ok: true, receipt }, () =>
        receipt.duplicate
          ? `shipment ${receipt.carrierName} ${receipt.trackingNumber} was already recorded for ${job} (no change)`
          : `recorded shipment for ${job}: ${receipt.carrierName} ${receipt.trackingNumber}, ${receipt.driveCount} drive(s), shipped ${receipt.shipDate}`,
      );
    });

  program
    .command('status <job>')
    .description('show where a job stands: step, Azure state, site, drives, shipment, progress, timeline')
    .option('--watch', 'keep refreshing until the job ends')
    .option('--interval <seconds>', 'refresh interval for --watch', '5')
    .option('--json', 'machine-readable output')
    .action(async (job: string, opts: { watch?: boolean; interval: string; json?: boolean }) => {
      const handle = await handleFor(job);
      for (;;) {
        const status = await withNotFound(job, () => handle.query(statusQuery));
        const prepareProgress = await readPrepareProgress(handle);
        out(!!opts.json, { ...status, prepareProgress }, () => formatStatus(status, prepareProgress));
        if (!opts.watch || isFinal(status)) return;
        await new Promise((r) => setTimeout(r, Math.max(1, Number(opts.interval)) * 1000));
        if (!opts.json) io.stdout('\n');
      }
    });

  program
    .command('list')
    .description('list import jobs, optionally by Azure state, step, tracking number or drive serial')
    .option('--state <azureState>', 'Azure job state, e.g. Creating, Shipping, Transferring, Completed')
    .option('--step <step>', 'workflow step, e.g. awaiting-shipping, tracking')
    .option('--tracking <number>', 'tracking number')
    .option('--drive <serial>', 'drive serial (drive id)')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'machine-readable output')
    .action(async (opts: { state?: string; step?: string; tracking?: string; drive?: string; limit: string; json?: boolean }) => {
      const clauses = [`WorkflowType = '${IMPORT_JOB_WORKFLOW_TYPE}'`];
      const quote = (field: string, v: string): string => {
        if (!/^[A-Za-z0-9 _.-]{1,100}$/.test(v)) throw new CliExit(EXIT.input, `--${field}: "${v}" has characters that cannot appear in it`);
        return `'${v}'`;
      };
      if (opts.state) clauses.push(`ImportJobState = ${quote('state', opts.state)}`);
      if (opts.step) clauses.push(`ImportJobStep = ${quote('step', opts.step)}`);
      if (opts.tracking) clauses.push(`ImportTrackingNumber = ${quote('tracking', opts.tracking.replace(/\s+/g, '').toUpperCase())}`);
      if (opts.drive) clauses.push(`ImportDriveIds = ${quote('drive', opts.drive)}`);
      const c = await client();
      const rows: { jobName: string; workflowId: string; status: string; step?: string; azureState?: string; tracking?: string; startTime: string }[] = [];
      for await (const wf of c.workflow.list({ query: clauses.join(' AND ') })) {
        const sa = wf.searchAttributes as Record<string, unknown[] | undefined>;
        rows.push({
          jobName: String(sa.ImportJobName?.[0] ?? wf.workflowId.replace(/^import-job-/, '')),
          workflowId: wf.workflowId,
          status: wf.status.name,
          step: sa.ImportJobStep?.[0] as string | undefined,
          azureState: sa.ImportJobState?.[0] as string | undefined,
          tracking: sa.ImportTrackingNumber?.[0] as string | undefined,
          startTime: wf.startTime.toISOString(),
        });
        if (rows.length >= Number(opts.limit)) break;
      }
      out(!!opts.json, rows, () => formatJobList(rows));
    });

  program
    .command('cancel <job>')
    .description('cancel a job (Azure accepts it only before the drives ship); says why not otherwise')
    .option('--reason <text>', 'why', 'cancelled by operator')
    .option('--by <user>', 'who cancels', io.env.USER ?? 'operator')
    .option('--json', 'machine-readable output')
    .action(async (job: string, opts: { reason: string; by: string; json?: boolean }) => {
      const handle = await handleFor(job);
      const res = await withNotFound(job, () => refusedAsExit(handle.executeUpdate(cancelUpdate, { args: [{ reason: opts.reason, requestedBy: opts.by }] })));
      out(!!opts.json, { ok: true, ...res }, () => `${job}: ${res.message}`);
    });

  program
    .command('recreate <job>')
    .description('create the Azure job again after it expired (no shipping information within 2 weeks)')
    .option('--by <user>', 'who asks', io.env.USER ?? 'operator')
    .option('--json', 'machine-readable output')
    .action(async (job: string, opts: { by: string; json?: boolean }) => {
      const handle = await handleFor(job);
      const msg = await withNotFound(job, () => refusedAsExit(handle.executeUpdate(recreateUpdate, { args: [{ requestedBy: opts.by }] })));
      out(!!opts.json, { ok: true, message: msg }, () => `${job}: ${msg}`);
    });

  program
    .command('locations [region]')
    .description('Azure Import/Export shipping locations (all, or one region with its open/closed state and alternates)')
    .option('--json', 'machine-readable output')
    .action(async (region: string | undefined, opts: { json?: boolean }) => {
      let azure;
      try {
        azure = new ImportExportClient(loadAzureConfig(localAzureEnv(io.env)));
      } catch (err) {
        throw new CliExit(EXIT.input, (err as Error).message);
      }
      const sites = region ? [toSiteInfo(await azure.getLocation(region))] : (await azure.listLocations()).map(toSiteInfo);
      out(!!opts.json, sites, () => formatSites(sites));
    });

  program
    .command('prepare')
    .description('prepare drives on this machine (copy, hash, write manifests) with a progress bar; `importctl prepare --help`')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const code = await runPrepareCommand(args, {
        stdout: { write: (s: string) => io.stdout(s), isTTY: process.stdout.isTTY },
        stderr: { write: (s: string) => io.stderr(s), isTTY: process.stderr.isTTY },
        secrets: createSecretStore(loadSecurityConfig(io.env)),
        signal: io.signal,
      } as Parameters<typeof runPrepareCommand>[1]);
      if (code !== 0) throw new CliExit(code, '');
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.input;
    if (err instanceof CliExit) {
      if (err.message) io.stderr(`importctl: ${err.message}\n`);
      return err.code;
    }
    io.stderr(`importctl: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  } finally {
    await connection?.close();
  }
}

async function withNotFound<T>(job: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new CliExit(EXIT.notFound, `no import job named ${job}`);
    throw err;
  }
}

async function refusedAsExit<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError && err.cause instanceof ApplicationFailure) {
      throw new CliExit(EXIT.refused, `refused: ${err.cause.message}`);
    }
    throw err;
  }
}

/** Without AZURE_ENDPOINT, use the emulator that `npm start` runs (it records its settings in data/local-azure.json). */
function localAzureEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  if (env.AZURE_ENDPOINT) return env;
  const file = env.LOCAL_AZURE_FILE ?? path.join(__dirname, '..', 'data', 'local-azure.json');
  if (!fs.existsSync(file)) return env;
  const local = z.record(z.string(), z.string()).safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  return local.success ? { ...local.data, ...env } : env;
}

function isFinal(s: ImportJobStatus): boolean {
  return ['completed', 'closed', 'cancelled', 'failed'].includes(s.step);
}

/** The prepare activity's heartbeat details: its live progress (files, bytes, current file). */
async function readPrepareProgress(handle: WorkflowHandle): Promise<z.infer<typeof PrepareProgressSchema> | undefined> {
  try {
    const desc = await handle.describe();
    for (const a of desc.raw.pendingActivities ?? []) {
      if (a.activityType?.name !== 'prepareDrives' || !a.heartbeatDetails?.payloads?.length) continue;
      const values = await decodeArrayFromPayloads(handle.client.options.loadedDataConverter, a.heartbeatDetails.payloads);
      const parsed = PrepareProgressSchema.safeParse(values[0]);
      if (parsed.success) return parsed.data;
    }
  } catch {
    // Progress is best effort; the status query is what matters.
  }
  return undefined;
}

/** Process entry point (bin/importctl.cjs, `npm run importctl`). */
export function main(): void {
  const interrupt = new AbortController();
  const preparing = process.argv[2] === 'prepare';
  process.once('SIGINT', () => {
    interrupt.abort();
    // `prepare` stops at a safe point and exits 130 itself; everything else can stop at once.
    if (!preparing) process.exit(EXIT.interrupted);
  });
  void runImportctl(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    signal: interrupt.signal,
  }).then((code) => {
    process.exitCode = code;
  });
}

if (require.main === module) main();

