/**
 * The port's one error type, `AzurePortError`, and how whatever the Azure SDK throws becomes one: HTTP answers by
 * status (with Azure's words, which name the field), transport failures by their system code, the server's
 * Retry-After in every form. Messages are scrubbed with security/redact.ts plus the request's literal secrets.
 */
import { isRestError } from '@azure/core-rest-pipeline';
import { z } from 'zod';
import { AZURE_ERROR_TYPES, type AzureErrorType } from '../../common/azure-job';
import { problemsFromZodError, type Problem } from '../../common/problems';
import { redactSecrets } from '../../security/redact';

/** One field that differs between a requested job and the one Azure has under that name. Never holds secrets. */
export interface JobSpecDifference {
  field: string;
  /** Human-readable; absent for secret fields. */
  requested?: string;
  existing?: string;
}

export interface AzurePortErrorOptions {
  statusCode?: number;
  /** Azure's error code (ARM envelope), or a transport code such as ECONNRESET. */
  code?: string;
  /** Server request id (`x-ms-request-id`, else `x-ms-correlation-request-id`). */
  requestId?: string;
  /** The `x-ms-client-request-id` this client sent. */
  clientRequestId?: string;
  /** Swagger operationId, e.g. `Jobs_Create`. */
  operation?: string;
  retryAfterMs?: number;
  /** Field-level problems (Azure's `target`/`details`, or a response schema mismatch). */
  problems?: readonly Problem[];
  differences?: readonly JobSpecDifference[];
  /** The client-side timeout fired. */
  timedOut?: boolean;
  cause?: unknown;
  /** Further literal secrets to keep out of the message (e.g. the keys this request carried). */
  secrets?: readonly string[];
}

export class AzurePortError extends Error {
  override readonly name = 'AzurePortError';
  readonly type: AzureErrorType;
  readonly statusCode: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly clientRequestId: string | undefined;
  readonly operation: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly problems: readonly Problem[];
  readonly differences: readonly JobSpecDifference[];
  readonly timedOut: boolean;

  constructor(type: AzureErrorType, message: string, options: AzurePortErrorOptions = {}) {
    const scrub = (s: string): string => redactSecrets(s, { secrets: options.secrets ?? [] });
    super(scrub(message), options.cause === undefined ? undefined : { cause: options.cause });
    this.type = type;
    this.statusCode = options.statusCode;
    this.code = options.code;
    this.requestId = options.requestId;
    this.clientRequestId = options.clientRequestId;
    this.operation = options.operation;
    this.retryAfterMs = options.retryAfterMs;
    this.problems = (options.problems ?? []).map((p) => ({ field: scrub(p.field), message: scrub(p.message) }));
    this.differences = (options.differences ?? []).map((d) => ({
      field: d.field,
      ...(d.requested === undefined ? {} : { requested: scrub(d.requested) }),
      ...(d.existing === undefined ? {} : { existing: scrub(d.existing) }),
    }));
    this.timedOut = options.timedOut ?? false;
  }

  get retryable(): boolean {
    return AZURE_ERROR_TYPES[this.type].retryable;
  }

  /** The first offending field, `(root)` when none is known. */
  get field(): string {
    return this.problems[0]?.field ?? '(root)';
  }
}

/** A response body that does not match the API's schema: names the first offending field. */
export function responseFormatError(operation: string, apiVersion: string, error: z.ZodError, statusCode?: number): AzurePortError {
  const problems = problemsFromZodError(error);
  const first = problems[0] ?? { field: '(root)', message: 'invalid' };
  const more = problems.length > 1 ? ` (+${problems.length - 1} more)` : '';
  return new AzurePortError(
    'AzureResponseFormatError',
    `${operation}: response does not match the ${apiVersion} schema at ${first.field || '(root)'}: ${first.message}${more}`,
    { operation, problems, ...(statusCode === undefined ? {} : { statusCode }) },
  );
}

// ---------------------------------------------------------------------------------------------------------------------
// Retry-After

/** Minimal header reader: core-rest-pipeline's HttpHeaders, a fetch Headers, or a plain record. */
export type HeaderSource = { get(name: string): string | undefined | null } | Record<string, string | string[] | undefined>;

function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof headers.get === 'function') {
    return (headers as { get(name: string): string | undefined | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The delay the server asks for, in ms: `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds), else `Retry-After`
 * (delta-seconds or HTTP-date), as core-rest-pipeline's throttling strategy reads them. Undefined when absent.
 */
export function parseRetryAfterMs(headers: HeaderSource, now: number = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const raw = readHeader(headers, name)?.trim();
    if (raw !== undefined && /^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw));
  }
  const raw = readHeader(headers, 'retry-after')?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) return Math.round(Number(raw) * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

// ---------------------------------------------------------------------------------------------------------------------
// From what the SDK throws to an AzurePortError

/** The ARM error envelope both APIs use (`ApiError` / `ErrorResponse`); lenient, as error bodies vary. */
const ArmErrorDetailSchema = z.object({
  code: z.string().optional().catch(undefined),
  message: z.string().optional().catch(undefined),
  target: z.string().optional().catch(undefined),
  details: z
    .array(z.object({ code: z.string().optional().catch(undefined), message: z.string().optional().catch(undefined), target: z.string().optional().catch(undefined) }))
    .optional()
    .catch(undefined),
});
type ArmErrorDetail = z.infer<typeof ArmErrorDetailSchema>;
/** `{ error: {...} }`, or (some gateways) the detail at the top level. */
const ArmErrorEnvelopeSchema = z.union([z.object({ error: ArmErrorDetailSchema }).transform((e) => e.error), ArmErrorDetailSchema]);

function parseErrorEnvelope(bodyText: string | undefined): ArmErrorDetail | undefined {
  if (bodyText === undefined || bodyText.trim() === '') return undefined;
  let json: unknown;
  try {
    json = JSON.parse(bodyText);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const parsed = ArmErrorEnvelopeSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function typeForStatus(status: number): AzureErrorType {
  if (status === 400 || status === 422) return 'AzureValidationError';
  if (status === 401 || status === 403) return 'AzureAuthError';
  if (status === 404) return 'AzureNotFoundError';
  if (status === 409) return 'AzureConflictError';
  if (status === 429) return 'AzureThrottledError';
  if (status === 408 || status >= 500) return 'AzureServerError';
  return 'AzureRequestError';
}

interface HttpFailure {
  statusCode: number;
  headers: HeaderSource;
  bodyText?: string | undefined;
}

/** The error for a non-2xx answer; the message carries Azure's words (they name the field) and the request id. */
export function errorFromHttpResponse(
  response: HttpFailure,
  context: { operation?: string; clientRequestId?: string; secrets?: readonly string[] } = {},
): AzurePortError {
  const envelope = parseErrorEnvelope(response.bodyText);
  const requestId = readHeader(response.headers, 'x-ms-request-id') ?? readHeader(response.headers, 'x-ms-correlation-request-id');
  const retryAfterMs = parseRetryAfterMs(response.headers);
  const serverMessage = envelope?.message ?? (envelope === undefined ? response.bodyText?.trim().slice(0, 500) || undefined : undefined);
  // Details often repeat the message (`path: problem`): only what is new is added.
  const detailText = envelope?.details
    ?.map((d) => d.message ?? d.target ?? '')
    .filter((s) => s !== '' && !(serverMessage ?? '').includes(s))
    .join('; ');
  const problems: Problem[] = [
    ...(envelope?.target === undefined ? [] : [{ field: envelope.target, message: envelope.message ?? 'rejected' }]),
    ...(envelope?.details ?? [])
      .filter((d) => d.target !== undefined && d.target !== envelope?.target)
      .map((d) => ({ field: d.target ?? '', message: d.message ?? 'rejected' })),
  ];
  const message = [
    `${context.operation ?? 'request'} failed with HTTP ${response.statusCode}`,
    envelope?.code === undefined ? '' : ` (${envelope.code})`,
    serverMessage === undefined ? '' : `: ${serverMessage}`,
    envelope?.target === undefined ? '' : ` [target: ${envelope.target}]`,
    detailText === undefined || detailText === '' ? '' : ` [details: ${detailText}]`,
    requestId === undefined ? '' : ` [requestId: ${requestId}]`,
  ].join('');
  return new AzurePortError(typeForStatus(response.statusCode), message, {
    statusCode: response.statusCode,
    ...(envelope?.code === undefined ? {} : { code: envelope.code }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(context.clientRequestId === undefined ? {} : { clientRequestId: context.clientRequestId }),
    ...(context.operation === undefined ? {} : { operation: context.operation }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(context.secrets === undefined ? {} : { secrets: context.secrets }),
    problems,
  });
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'REQUEST_SEND_ERROR',
]);

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

export function prop(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/** The innermost system error code (Node puts it on the error or on its cause). */
function systemCode(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; e = prop(e, 'cause'), depth++) {
    const code = prop(e, 'code');
    if (typeof code === 'string' && (TLS_CODES.has(code) || (NETWORK_CODES.has(code) && code !== 'REQUEST_SEND_ERROR'))) return code;
  }
  const top = prop(err, 'code');
  return typeof top === 'string' ? top : undefined;
}

/**
 * Whatever an SDK call threw, as an AzurePortError: HTTP answers by status, transport failures by their system
 * code (Node's, then the message as a last resort: some TLS and socket errors carry no code).
 */
export function toAzurePortError(err: unknown, context: { operation?: string; secrets?: readonly string[] } = {}): AzurePortError {
  if (err instanceof AzurePortError) {
    if (err.operation !== undefined || context.operation === undefined) return err;
    // Raised below the operation (pipeline policies): name the operation now.
    return new AzurePortError(err.type, `${context.operation}: ${err.message}`, {
      ...err,
      operation: context.operation,
      ...(context.secrets === undefined ? {} : { secrets: context.secrets }),
      cause: err.cause,
    });
  }
  const op = context.operation ?? 'request';
  const base = { ...(context.operation === undefined ? {} : { operation: context.operation }), ...(context.secrets === undefined ? {} : { secrets: context.secrets }), cause: err };
  if (isRestError(err) && err.response !== undefined && err.statusCode !== undefined) {
    const clientRequestId = err.request?.requestId;
    return errorFromHttpResponse(
      { statusCode: err.statusCode, headers: err.response.headers, bodyText: err.response.bodyAsText ?? undefined },
      { ...context, ...(clientRequestId === undefined ? {} : { clientRequestId }) },
    );
  }
  const name = str(prop(err, 'name')) ?? 'Error';
  const rawMessage = err instanceof Error ? err.message : String(err);
  const code = systemCode(err);
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationRequiredError') {
    return new AzurePortError('AzureAuthError', `${op}: could not obtain an access token (${name}): ${rawMessage}`, { ...base, code: name });
  }
  if (name === 'AuthenticationError') {
    const status = prop(err, 'statusCode');
    const transient = typeof status === 'number' && (status === 429 || status >= 500);
    return new AzurePortError(transient ? 'AzureNetworkError' : 'AzureAuthError', `${op}: could not obtain an access token (${name}): ${rawMessage}`, {
      ...base,
      code: name,
      ...(typeof status === 'number' ? { statusCode: status } : {}),
    });
  }
  if ((code !== undefined && TLS_CODES.has(code)) || /certificate|self[- ]signed/i.test(rawMessage)) {
    return new AzurePortError(
      'AzureTlsError',
      `${op}: TLS failure (${code ?? 'TlsError'}): ${rawMessage}. For the emulator set AZURE_CA_FILE to its CA certificate.`,
      { ...base, code: code ?? 'TlsError' },
    );
  }
  // The SDK checks required fields and constraints before sending and says so only in words.
  if (/should satisfy the constraint|cannot be null or undefined|must be of type|is not a valid/i.test(rawMessage) && !isRestError(err)) {
    return new AzurePortError('AzureRequestError', `${op}: the request was refused before sending: ${rawMessage}`, { ...base, code: 'InvalidArgument' });
  }
  if (/allowInsecureConnection|non-TLS|non-https/i.test(rawMessage)) {
    return new AzurePortError('AzureRequestError', `${op}: ${rawMessage} (set AZURE_ALLOW_INSECURE_HTTP=true to allow http:// endpoints)`, {
      ...base,
      code: 'InsecureConnectionRefused',
    });
  }
  // Anything else while sending is assumed transient, like the Azure SDK's own system-error retry strategy.
  return new AzurePortError('AzureNetworkError', `${op}: request failed (${code ?? name}): ${rawMessage}`, { ...base, code: code ?? name });
}

