/**
 * Worker metrics in Prometheus format, all on Temporal's own meter: the SDK core's metrics (`temporal_*`), the
 * project's (`aio_*`, recorded by the activities themselves, see activity-metrics.ts) and the Node process's
 * (`aio_process_*`, `aio_nodejs_*`). The core runtime's Prometheus exporter serves them all; this module puts
 * `/healthz` beside it on the worker's one scrape target.
 *
 *   Runtime.install({ logger, telemetryOptions: runtimeTelemetryOptions(metricsConfig) })   // before any connection
 *   const server = await startMetricsServer(metricsConfig)                                   // GET /metrics, /healthz
 *   Worker.create({ ..., plugins: [activityMetricsPlugin()] })                               // failures by type
 */
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { MetricMeter } from '@temporalio/common';
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import Fastify from 'fastify';
import { splitHostPort, type MetricsConfig } from './config';

export { loadMetricsConfig, type MetricsConfig, MetricsConfigError } from './config';
export { PROJECT_METRICS, activityMetricsPlugin } from './activity-metrics';

/** Telemetry options for Runtime.install: Temporal core's Prometheus exporter on `config.temporalBind` (loopback). */
export function runtimeTelemetryOptions(config: MetricsConfig): RuntimeOptions['telemetryOptions'] {
  if (config.temporalBind === undefined) return undefined;
  return { metrics: { prometheus: { bindAddress: config.temporalBind } } };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/** Where to reach a bind address from this process (a wildcard bind is reached on loopback). */
function reachableUrl(bind: string, pathname: string): string {
  const { host, port } = splitHostPort(bind);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}${pathname}`;
}

/**
 * The Node process's own figures, set on the runtime's meter just before each scrape (what prom-client's default
 * metrics gave, reduced to the ones operators alert on; the core's meter is the one exporter, so they live there).
 */
function processMetricsRecorder(meter: MetricMeter): { record(): void; stop(): void } {
  const eventLoopDelay = monitorEventLoopDelay({ resolution: 20 });
  eventLoopDelay.enable();
  const resident = meter.createGauge('aio_process_resident_memory_bytes', 'int', 'By', 'Resident memory size of the worker process');
  const heapUsed = meter.createGauge('aio_nodejs_heap_size_used_bytes', 'int', 'By', 'V8 heap in use');
  // The core's counters take whole numbers only: cumulative CPU seconds go in a gauge, under the usual counter name.
  const cpu = meter.createGauge('aio_process_cpu_seconds_total', 'float', 's', 'User and system CPU time of the worker process');
  const lag = meter.createGauge('aio_nodejs_eventloop_lag_p99_seconds', 'float', 's', 'Event loop delay, 99th percentile since the previous scrape');
  return {
    record() {
      const memory = process.memoryUsage();
      resident.set(memory.rss);
      heapUsed.set(memory.heapUsed);
      const usage = process.cpuUsage();
      cpu.set((usage.user + usage.system) / 1e6);
      lag.set(eventLoopDelay.count > 0 ? eventLoopDelay.percentile(99) / 1e9 : 0);
      eventLoopDelay.reset();
    },
    stop: () => eventLoopDelay.disable(),
  };
}

/**
 * Serves `GET /metrics` and `GET /healthz` on `config.bind`, on fastify (unknown paths 404, other methods 405).
 * Loopback by default; bind 0.0.0.0 only where a network policy keeps the port private (e.g. inside a container).
 *
 * Why a server in front of the core's exporter: the exporter answers `GET /metrics` alone (no `/healthz` for the
 * container health check, nothing for HEAD), so it stays on loopback and this endpoint relays its text unchanged.
 * When the exporter does not answer, the scrape fails (503) and Prometheus' own `up` says so.
 */
export async function startMetricsServer(config: Pick<MetricsConfig, 'bind' | 'temporalBind'>): Promise<MetricsServer | undefined> {
  if (config.bind === undefined || config.temporalBind === undefined) return undefined;
  const exporterUrl = reachableUrl(config.temporalBind, '/metrics');
  const processMetrics = processMetricsRecorder(Runtime.instance().metricMeter);
  const { host, port } = splitHostPort(config.bind);
  const app = Fastify({ logger: false, requestTimeout: 30_000, return503OnClosing: true });
  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok\n'));
  app.get('/metrics', async (_req, reply) => {
    processMetrics.record();
    const res = await fetch(exporterUrl, { signal: AbortSignal.timeout(5000) }).catch(() => undefined);
    if (!res?.ok) return reply.code(503).type('text/plain').send(`the Temporal runtime's metrics exporter did not answer${res ? ` (HTTP ${res.status})` : ''}\n`);
    return reply.type(res.headers.get('content-type') ?? 'text/plain; version=0.0.4').send(await res.text());
  });
  app.setNotFoundHandler(async (req, reply) =>
    req.method === 'GET' || req.method === 'HEAD' ? reply.code(404).type('text/plain').send('not found; try /metrics\n') : reply.code(405).header('allow', 'GET, HEAD').send(),
  );
  app.setErrorHandler(async (err, _req, reply) => reply.code(500).type('text/plain').send(`metrics failed: ${err instanceof Error ? err.name : 'error'}\n`));
  try {
    await app.listen({ host, port });
  } catch (err) {
    processMetrics.stop();
    throw err;
  }
  const addr = app.server.address() as AddressInfo;
  const shownHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${shownHost}:${addr.port}/metrics`,
    close: async () => {
      processMetrics.stop();
      await app.close();
    },
  };
}
