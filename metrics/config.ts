import { z } from 'zod';

/**
 * Metrics / tracing configuration from the environment (every error names the variable):
 *
 *   METRICS_BIND            host:port of the worker's Prometheus endpoint (`/metrics`, `/healthz`), or `off`.
 *                           Default 127.0.0.1:9464 (loopback: expose it deliberately, e.g. 0.0.0.0:9464 in a container).
 *   TEMPORAL_METRICS_BIND   host:port of the Temporal SDK core runtime's Prometheus exporter, which holds every
 *                           metric (the SDK's and the project's); the METRICS_BIND endpoint relays it, so one scrape
 *                           target carries both. Default: 127.0.0.1:<METRICS_BIND port + 1>. Keep it on loopback.
 *   OTEL_EXPORTER_OTLP_ENDPOINT   when set, OpenTelemetry tracing is enabled (see metrics/tracing.ts).
 *   OTEL_SERVICE_NAME       service.name of exported spans (default azure-import-orchestrator-worker).
 */
const HostPortSchema = z
  .string()
  .trim()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. 127.0.0.1:9464')
  .refine((s) => Number(s.slice(s.lastIndexOf(':') + 1)) <= 65535, 'port must be 0-65535');

export const MetricsEnvSchema = z.object({
  METRICS_BIND: z.union([z.literal('off'), HostPortSchema]).default('127.0.0.1:9464'),
  TEMPORAL_METRICS_BIND: HostPortSchema.optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL of an OTLP/HTTP collector' }).optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).default('azure-import-orchestrator-worker'),
});

export interface MetricsConfig {
  /** The worker's scrape target (relays the core runtime's exporter, adds /healthz); undefined = metrics off. */
  bind: string | undefined;
  /** Where the Temporal core runtime's Prometheus exporter listens; undefined = metrics off. */
  temporalBind: string | undefined;
  otlpEndpoint: string | undefined;
  serviceName: string;
}

export class MetricsConfigError extends Error {
  override name = 'MetricsConfigError';
}

export function splitHostPort(bind: string): { host: string; port: number } {
  const i = bind.lastIndexOf(':');
  return { host: bind.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(bind.slice(i + 1)) };
}

export function loadMetricsConfig(env: Record<string, string | undefined> = process.env): MetricsConfig {
  const cleaned: Record<string, string> = {};
  for (const key of Object.keys(MetricsEnvSchema.shape)) {
    const v = env[key];
    if (v !== undefined && v.trim() !== '') cleaned[key] = v.trim();
  }
  const r = MetricsEnvSchema.safeParse(cleaned);
  if (!r.success) {
    throw new MetricsConfigError(`Invalid metrics configuration: ${r.error.issues.map((i) => `${String(i.path[0])}: ${i.message}`).join('; ')}`);
  }
  const e = r.data;
  if (e.METRICS_BIND === 'off') return { bind: undefined, temporalBind: undefined, otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME };
  const { port } = splitHostPort(e.METRICS_BIND);
  if (e.TEMPORAL_METRICS_BIND === undefined && port === 0) {
    throw new MetricsConfigError('Invalid metrics configuration: METRICS_BIND with port 0 needs an explicit TEMPORAL_METRICS_BIND');
  }
  const temporalBind = e.TEMPORAL_METRICS_BIND ?? `127.0.0.1:${port + 1}`;
  if (temporalBind === e.METRICS_BIND) throw new MetricsConfigError('Invalid metrics configuration: TEMPORAL_METRICS_BIND must differ from METRICS_BIND');
  return { bind: e.METRICS_BIND, temporalBind, otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT, serviceName: e.OTEL_SERVICE_NAME };
}
