/**
 * Worker metrics in Prometheus format: the project's own counters (prom-client, prefix `aio_`) plus the Temporal SDK
 * core runtime's metrics (prefix `temporal_`), merged on one endpoint so a single scrape target carries both.
 *
 *   Runtime.install({ logger, telemetryOptions: runtimeTelemetryOptions(metricsConfig) })   // before any connection
 *   const server = await startMetricsServer(metricsConfig)                                   // GET /metrics, /healthz
 *   activities: instrumentActivities(buildImportJobActivities(...))                          // counts from activities
 *
 * Activities are instrumented from the outside, so the activity code itself needs no metrics calls; the record*
 * functions are exported for any other caller (CLI, console, tests). Workflow code must not call them (sandbox,
 * replay): everything a workflow does that is worth counting passes through an activity.
 */
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import Fastify from 'fastify';
import type { RuntimeOptions } from '@temporalio/worker';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { splitHostPort, type MetricsConfig } from './config';

export { loadMetricsConfig, type MetricsConfig, MetricsConfigError } from './config';

export const METRIC_PREFIX = 'aio_';

/** The registry holding the project's metrics (not prom-client's global one, so nothing else leaks in). */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

/** Metrics live in the project's registry, under the project's prefix. */
function counter<L extends string = never>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
  return new Counter({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [registry] });
}
function gauge(name: string, help: string): Gauge {
  return new Gauge({ name: `${METRIC_PREFIX}${name}`, help, registers: [registry] });
}

const jobStateTransitions = counter('import_job_state_transitions_total', 'Azure import jobs seen entering an Azure job state (Creating, Shipping, Received, Transferring, Packaging, Completed, Closed), per worker process', ['state']);
const remindersSent = counter('reminders_sent_total', 'Shipping reminders and escalations sent', ['kind']);
const notificationsSent = counter('notifications_sent_total', 'Notifications sent, by kind', ['kind']);
const azureErrors = counter('azure_errors_total', 'Failed Azure Import/Export calls, by error class (AzureThrottledError, AzureServerError, AzureValidationError, ...)', ['type']);
const activityFailures = counter('activity_failures_total', 'Activity attempts that threw, by activity and failure type', ['activity', 'type']);
const prepareBytes = counter('prepare_bytes_total', 'Bytes written to import drives by drive preparation (rate() gives bytes/s)');
const prepareThroughput = gauge('prepare_bytes_per_second', 'Throughput of the last finished drive preparation on this station');
const temporalRuntimeUp = gauge('temporal_runtime_metrics_up', '1 when the Temporal SDK runtime metrics endpoint answered the last scrape');

/** Last Azure state seen per job (bounded), so repeated polls of the same state count once. */
const lastState = new Map<string, string>();
const MAX_TRACKED_JOBS = 20_000;

/**
 * Counts a job entering `state`. With `jobKey`, repeated reports of the same state for the same job count once (per
 * process: a job polled by two workers may count twice; use increase() over a window, not exact totals).
 */
export function recordJobState(state: string, jobKey?: string): void {
  if (jobKey !== undefined) {
    if (lastState.get(jobKey) === state) return;
    lastState.delete(jobKey);
    lastState.set(jobKey, state);
    if (lastState.size > MAX_TRACKED_JOBS) {
      const oldest = lastState.keys().next();
      if (!oldest.done) lastState.delete(oldest.value);
    }
  }
  jobStateTransitions.inc({ state });
}

/** Counts a reminder (`reminder` or `escalation`). */
export function recordReminder(kind: string): void {
  remindersSent.inc({ kind });
}

export function recordNotification(kind: string): void {
  notificationsSent.inc({ kind });
  if (kind === 'reminder' || kind === 'escalation') recordReminder(kind);
}

/** Counts an Azure failure by its class name (AzureErrorType). */
export function recordAzureError(type: string): void {
  azureErrors.inc({ type });
}

/** Adds prepared bytes; with the elapsed seconds also sets the last-throughput gauge. */
export function recordPrepareBytes(bytes: number, seconds?: number): void {
  if (!(bytes >= 0)) return;
  prepareBytes.inc(bytes);
  if (seconds !== undefined && seconds > 0) prepareThroughput.set(bytes / seconds);
}

function failureType(err: unknown): string {
  if (err instanceof ApplicationFailure && err.type) return err.type;
  if (err instanceof Error) return err.name;
  return 'unknown';
}

function isAzureType(type: string): boolean {
  return type.startsWith('Azure') || type === 'JobSpecConflict';
}

function jobKeyOf(arg: unknown): string | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const a = arg as { subscriptionId?: unknown; resourceGroup?: unknown; jobName?: unknown };
  return typeof a.jobName === 'string' ? `${String(a.subscriptionId)}/${String(a.resourceGroup)}/${a.jobName}` : undefined;
}

function stateOf(result: unknown): string | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const r = result as { state?: unknown; snapshot?: { state?: unknown } };
  if (typeof r.state === 'string') return r.state;
  if (typeof r.snapshot === 'object' && r.snapshot !== null && typeof r.snapshot.state === 'string') return r.snapshot.state;
  return undefined;
}

/**
 * Wraps an activities object (import-job REST activities and/or prepare activities) so that every call is counted:
 * failures by type (Azure classes also in `aio_azure_errors_total`), Azure job states returned by the REST activities,
 * notifications/reminders sent, bytes prepared. Same keys and types as the input; results and errors pass unchanged.
 */
export function instrumentActivities<T extends object>(activities: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    if (typeof fn !== 'function') {
      out[name] = fn;
      continue;
    }
    const call = fn as (...args: unknown[]) => Promise<unknown>;
    out[name] = async function instrumented(this: unknown, ...args: unknown[]): Promise<unknown> {
      const started = performance.now();
      let result: unknown;
      try {
        result = await call.apply(this, args);
      } catch (err) {
        const type = failureType(err);
        activityFailures.inc({ activity: name, type });
        if (isAzureType(type)) recordAzureError(type);
        throw err;
      }
      try {
        const state = stateOf(result);
        if (state !== undefined) recordJobState(state, jobKeyOf(args[0]));
        if (name === 'sendNotification') {
          const kind = (args[0] as { kind?: unknown } | undefined)?.kind;
          if (typeof kind === 'string') recordNotification(kind);
        }
        if (name === 'prepareDrives') {
          const drives = (result as { drives?: { byteCount?: unknown }[] } | undefined)?.drives ?? [];
          const bytes = drives.reduce((s, d) => s + (typeof d.byteCount === 'number' ? d.byteCount : 0), 0);
          recordPrepareBytes(bytes, (performance.now() - started) / 1000);
        }
      } catch {
        // Metrics must never fail an activity.
      }
      return result;
    };
  }
  return out as T;
}

/** Telemetry options for Runtime.install: Temporal core's Prometheus exporter on `config.temporalBind` (loopback). */
export function runtimeTelemetryOptions(config: MetricsConfig): RuntimeOptions['telemetryOptions'] {
  if (config.temporalBind === undefined) return undefined;
  return { metrics: { prometheus: { bindAddress: config.temporalBind } } };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

async function temporalRuntimeMetrics(bind: string | undefined): Promise<string> {
  if (bind === undefined) return '';
  const { host, port } = splitHostPort(bind);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  try {
    const res = await fetch(`http://${h}:${port}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const text = await res.text();
    temporalRuntimeUp.set(1);
    return text;
  } catch {
    // The core exporter starts with the first NativeConnection/Worker; until then (or if it died) report it down.
    temporalRuntimeUp.set(0);
    return '';
  }
}

/**
 * Serves `GET /metrics` (project metrics + the Temporal runtime's, merged) and `GET /healthz` on `config.bind`, on
 * fastify (its router answers unknown paths 404 and other methods 405). Loopback by default; bind 0.0.0.0 only where
 * a network policy keeps the port private (e.g. inside a container).
 *
 * Why the merge stays: the SDK core's Prometheus exporter serves only the core's own meter, and prom-client's
 * registry (the project counters, process metrics) needs an HTTP server of its own; one scrape target therefore
 * means reading one into the other. Recording the project counters on the runtime's metric meter instead would
 * let the core's exporter serve everything alone.
 */
export async function startMetricsServer(config: Pick<MetricsConfig, 'bind' | 'temporalBind'>): Promise<MetricsServer | undefined> {
  if (config.bind === undefined) return undefined;
  const { host, port } = splitHostPort(config.bind);
  const app = Fastify({ logger: false, requestTimeout: 30_000, return503OnClosing: true });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/metrics', async (_req, reply) => {
    const temporal = await temporalRuntimeMetrics(config.temporalBind);
    const ours = await registry.metrics();
    return reply.type(registry.contentType).send(`${ours}\n${temporal}`);
  });
  app.setNotFoundHandler(async (req, reply) =>
    req.method === 'GET' || req.method === 'HEAD' ? reply.code(404).type('text/plain').send('not found; try /metrics\n') : reply.code(405).header('allow', 'GET, HEAD').send(),
  );
  app.setErrorHandler(async (err, _req, reply) => reply.code(500).type('text/plain').send(`metrics failed: ${err instanceof Error ? err.name : 'error'}\n`));
  await app.listen({ host, port });
  const addr = app.server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}/metrics`,
    close: () => app.close(),
  };
}

/** Resets the project counters (tests). */
export function resetMetrics(): void {
  registry.resetMetrics();
  lastState.clear();
}
