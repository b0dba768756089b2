/**
 * importctl — the operations team's and shipping clerks' command line for import jobs.
 * Exit codes scripts can rely on: 0 ok, 1 unexpected failure, 2 invalid input, 3 refused (by the workflow, or
 * because the job is running or has ended), 4 not found, 130 interrupted. With --json every answer, errors
 * included, is one JSON document on stdout: errors are `{ "error": { "code", "message", "problems": [...] } }`.
 */
import { Command, CommanderError, Option } from 'commander';
import type { Connection } from '@temporalio/client';
import { z } from 'zod';
import { workflowIdForJob } from '../common/ids';
import type { AzureApi } from '../common/job-spec';
import type { Problem } from '../common/problems';
import { loadSecurityConfig } from '../security/config';
import { createSecretStore } from '../security/secret-store';
import { formatJobList, formatProblemList, formatSites, formatStatus } from './format';
import { EXIT, ImportJobError, InvalidInputError, JobEndedError, TemporalUnavailableError } from './job-errors';
import { parseJobListFilter, WORKFLOW_STEPS } from './job-filter';
import type { ImportJobService, JobStatusView } from './job-service';
import { loadJobSpecFile } from './spec-file';
import { secretBindingProblems } from './spec-secrets';
import { StatusScreen } from './status-screen';

// The Temporal client, the Azure SDK and the prepare step are imported by the commands that use them, so a refused
// spec, a usage error or `--help` answers without loading them (scripts call importctl in loops).

export { EXIT };

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
  /** A terminal: `status --watch` redraws in place instead of printing frame after frame. */
  tty?: { columns: number };
}

/** An exit code already reported (the prepare command prints its own messages). */
class SilentExit extends Error {
  constructor(readonly code: number) {
    super('');
  }
}

const ENDED_STEPS = new Set(['completed', 'closed', 'cancelled', 'failed']);

export async function runImportctl(argv: string[], io: CliIo): Promise<number> {
  const json = argv.includes('--json');
  const envParsed = ClientEnvSchema.safeParse(io.env);
  if (!envParsed.success) {
    const problems = envParsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
    return reportError(new InvalidInputError('invalid environment', problems), json, io);
  }
  const env = envParsed.data;
  let connection: Connection | undefined;
  const security = () => loadSecurityConfig(io.env);
  const jobs = async (): Promise<ImportJobService> => {
    const config = security();
    const [{ Client, Connection }, { dataConverterFor }, { ImportJobService }] = await Promise.all([
      import('@temporalio/client'),
      import('../security/payload-codec'),
      import('./job-service'),
    ]);
    connection ??= await Connection.connect({ address: env.TEMPORAL_ADDRESS, connectTimeout: '5s' }).catch((err: Error) => {
      throw new TemporalUnavailableError(env.TEMPORAL_ADDRESS, err.message);
    });
    const client = new Client({ connection, namespace: env.TEMPORAL_NAMESPACE, dataConverter: dataConverterFor(config) });
    return new ImportJobService({ client, taskQueue: env.TASK_QUEUE, secrets: createSecretStore(config) });
  };
  const out = (value: unknown, human: () => string): void => {
    io.stdout(json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
  };
  let usageText = '';

  const program = new Command('importctl')
    .description('Run Azure import jobs as durable Temporal workflows')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: (s) => (json ? (usageText += s) : io.stderr(s)) })
    .showSuggestionAfterError(true);
  if (!json) program.showHelpAfterError('(add --help for the options)');
  const jsonOption = () => new Option('--json', 'machine-readable output (errors too)');

  program
    .command('start <spec>')
    .description('validate a job spec (JSON or YAML) and start its workflow; prints every problem when invalid')
    .addOption(jsonOption())
    .option('--by <user>', 'who starts it (recorded in the timeline)', io.env.USER ?? 'operator')
    .option('--dry-run', 'check everything that can be checked and write nothing')
    .option('--rerun', 'start a new run of a job whose earlier run has ended')
    .option('--skip-station-checks', 'the preparation station is another machine: do not check its paths here')
    .action(async (specFile: string, opts: { by: string; dryRun?: boolean; rerun?: boolean; skipStationChecks?: boolean }) => {
      const config = security();
      const kind = config.secretStore.kind;
      const loaded = await loadJobSpecFile(specFile, { store: createSecretStore(config), kind });
      if (!loaded.ok) throw specProblems(loaded.problems);
      const spec = loaded.spec;
      const checked: string[] = ['spec fields', 'CSV files', 'secret references'];
      const skipped: string[] = [];
      const problems: Problem[] = await secretBindingProblems(spec, loaded.secrets);
      if ('prepare' in spec.drives && !opts.skipStationChecks) {
        const { stationProblems } = await import('./station-checks');
        problems.push(...stationProblems(spec));
        checked.push('source folders and drives on this station');
      }
      const { azureProblems, shippingLocations } = await import('./azure-checks');
      const locations = shippingLocations(io.env);
      if ('unavailable' in locations) skipped.push(`Azure region and carrier (${locations.unavailable})`);
      else {
        const azure = await azureProblems(spec, locations);
        problems.push(...azure.problems);
        if (azure.unchecked) skipped.push(`Azure region and carrier (${azure.unchecked})`);
        else checked.push('Azure region and return carrier');
      }
      if (problems.length > 0) throw specProblems(problems);
      const workflowId = workflowIdForJob(spec.jobName);
      if (opts.dryRun) {
        return out({ ok: true, dryRun: true, jobName: spec.jobName, workflowId, checked, skipped }, () =>
          [`${specFile}: valid (job ${spec.jobName}); nothing was written`, `  checked: ${checked.join(', ')}`, ...skipped.map((s) => `  not checked: ${s}`)].join('\n'),
        );
      }
      const service = await jobs();
      const started = await service.start(spec, { startedBy: opts.by, allowRerun: !!opts.rerun, secrets: loaded.secrets, beforeStart: () => loaded.secrets.commit() });
      out({ ok: true, ...started }, () =>
        [
          `started import job ${spec.jobName} (workflow ${workflowId}${started.rerunOf ? `, a rerun after run ${started.rerunOf}` : ''})`,
          `  watch it:   importctl status ${spec.jobName} --watch`,
        ].join('\n'),
      );
    });

  program
    .command('ship <job>')
    .description('record that the drives were shipped (carrier + tracking number); rejected at once when invalid')
    .requiredOption('--carrier <name>', 'carrier, one the shipping site supports (see `importctl status`)')
    .requiredOption('--tracking <number>', 'tracking number')
    .option('--drives <count>', "number of drives in the package (default: all of the job's drives)")
    .option('--date <yyyy-mm-dd>', 'ship date (default: today)')
    .option('--by <user>', 'who shipped (recorded in the timeline)', io.env.USER ?? 'clerk')
    .option('--signal', 'fire-and-forget: send as a signal instead of a validated update')
    .addOption(jsonOption())
    .action(async (job: string, opts: { carrier: string; tracking: string; drives?: string; date?: string; by: string; signal?: boolean }) => {
      let driveCount = opts.drives === undefined ? undefined : Number(opts.drives);
      if (driveCount !== undefined && (!Number.isInteger(driveCount) || driveCount < 1)) {
        throw new InvalidInputError(`--drives: "${opts.drives}" is not a positive whole number`, [{ field: 'driveCount', message: 'a positive whole number' }]);
      }
      const service = await jobs();
      const run = await service.execution(job);
      if (run.executionStatus !== 'RUNNING') throw new JobEndedError(job, run.executionStatus, run.closeTime);
      driveCount ??= (await service.status(job)).status?.drives.length;
      if (driveCount === undefined) throw new InvalidInputError('the job did not answer with its drives (is the worker running?); pass --drives', [{ field: 'driveCount', message: 'unknown' }]);
      const shipment = { carrierName: opts.carrier, trackingNumber: opts.tracking, driveCount, shipDate: opts.date ?? new Date().toISOString().slice(0, 10), submittedBy: opts.by };
      if (opts.signal) {
        await service.shipBySignal(job, shipment);
        return out({ ok: true, sent: 'signal', shipment }, () => `shipping signal sent for ${job}; check \`importctl status ${job}\` for the result`);
      }
      const receipt = await service.ship(job, shipment);
      out({ ok: true, receipt }, () =>
        receipt.duplicate
          ? `shipment ${receipt.carrierName} ${receipt.trackingNumber} was already recorded for ${job} (no change)`
          : `recorded shipment for ${job}: ${receipt.carrierName} ${receipt.trackingNumber}, ${receipt.driveCount} drive(s), shipped ${receipt.shipDate}`,
      );
    });

  program
    .command('status <job>')
    .description('show where a job stands: step, Azure state, site, drives, shipment, progress, runs, timeline')
    .option('--watch', 'keep refreshing until the job ends')
    .option('--interval <seconds>', 'refresh interval for --watch', '5')
    .addOption(jsonOption())
    .action(async (job: string, opts: { watch?: boolean; interval: string }) => {
      const interval = Number(opts.interval);
      if (!Number.isFinite(interval) || interval < 1 || interval > 3600) throw new InvalidInputError(`--interval: "${opts.interval}" is not a number of seconds from 1 to 3600`);
      const service = await jobs();
      const screen = new StatusScreen(io);
      for (;;) {
        const view = await service.status(job);
        const text = json ? JSON.stringify(statusJson(view), null, 2) : formatStatus(view);
        screen.show(text, !!opts.watch && !json);
        if (!opts.watch || view.execution.executionStatus !== 'RUNNING' || (view.status && ENDED_STEPS.has(view.status.step))) return;
        await new Promise((r) => setTimeout(r, interval * 1000));
      }
    });

  program
    .command('list')
    .description('list import jobs (every run), optionally by Azure state, step, tracking number or drive serial')
    .option('--state <azureState>', 'Azure job state, e.g. Creating, Shipping, Transferring, Completed')
    .option('--step <step>', `workflow step: ${WORKFLOW_STEPS.join(', ')}`)
    .option('--tracking <number>', 'tracking number')
    .option('--drive <serial>', 'drive serial (drive id)')
    .option('--limit <n>', 'at most this many', '100')
    .addOption(jsonOption())
    .action(async (opts: { state?: string; step?: string; tracking?: string; drive?: string; limit: string }) => {
      const filter = {
        ...(opts.state !== undefined ? { state: opts.state } : {}),
        ...(opts.step !== undefined ? { step: opts.step } : {}),
        ...(opts.tracking !== undefined ? { trackingNumber: opts.tracking } : {}),
        ...(opts.drive !== undefined ? { driveId: opts.drive } : {}),
        limit: Number(opts.limit),
      };
      parseJobListFilter(filter);
      const rows = await (await jobs()).list(filter);
      out(rows, () => formatJobList(rows));
    });

  program
    .command('cancel <job>')
    .description('cancel a job (Azure accepts it only before the drives ship); says why not otherwise')
    .option('--reason <text>', 'why', 'cancelled by operator')
    .option('--by <user>', 'who cancels', io.env.USER ?? 'operator')
    .addOption(jsonOption())
    .action(async (job: string, opts: { reason: string; by: string }) => {
      const res = await (await jobs()).cancel(job, { reason: opts.reason, requestedBy: opts.by });
      out({ ok: true, ...res }, () => `${job}: ${res.message}`);
    });

  program
    .command('recreate <job>')
    .description('create the Azure job again after it expired (no shipping information within 2 weeks)')
    .option('--by <user>', 'who asks', io.env.USER ?? 'operator')
    .addOption(jsonOption())
    .action(async (job: string, opts: { by: string }) => {
      const message = await (await jobs()).recreate(job, { requestedBy: opts.by });
      out({ ok: true, message }, () => `${job}: ${message}`);
    });

  program
    .command('locations [region]')
    .description('Azure shipping locations (all, or one region with its open/closed state and alternates)')
    .addOption(new Option('--api <api>', 'which Azure API answers for one region').choices(['importexport', 'databox']).default('importexport'))
    .addOption(jsonOption())
    .action(async (region: string | undefined, opts: { api: AzureApi }) => {
      const { shippingLocations } = await import('./azure-checks');
      const locations = shippingLocations(io.env);
      if ('unavailable' in locations) throw new InvalidInputError(`Azure is not configured: ${locations.unavailable}`);
      const sites = region ? [await locations.get({ region, api: opts.api })] : await locations.list();
      out(sites, () => formatSites(sites));
    });

  program
    .command('prepare')
    .description('prepare drives on this machine (copy, hash, write manifests) with a progress bar; `importctl prepare --help`')
    .allowUnknownOption()
    .helpOption(false)
    .argument('[args...]')
    .action(async (args: string[]) => {
      const { runPrepareCommand } = await import('./prepare-command');
      const code = await runPrepareCommand(args, {
        stdout: { write: (s: string) => io.stdout(s), isTTY: io.tty !== undefined },
        stderr: { write: (s: string) => io.stderr(s), isTTY: io.tty !== undefined },
        secrets: createSecretStore(security()),
        ...(io.signal ? { signal: io.signal } : {}),
      });
      if (code !== 0) throw new SilentExit(code);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (err) {
    if (err instanceof SilentExit) return err.code;
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return EXIT.ok;
      if (json) return reportError(new ImportJobError('usage', EXIT.input, (usageText || err.message).replace(/^error: /, '').trim()), json, io);
      return EXIT.input;
    }
    return reportError(err, json, io);
  } finally {
    await connection?.close();
  }
}

function specProblems(problems: Problem[]): InvalidInputError {
  return new InvalidInputError(`the job spec has ${problems.length} problem(s)`, problems);
}

function statusJson(view: JobStatusView): Record<string, unknown> {
  return { ...view.status, jobName: view.jobName, workflowId: view.workflowId, prepareProgress: view.prepareProgress, execution: view.execution, runs: view.runs };
}

function reportError(err: unknown, json: boolean, io: CliIo): number {
  const known = err instanceof ImportJobError ? err : undefined;
  const code = known?.code ?? 'failure';
  const message = known?.message ?? (err instanceof Error ? err.message : String(err));
  const problems = known?.problems ?? [];
  if (json) io.stdout(`${JSON.stringify({ error: { code, message, problems } }, null, 2)}\n`);
  else if (known instanceof InvalidInputError && problems.length > 0) io.stderr(`importctl: ${message}:\n  ${formatProblemList(problems)}\n`);
  else io.stderr(`importctl: ${message}\n`);
  return known?.exitCode ?? EXIT.failure;
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
  runImportctl(process.argv.slice(2), {
    stdout: (s) => process.stdout.write(s),
    stderr: (s) => process.stderr.write(s),
    env: process.env,
    signal: interrupt.signal,
    ...(process.stdout.isTTY ? { tty: { columns: process.stdout.columns || 80 } } : {}),
  }).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`importctl: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.failure;
    },
  );
}

if (require.main === module) main();
