/**
 * Remote codec server for the Temporal Web UI / CLI: `POST …/encode` and `POST …/decode` with Temporal's remote codec
 * JSON (`{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`, proto3 JSON of temporal.api.common.v1.Payloads).
 *
 * Every request except CORS preflight, `/healthz` and the sign-in page needs either `Authorization: Bearer <token>`
 * (constant-time compared with the configured token) or a session cookie obtained by entering that token on
 * `/login` (for the Web UI, which sends cookies but never our token). Unauthenticated requests get 401 before their
 * body is even read. Sign-in is throttled per client address with lockout back-off. Plumbing comes from fastify's
 * plugins (helmet, formbody, rate-limit, cookie, session; see web/); CORS is a small hook because @fastify/cors is
 * not among the project's dependencies and the rule is short (exact origins, credentials, no wildcard).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { DEFAULT_CODEC_CORS_ORIGINS, DEFAULT_CODEC_SERVER_HOST, DEFAULT_CODEC_SERVER_PORT, MIN_CODEC_TOKEN_LENGTH } from '../security/config';
import { PayloadDecryptionError, UnknownEncryptionKeyError } from '../security/payload-codec';
import { redactSecrets } from '../security/redact';
import { registerPageBasics, registerRequestHardening, secureCookiesFor, webServerOptions, type BrowserServerOptions, type RunningWebServer } from '../web/basics';
import { LoginThrottle, describeWait } from '../web/login-throttle';
import { registerSessions, sessionOf } from '../web/sessions';

declare module 'fastify' {
  interface Session {
    /** Set by a successful token sign-in. */
    codecSignedIn?: boolean;
  }
}

export const SESSION_COOKIE = 'aio_codec_session';
/** Request headers the Web UI / CLI send and preflight asks about. */
export const ALLOWED_HEADERS: readonly string[] = ['authorization', 'content-type', 'x-namespace', 'authorization-extras'];

/** Port default 8888; sessions last 12 h by default. */
export interface CodecServerOptions extends BrowserServerOptions {
  /** The codec to run (EncryptionCodec over the same key ring the workers use). */
  codec: PayloadCodec;
  /** Bearer token clients must present (>= 24 chars). */
  token: string;
  /** Browser origins allowed to call the server with credentials. Default: the dev-server UI, http://127.0.0.1:8233. */
  corsOrigins?: readonly string[];
  /** Max request body in bytes. Default 16 MiB. */
  bodyLimit?: number;
  /** Where request errors are reported (already redacted). Default: none. */
  onError?: (message: string) => void;
}

const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'must be base64');
const PayloadJsonSchema = z.looseObject({
  metadata: z.record(z.string(), Base64).optional().nullable(),
  data: Base64.optional().nullable(),
  externalPayloads: z.array(z.unknown()).optional(),
});
export const PayloadsJsonSchema = z.looseObject({ payloads: z.array(PayloadJsonSchema).max(100_000) });
export type PayloadJson = z.infer<typeof PayloadJsonSchema>;
export type PayloadsJson = { payloads: PayloadJson[] };

const PayloadMessage = temporal.api.common.v1.Payload;

/** proto3 JSON (base64 bytes) → Payload. */
export function payloadFromJson(json: PayloadJson): Payload {
  return PayloadMessage.fromObject(json);
}

/** Payload → proto3 JSON (base64 bytes). */
export function payloadToJson(payload: Payload): PayloadJson {
  return PayloadMessage.toObject(PayloadMessage.fromObject(payload), { bytes: String }) as PayloadJson;
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time comparison (fixed-length digests, so the token length does not leak either). */
export function tokensEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(sha256(presented), sha256(expected));
}

function pathOf(url: string): string {
  const q = url.indexOf('?');
  return (q >= 0 ? url.slice(0, q) : url).replace(/\/+$/, '');
}

/** Protocol says: only the last path segment decides encode vs decode (endpoints may be mounted under a prefix). */
function operationOf(url: string): 'encode' | 'decode' | undefined {
  const last = pathOf(url).split('/').pop();
  return last === 'encode' || last === 'decode' ? last : undefined;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const LOGIN_PAGE = (message: string): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>Codec server sign-in</title></head>
<body>
<h1>azure-import-orchestrator codec server</h1>
<p id="message">${escapeHtml(message)}</p>
<form method="post" action="login">
<label>Codec server token <input type="password" name="token" autocomplete="off" size="50" autofocus></label>
<button type="submit">Sign in</button>
</form>
<p>Then open the Temporal Web UI in this browser: payloads are decoded for you.</p>
</body></html>`;

const CSP = { defaultSrc: ["'none'"], formAction: ["'self'"], frameAncestors: ["'none'"], baseUri: ["'none'"] };

/** Builds the Fastify app (not listening). Exposed for tests and for embedding. */
export async function buildCodecServer(opts: CodecServerOptions): Promise<FastifyInstance> {
  const app = Fastify(webServerOptions(opts.bodyLimit ?? 16 * 1024 * 1024, opts.publicUrl));
  await registerRequestHardening(app, { log: opts.onError ?? ((): void => undefined), sendError: (_req, reply, status, message) => sendJsonError(reply, status, message) });
  await registerCodecEndpoints(app, opts);
  return app;
}

const sendJsonError = (reply: FastifyReply, status: number, error: string): FastifyReply => reply.code(status).type('application/json; charset=utf-8').send({ error });

/**
 * The codec endpoints, sign-in and their auth gate, registered on `app` (the root of a standalone codec server, or
 * the `/codec` prefix of the Web UI gateway).
 */
export async function registerCodecEndpoints(app: FastifyInstance, opts: CodecServerOptions & { cookiePath?: string }): Promise<void> {
  if (typeof opts.token !== 'string' || opts.token.length < MIN_CODEC_TOKEN_LENGTH) {
    throw new Error(`codec server token must be at least ${MIN_CODEC_TOKEN_LENGTH} characters (CODEC_SERVER_TOKEN / CODEC_SERVER_TOKEN_FILE)`);
  }
  const token = opts.token;
  const origins = new Set((opts.corsOrigins ?? DEFAULT_CODEC_CORS_ORIGINS).map((o) => o.replace(/\/$/, '')));
  const onError = opts.onError ?? ((): void => undefined);
  const throttle = new LoginThrottle({ now: opts.now });
  const publicOrigin = opts.publicUrl ? new URL(opts.publicUrl).origin : undefined;

  // The Web UI calls /decode from its own origin (a CORS request, allowed below per origin).
  await registerPageBasics(app, { contentSecurityPolicy: CSP, crossOriginResourcePolicy: 'cross-origin' });
  await registerSessions(app, { cookieName: SESSION_COOKIE, ttlMs: opts.sessionTtlMs ?? 12 * 60 * 60 * 1000, secure: secureCookiesFor(opts.publicUrl), path: opts.cookiePath ?? '/' });

  const selfOrigin = (req: FastifyRequest): string => publicOrigin ?? `http://${req.headers.host ?? ''}`;

  const bearerValid = (req: FastifyRequest): boolean => {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return false;
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
    return m?.[1] !== undefined && tokensEqual(m[1], token);
  };

  // Runs after the session plugin's onRequest hook (registered first), so the session is loaded here.
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    const p = pathOf(req.url);
    const isLogin = p.endsWith('/login') || p.endsWith('/logout');
    if (origin !== undefined) {
      // Same-origin calls come from pages this server served: its sign-in page, or (gateway) the Web UI itself.
      const allowed = origins.has(origin) || origin === selfOrigin(req);
      if (!allowed) return sendJsonError(reply, 403, `origin ${origin} is not allowed (CODEC_CORS_ORIGINS)`);
      if (origins.has(origin)) {
        reply.header('Access-Control-Allow-Origin', origin);
        reply.header('Access-Control-Allow-Credentials', 'true');
        reply.header('Vary', 'Origin');
      }
    }
    // A CORS preflight: from an allowed origin, for the codec endpoints; any other OPTIONS is refused below.
    if (req.method === 'OPTIONS' && origin !== undefined && typeof req.headers['access-control-request-method'] === 'string' && operationOf(req.url) !== undefined) {
      reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      reply.header('Access-Control-Allow-Headers', ALLOWED_HEADERS.join(', '));
      reply.header('Access-Control-Max-Age', '600');
      if (req.headers['access-control-request-private-network'] === 'true' && origin !== undefined) {
        reply.header('Access-Control-Allow-Private-Network', 'true');
      }
      return reply.code(204).send();
    }
    if (req.method === 'OPTIONS') return sendJsonError(reply, 404, 'OPTIONS is only answered as a CORS preflight for …/encode and …/decode');
    if (isLogin || p.endsWith('/healthz')) return;
    if (bearerValid(req) || sessionOf(req)?.get('codecSignedIn') === true) return;
    reply.header('WWW-Authenticate', 'Bearer realm="codec-server"');
    return sendJsonError(reply, 401, 'unauthorized: send Authorization: Bearer <codec server token>, or sign in at /login');
  });

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/login', async (_req, reply) => reply.type('text/html; charset=utf-8').send(LOGIN_PAGE('Enter the codec server token.')));

  app.post('/login', { config: { rateLimit: { max: 300, timeWindow: 60_000 } } }, async (req, reply) => {
    const key = req.ip;
    const locked = throttle.check(key);
    if (!locked.allowed) {
      reply.header('retry-after', String(Math.ceil(locked.retryAfterMs / 1000)));
      return reply.code(429).type('text/html; charset=utf-8').send(LOGIN_PAGE(`Too many failed sign-ins from your address. Try again in ${describeWait(locked.retryAfterMs)}.`));
    }
    const body = req.body as Record<string, unknown> | null | undefined;
    const presented = typeof body?.token === 'string' ? body.token.trim() : '';
    if (!tokensEqual(presented, token)) {
      const after = throttle.recordFailure(key);
      if (!after.allowed) reply.header('retry-after', String(Math.ceil(after.retryAfterMs / 1000)));
      return reply.code(401).type('text/html; charset=utf-8').send(LOGIN_PAGE(`Wrong token.${after.allowed ? '' : ` Sign-in is paused for ${describeWait(after.retryAfterMs)}.`}`));
    }
    throttle.recordSuccess(key);
    await req.session.regenerate();
    req.session.set('codecSignedIn', true);
    return reply.type('text/html; charset=utf-8').send(LOGIN_PAGE('Signed in. You can close this tab.'));
  });

  app.post('/logout', async (req) => {
    await sessionOf(req)?.destroy();
    return { ok: true };
  });

  app.post('/*', async (req, reply) => {
    const op = operationOf(req.url);
    if (op === undefined) return sendJsonError(reply, 404, 'POST …/encode or …/decode');
    const parsed = PayloadsJsonSchema.safeParse(req.body);
    if (!parsed.success) return sendJsonError(reply, 400, 'body must be { "payloads": [{ "metadata": {k: base64}, "data": base64 }] }');
    try {
      const payloads = parsed.data.payloads.map(payloadFromJson);
      const out = op === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
      return { payloads: out.map(payloadToJson) } satisfies PayloadsJson;
    } catch (e) {
      if (e instanceof UnknownEncryptionKeyError || e instanceof PayloadDecryptionError) return sendJsonError(reply, 400, e.message);
      onError(redactSecrets(`codec ${op} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
      return sendJsonError(reply, 500, `codec ${op} failed`);
    }
  });

  app.setNotFoundHandler(async (_req, reply) => sendJsonError(reply, 404, 'not found: POST …/encode or …/decode, GET …/login'));
}

/** Starts the codec server (default 127.0.0.1:8888) and resolves once it is listening. */
export type RunningCodecServer = RunningWebServer;

export async function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  const app = await buildCodecServer(opts);
  const host = opts.host ?? DEFAULT_CODEC_SERVER_HOST;
  await app.listen({ host, port: opts.port ?? DEFAULT_CODEC_SERVER_PORT });
  const addr = app.server.address() as AddressInfo;
  const hostForUrl = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${hostForUrl}:${addr.port}`,
    close: async () => {
      await app.close();
    },
  };
}
