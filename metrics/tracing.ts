/**
 * OpenTelemetry tracing for clients and workers, on only when OTEL_EXPORTER_OTLP_ENDPOINT is set (an OTLP/HTTP
 * collector such as the OpenTelemetry Collector, Jaeger or Tempo: spans go to `<endpoint>/v1/traces`).
 *
 * Uses `OpenTelemetryPlugin` from @temporalio/interceptors-opentelemetry 1.24 (OTel JS 1.x), which adds the client
 * interceptor (trace context into workflow headers), the activity interceptors, the workflow interceptor module
 * and the span-exporter sink the workflow sandbox exports its spans through. The plugin must be given to
 *   - `new Client({ plugins })`              (spans for start/signal/update, context propagation)
 *   - `bundleWorkflowCode({ plugins })`      (the workflow interceptor module has to be in the bundle)
 *   - `Worker.create({ plugins })`           (activity interceptors + exporter sink)
 *
 *   const tracing = createTracing(loadMetricsConfig());    // undefined when tracing is not configured
 *   const plugins = tracing ? [tracing.plugin] : [];
 *   ...
 *   await tracing?.shutdown();                              // flush spans on exit
 */
import { OpenTelemetryPlugin } from '@temporalio/interceptors-opentelemetry';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { Resource } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { MetricsConfig } from './config';

export interface Tracing {
  plugin: OpenTelemetryPlugin;
  spanProcessor: SpanProcessor;
  /** Flushes pending spans and stops exporting. */
  shutdown(): Promise<void>;
}

/**
 * Returns the tracing plugin when `config.otlpEndpoint` is set, else undefined. `exporter` replaces the OTLP
 * exporter (tests: InMemorySpanExporter).
 */
export function createTracing(
  config: Pick<MetricsConfig, 'otlpEndpoint' | 'serviceName'>,
  opts: { exporter?: SpanExporter; attributes?: Record<string, string> } = {},
): Tracing | undefined {
  if (config.otlpEndpoint === undefined && opts.exporter === undefined) return undefined;
  const exporter =
    opts.exporter ?? new OTLPTraceExporter({ url: `${(config.otlpEndpoint ?? '').replace(/\/+$/, '')}/v1/traces` });
  const spanProcessor = new BatchSpanProcessor(exporter);
  const resource = new Resource({ 'service.name': config.serviceName, ...(opts.attributes ?? {}) });
  const plugin = new OpenTelemetryPlugin({ resource, spanProcessor });
  return {
    plugin,
    spanProcessor,
    shutdown: () => spanProcessor.shutdown(),
  };
}
