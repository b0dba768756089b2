import { ApplicationFailure } from '@temporalio/common';
import { scrubSecrets } from './redact';

/**
 * Typed errors of the Import/Export client. Shape mirrors the Azure SDK's `RestError`
 * (`statusCode`, `code`, `message`, plus `requestId`), without keeping request/response objects
 * (they hold the Authorization header and bodies with BitLocker keys).
 *
 * Classification (stable `type` strings, used as Temporal ApplicationFailure types):
 *   AzureValidationError   400                       non-retryable
 *   AzureAuthError         401 / 403, credential      non-retryable
 *   AzureNotFoundError     404                       non-retryable
 *   AzureConflictError     409                       non-retryable
 *   JobSpecConflict        idempotent create found a different job under the name (non-retryable)
 *   AzureThrottledError    429                       retryable, retryAfterMs from headers
 *   AzureServerError       5xx                       retryable, retryAfterMs if Retry-After present
 *   AzureNetworkError      timeouts, resets, DNS      retryable
 *   AzureTlsError          certificate problems       non-retryable (configuration)
 *   AzureRequestError      other 4xx / client misuse  non-retryable (408 retryable)
 *   AzureResponseFormatError  2xx body that does not match the swagger schema (non-retryable)
 */

export const AZURE_ERROR_TYPES = [
  'AzureValidationError',
  'AzureAuthError',
  'AzureNotFoundError',
  'AzureConflictError',
  'JobSpecConflict',
  'AzureThrottledError',
  'AzureServerError',
  'AzureNetworkError',
  'AzureTlsError',
  'AzureRequestError',
  'AzureResponseFormatError',
] as const;
export type AzureErrorType = (typeof AZURE_ERROR_TYPES)[number];

/** The ARM error envelope's inner object (`{ error: {...} }`), scrubbed. */
export interface AzureErrorDetail {
  code?: string;
  message?: string;
  target?: string;
  details?: Array<{ code?: string; target?: string; message?: string }>;
}

export interface AzureErrorOptions {
  statusCode?: number;
  code?: string;
  /** Server request id (`x-ms-request-id`, else `x-ms-correlation-request-id`). */
  requestId?: string;
  /** The `x-ms-client-request-id` this client sent. */
  clientRequestId?: string;
  /** Swagger operationId, e.g. `Jobs_Create`. */
  operation?: string;
  retryAfterMs?: number;
  target?: string;
  details?: AzureErrorDetail['details'];
  cause?: unknown;
}

export abstract class AzureError extends Error {
  abstract readonly type: AzureErrorType;
  abstract readonly retryable: boolean;
  readonly statusCode: number | undefined;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly clientRequestId: string | undefined;
  readonly operation: string | undefined;
  readonly retryAfterMs: number | undefined;
  readonly target: string | undefined;
  readonly details: AzureErrorDetail['details'] | undefined;

  constructor(message: string, options: AzureErrorOptions = {}) {
    super(scrubSecrets(message));
    this.name = new.target.name;
    this.statusCode = options.statusCode;
    this.code = options.code;
    this.requestId = options.requestId;
    this.clientRequestId = options.clientRequestId;
    this.operation = options.operation;
    this.retryAfterMs = options.retryAfterMs;
    this.target = options.target === undefined ? undefined : scrubSecrets(options.target);
    this.details = options.details?.map((d) => ({
      ...(d.code === undefined ? {} : { code: d.code }),
      ...(d.target === undefined ? {} : { target: scrubSecrets(d.target) }),
      ...(d.message === undefined ? {} : { message: scrubSecrets(d.message) }),
    }));
  }

  /** JSON-safe summary (used as ApplicationFailure details). */
  toJSON(): AzureErrorSummary {
    return {
      type: this.type,
      message: this.message,
      retryable: this.retryable,
      ...(this.statusCode === undefined ? {} : { statusCode: this.statusCode }),
      ...(this.code === undefined ? {} : { code: this.code }),
      ...(this.requestId === undefined ? {} : { requestId: this.requestId }),
      ...(this.clientRequestId === undefined ? {} : { clientRequestId: this.clientRequestId }),
      ...(this.operation === undefined ? {} : { operation: this.operation }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(this.target === undefined ? {} : { target: this.target }),
      ...(this.details === undefined ? {} : { details: this.details }),
    };
  }
}

export interface AzureErrorSummary {
  type: AzureErrorType;
  message: string;
  retryable: boolean;
  statusCode?: number;
  code?: string;
  requestId?: string;
  clientRequestId?: string;
  operation?: string;
  retryAfterMs?: number;
  target?: string;
  details?: AzureErrorDetail['details'];
}

export class AzureValidationError extends AzureError {
  readonly type = 'AzureValidationError' as const;
  readonly retryable = false;
}
export class AzureAuthError extends AzureError {
  readonly type = 'AzureAuthError' as const;
  readonly retryable = false;
}
export class AzureNotFoundError extends AzureError {
  readonly type = 'AzureNotFoundError' as const;
  readonly retryable = false;
}
export class AzureConflictError extends AzureError {
  readonly type: 'AzureConflictError' | 'JobSpecConflict' = 'AzureConflictError';
  readonly retryable = false;
}

/** One field that differs between the requested job spec and the existing job. Never holds secrets. */
export interface JobSpecDifference {
  field: string;
  /** Scrubbed, human-readable; `undefined` for secret fields. */
  requested?: string;
  existing?: string;
}

/** Idempotent create found a job under the same name whose spec differs from the request. */
export class JobSpecConflictError extends AzureConflictError {
  override readonly type = 'JobSpecConflict' as const;
  readonly differences: readonly JobSpecDifference[];
  constructor(message: string, differences: readonly JobSpecDifference[], options: AzureErrorOptions = {}) {
    super(message, { statusCode: 409, code: 'JobSpecConflict', ...options });
    this.differences = differences.map((d) => ({
      field: d.field,
      ...(d.requested === undefined ? {} : { requested: scrubSecrets(d.requested) }),
      ...(d.existing === undefined ? {} : { existing: scrubSecrets(d.existing) }),
    }));
  }
}

export class AzureThrottledError extends AzureError {
  readonly type = 'AzureThrottledError' as const;
  readonly retryable = true;
}
export class AzureServerError extends AzureError {
  readonly type = 'AzureServerError' as const;
  readonly retryable = true;
}
export class AzureNetworkError extends AzureError {
  readonly type = 'AzureNetworkError' as const;
  readonly retryable = true;
  /** True when the client-side timeout (`timeoutMs`) fired. */
  readonly timedOut: boolean;
  constructor(message: string, options: AzureErrorOptions & { timedOut?: boolean } = {}) {
    super(message, options);
    this.timedOut = options.timedOut ?? false;
  }
}
export class AzureTlsError extends AzureError {
  readonly type = 'AzureTlsError' as const;
  readonly retryable = false;
}
export class AzureRequestError extends AzureError {
  readonly type = 'AzureRequestError' as const;
  readonly retryable: boolean;
  constructor(message: string, options: AzureErrorOptions & { retryable?: boolean } = {}) {
    super(message, options);
    this.retryable = options.retryable ?? false;
  }
}
export class AzureResponseFormatError extends AzureError {
  readonly type = 'AzureResponseFormatError' as const;
  readonly retryable = false;
  /** Path of the first offending value, e.g. `properties.driveList[0].state` (`(root)` for the whole body). */
  readonly path: string;
  constructor(message: string, path: string, options: AzureErrorOptions = {}) {
    super(message, options);
    this.path = path;
  }
}

export function isAzureError(err: unknown): err is AzureError {
  return err instanceof AzureError;
}

// ---------------------------------------------------------------------------------------------
// Retry-After parsing

/** Minimal header reader: a core-rest-pipeline HttpHeaders, a Headers, or a plain record. */
export type HeaderSource =
  | { get(name: string): string | undefined | null }
  | Record<string, string | string[] | undefined>;

function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    const v = (headers as { get(name: string): string | undefined | null }).get(name);
    return v ?? undefined;
  }
  const rec = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(rec).find((k) => k.toLowerCase() === name.toLowerCase());
  if (key === undefined) return undefined;
  const v = rec[key];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * Delay requested by the server, in ms: `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds),
 * else `Retry-After` (delta-seconds or HTTP-date). `undefined` when absent or unparsable.
 */
export function parseRetryAfterMs(headers: HeaderSource, now: number = Date.now()): number | undefined {
  for (const name of ['retry-after-ms', 'x-ms-retry-after-ms']) {
    const raw = readHeader(headers, name)?.trim();
    if (raw !== undefined && /^\d+(\.\d+)?$/.test(raw)) {
      return Math.round(Number(raw));
    }
  }
  const raw = readHeader(headers, 'retry-after')?.trim();
  if (raw === undefined || raw === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(raw)) {
    return Math.round(Number(raw) * 1000);
  }
  const date = Date.parse(raw);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

// ---------------------------------------------------------------------------------------------
// Classification

export interface HttpErrorInput {
  statusCode: number;
  headers: HeaderSource;
  /** Raw response body text (ARM error envelope expected). */
  bodyText?: string;
  operation?: string;
  clientRequestId?: string;
}

function parseErrorEnvelope(bodyText: string | undefined): AzureErrorDetail | undefined {
  if (bodyText === undefined || bodyText.trim() === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const rec = parsed as Record<string, unknown>;
    const inner = (typeof rec.error === 'object' && rec.error !== null ? rec.error : rec) as Record<string, unknown>;
    const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    const details = Array.isArray(inner.details)
      ? inner.details
          .filter((d): d is Record<string, unknown> => typeof d === 'object' && d !== null)
          .map((d) => ({
            ...(str(d.code) === undefined ? {} : { code: str(d.code) as string }),
            ...(str(d.target) === undefined ? {} : { target: str(d.target) as string }),
            ...(str(d.message) === undefined ? {} : { message: str(d.message) as string }),
          }))
      : undefined;
    const out: AzureErrorDetail = {};
    const code = str(inner.code);
    const message = str(inner.message);
    const target = str(inner.target);
    if (code !== undefined) out.code = code;
    if (message !== undefined) out.message = message;
    if (target !== undefined) out.target = target;
    if (details !== undefined && details.length > 0) out.details = details;
    return out;
  } catch {
    return undefined;
  }
}

/** Builds the typed error for a non-2xx HTTP response. */
export function errorFromHttpResponse(input: HttpErrorInput): AzureError {
  const { statusCode, headers } = input;
  const envelope = parseErrorEnvelope(input.bodyText);
  const requestId = readHeader(headers, 'x-ms-request-id') ?? readHeader(headers, 'x-ms-correlation-request-id');
  const retryAfterMs = parseRetryAfterMs(headers);
  const code = envelope?.code ?? undefined;
  let serverMessage = envelope?.message;
  if (serverMessage === undefined && envelope === undefined && input.bodyText !== undefined) {
    serverMessage = input.bodyText.trim().slice(0, 500) || undefined;
  }
  // Details often repeat the message (`path: problem`); only add what is new.
  const detailText = envelope?.details
    ?.map((d) => (d.message !== undefined && d.message !== '' ? d.message : (d.target ?? '')))
    .filter((s) => s !== '' && !(serverMessage ?? '').includes(s))
    .join('; ');
  const parts = [
    `${input.operation ?? 'request'} failed with HTTP ${statusCode}`,
    code === undefined ? '' : ` (${code})`,
    serverMessage === undefined ? '' : `: ${serverMessage}`,
    envelope?.target === undefined ? '' : ` [target: ${envelope.target}]`,
    detailText === undefined || detailText === '' ? '' : ` [details: ${detailText}]`,
    requestId === undefined ? '' : ` [requestId: ${requestId}]`,
  ];
  const message = parts.join('');
  const options: AzureErrorOptions = {
    statusCode,
    ...(code === undefined ? {} : { code }),
    ...(requestId === undefined ? {} : { requestId }),
    ...(input.clientRequestId === undefined ? {} : { clientRequestId: input.clientRequestId }),
    ...(input.operation === undefined ? {} : { operation: input.operation }),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    ...(envelope?.target === undefined ? {} : { target: envelope.target }),
    ...(envelope?.details === undefined ? {} : { details: envelope.details }),
  };
  if (statusCode === 400 || statusCode === 422) return new AzureValidationError(message, options);
  if (statusCode === 401 || statusCode === 403) return new AzureAuthError(message, options);
  if (statusCode === 404) return new AzureNotFoundError(message, options);
  if (statusCode === 409) return new AzureConflictError(message, options);
  if (statusCode === 429) return new AzureThrottledError(message, options);
  if (statusCode >= 500) return new AzureServerError(message, options);
  return new AzureRequestError(message, { ...options, retryable: statusCode === 408 });
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

function errProp(err: unknown, key: string): unknown {
  return typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[key] : undefined;
}

/**
 * Classifies an error thrown while sending (no HTTP response): network, TLS, credential or
 * client-side misuse. Already-typed AzureErrors are returned unchanged.
 */
export function errorFromTransportFailure(
  err: unknown,
  ctx: { operation?: string; clientRequestId?: string; timedOut?: boolean; timeoutMs?: number } = {},
): AzureError {
  if (err instanceof AzureError) return err;
  const base: AzureErrorOptions = {
    ...(ctx.operation === undefined ? {} : { operation: ctx.operation }),
    ...(ctx.clientRequestId === undefined ? {} : { clientRequestId: ctx.clientRequestId }),
    cause: err,
  };
  const op = ctx.operation ?? 'request';
  if (ctx.timedOut === true) {
    return new AzureNetworkError(`${op} timed out after ${ctx.timeoutMs ?? '?'} ms`, {
      ...base,
      code: 'Timeout',
      timedOut: true,
    });
  }
  const name = typeof errProp(err, 'name') === 'string' ? (errProp(err, 'name') as string) : 'Error';
  const rawMessage = err instanceof Error ? err.message : String(err);
  const codeProp = errProp(err, 'code');
  const code = typeof codeProp === 'string' ? codeProp : undefined;
  const causeCode = errProp(errProp(err, 'cause'), 'code');
  const effectiveCode = code ?? (typeof causeCode === 'string' ? causeCode : undefined);

  // Credential failures (@azure/identity).
  if (name === 'CredentialUnavailableError' || name === 'AuthenticationRequiredError') {
    return new AzureAuthError(`${op}: could not obtain an access token (${name}): ${rawMessage}`, { ...base, code: name });
  }
  if (name === 'AuthenticationError') {
    const sc = errProp(err, 'statusCode');
    const transient = typeof sc === 'number' && (sc === 429 || sc >= 500);
    const msg = `${op}: could not obtain an access token (${name}): ${rawMessage}`;
    return transient
      ? new AzureNetworkError(msg, { ...base, code: name, statusCode: sc })
      : new AzureAuthError(msg, { ...base, code: name, ...(typeof sc === 'number' ? { statusCode: sc } : {}) });
  }
  if (effectiveCode !== undefined && TLS_CODES.has(effectiveCode)) {
    return new AzureTlsError(
      `${op}: TLS failure (${effectiveCode}): ${rawMessage}. For the emulator set AZURE_CA_FILE to its CA certificate.`,
      { ...base, code: effectiveCode },
    );
  }
  if (/certificate|self[- ]signed/i.test(rawMessage)) {
    return new AzureTlsError(`${op}: TLS failure: ${rawMessage}`, { ...base, code: effectiveCode ?? 'TlsError' });
  }
  if (
    (effectiveCode !== undefined && NETWORK_CODES.has(effectiveCode)) ||
    /socket hang up|ECONNRESET|network|timed? ?out|getaddrinfo|premature close|other side closed/i.test(rawMessage)
  ) {
    return new AzureNetworkError(`${op}: network error (${effectiveCode ?? name}): ${rawMessage}`, {
      ...base,
      code: effectiveCode ?? 'NetworkError',
    });
  }
  if (/allowInsecureConnection|non-TLS|non-https/i.test(rawMessage)) {
    return new AzureRequestError(
      `${op}: ${rawMessage} (set AZURE_ALLOW_INSECURE_HTTP=true to allow http:// endpoints)`,
      { ...base, code: 'InsecureConnectionRefused' },
    );
  }
  // Unknown transport failure: assume transient, like the Azure SDK's system-error retry policy.
  return new AzureNetworkError(`${op}: request failed (${effectiveCode ?? name}): ${rawMessage}`, {
    ...base,
    code: effectiveCode ?? name,
  });
}

// ---------------------------------------------------------------------------------------------
// Temporal mapping

const NON_RETRYABLE_ERROR_NAMES = new Set(['AzureConfigError', 'ZodError', '$ZodError']);

/**
 * Converts any error into a Temporal ApplicationFailure with a scrubbed message.
 * Non-retryable → `nonRetryable: true` with details `[{statusCode, code, requestId}]`;
 * retryable → `nonRetryable: false` and `nextRetryDelay` = retryAfterMs when the server sent one.
 */
export function toApplicationFailure(err: unknown): ApplicationFailure {
  if (err instanceof ApplicationFailure) {
    if (scrubSecrets(err.message) === err.message) return err;
    return ApplicationFailure.create({
      message: scrubSecrets(err.message),
      ...(err.type == null ? {} : { type: err.type }),
      nonRetryable: err.nonRetryable === true,
      ...(err.details == null ? {} : { details: [...err.details] }),
    });
  }
  if (err instanceof AzureError) {
    const details = [
      {
        ...(err.statusCode === undefined ? {} : { statusCode: err.statusCode }),
        ...(err.code === undefined ? {} : { code: err.code }),
        ...(err.requestId === undefined ? {} : { requestId: err.requestId }),
        ...(err.clientRequestId === undefined ? {} : { clientRequestId: err.clientRequestId }),
        ...(err.operation === undefined ? {} : { operation: err.operation }),
        ...(err instanceof JobSpecConflictError ? { differences: err.differences } : {}),
      },
    ];
    if (!err.retryable) {
      return ApplicationFailure.create({ message: err.message, type: err.type, nonRetryable: true, details });
    }
    return ApplicationFailure.create({
      message: err.message,
      type: err.type,
      nonRetryable: false,
      details,
      ...(err.retryAfterMs === undefined ? {} : { nextRetryDelay: err.retryAfterMs }),
    });
  }
  const name = typeof errProp(err, 'name') === 'string' ? (errProp(err, 'name') as string) : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  // Configuration and schema errors do not heal by retrying; anything else unknown is assumed transient.
  const nonRetryable = NON_RETRYABLE_ERROR_NAMES.has(name);
  return ApplicationFailure.create({ message: scrubSecrets(message), type: name, nonRetryable });
}
