import type { IncomingMessage, ServerResponse } from 'node:http';
import { ArmError } from './errors';

/** Largest request body accepted; bigger ones get 413 in the ARM envelope. */
export const MAX_BODY_BYTES = 1024 * 1024;
/** How much of an oversized body is read (and discarded) so the client sees the 413 instead of a reset. */
const MAX_DRAIN_BYTES = 16 * MAX_BODY_BYTES;

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Who made the request (derived from the bearer token when it is a JWT). */
export interface Caller {
  name: string;
  type: 'User' | 'Application' | 'ManagedIdentity' | 'Key';
}

export function errorReply(e: ArmError): Reply {
  return { status: e.status, body: e.body(), headers: e.headers };
}

export function send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  if (res.destroyed || res.headersSent) return;
  const headers: Record<string, string> = { ...extraHeaders, ...(reply.headers ?? {}) };
  let payload = '';
  if (reply.body !== undefined) {
    payload = JSON.stringify(reply.body);
    headers['Content-Type'] = 'application/json; charset=utf-8';
  }
  headers['Content-Length'] = String(Buffer.byteLength(payload));
  res.writeHead(reply.status, headers);
  res.end(payload);
}

function tooLarge(): ArmError {
  return new ArmError(413, 'RequestEntityTooLarge', `The request content exceeds the limit of ${MAX_BODY_BYTES} bytes.`, 'body', undefined, {
    Connection: 'close',
  });
}

/**
 * Reads the body up to MAX_BODY_BYTES. An oversized body is drained (up to a bound) rather than cut off, so the client
 * reads a 413 in the ARM envelope instead of a connection reset.
 */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    req.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (over) {
        if (size > MAX_DRAIN_BYTES) req.socket.destroy();
        return;
      }
      if (size > MAX_BODY_BYTES) {
        over = true;
        chunks.length = 0;
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => (over ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    req.on('error', () => reject(new ArmError(400, 'InvalidRequestContent', 'The request content was incomplete (the connection ended early).', 'body')));
    req.on('close', () => {
      if (!req.complete) reject(new ArmError(400, 'InvalidRequestContent', 'The request content was incomplete (the connection ended early).', 'body'));
    });
  });
}

export function parseJson(buf: Buffer, required: boolean): unknown {
  const text = buf.toString('utf8');
  if (text.trim() === '') {
    if (required) throw new ArmError(400, 'InvalidRequestContent', 'The request content was invalid and could not be deserialized: body is required.', 'body');
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new ArmError(400, 'InvalidRequestContent', `The request content was invalid and could not be deserialized: ${(e as Error).message}`, 'body');
  }
}

export interface RequestTarget {
  /** The path as sent (still percent-encoded); every segment is known to decode. */
  pathname: string;
  query: URLSearchParams;
}

const invalidUri = (why: string) => new ArmError(400, 'InvalidUri', `The request URI is invalid: ${why}.`);

/**
 * Splits a request target without `new URL()` on the raw string, which throws on targets such as `//a:b`. Accepts the
 * origin form (`/path?query`) and the absolute form (`http://host/path`); anything else is a 400.
 */
export function parseTarget(raw: string | undefined): RequestTarget {
  let target = raw ?? '/';
  if (!target.startsWith('/')) {
    if (!/^https?:\/\//i.test(target)) throw invalidUri('only origin-form and absolute-form targets are served');
    try {
      const u = new URL(target);
      target = `${u.pathname}${u.search}`;
    } catch {
      throw invalidUri('not a URL');
    }
  }
  const q = target.indexOf('?');
  const pathname = q < 0 ? target : target.slice(0, q);
  const query = new URLSearchParams(q < 0 ? '' : target.slice(q + 1));
  for (const seg of pathname.split('/')) {
    try {
      decodeURIComponent(seg);
    } catch {
      throw invalidUri(`bad percent-encoding in path segment`);
    }
  }
  return { pathname, query };
}

/** The caller recorded in systemData: claims of a JWT bearer token when it is one, else a fixed user. */
export function callerFromToken(token: string): Caller {
  const parts = token.split('.');
  if (parts.length === 3 && parts[1]) {
    try {
      const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
      const user = [claims.upn, claims.unique_name, claims.preferred_username, claims.email].find((v) => typeof v === 'string');
      if (typeof user === 'string') return { name: user, type: 'User' };
      const app = [claims.appid, claims.azp, claims.oid].find((v) => typeof v === 'string');
      if (typeof app === 'string') return { name: app, type: 'Application' };
    } catch {
      // not a JWT: fall through
    }
  }
  return { name: 'emulator-user@contoso.com', type: 'User' };
}

/** ARM's bearer check: any well-formed bearer token is accepted. */
export function authenticate(req: IncomingMessage): Caller {
  const auth = req.headers.authorization;
  if (auth === undefined || auth.trim() === '') {
    throw new ArmError(401, 'AuthenticationFailed', "Authentication failed. The 'Authorization' header is missing.", undefined, undefined, {
      'WWW-Authenticate':
        'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The authentication failed because of missing \'Authorization\' header."',
    });
  }
  const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
  if (!m || !m[1]) {
    throw new ArmError(401, 'InvalidAuthenticationToken', "The access token is invalid: the 'Authorization' header must be 'Bearer <token>'.", undefined, undefined, {
      'WWW-Authenticate': 'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The access token is invalid."',
    });
  }
  return callerFromToken(m[1]);
}

/** Checks `api-version` against the versions an API serves. */
export function checkApiVersion(query: URLSearchParams, supported: readonly string[]): string {
  const apiVersions = query.getAll('api-version');
  const apiVersion = apiVersions[0] ?? '';
  if (apiVersion === '') {
    throw new ArmError(400, 'MissingApiVersionParameter', 'The api-version query parameter (?api-version=) is required for all requests.', 'api-version');
  }
  if (!supported.includes(apiVersion)) {
    throw new ArmError(400, 'InvalidApiVersionParameter', `The api-version '${apiVersion}' is invalid. The supported versions are '${supported.join(',')}'.`, 'api-version');
  }
  return apiVersion;
}
