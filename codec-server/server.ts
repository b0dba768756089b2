/**
 * Remote codec server for the Temporal Web UI / CLI: `POST …/encode` and `POST …/decode` with Temporal's remote codec
 * JSON (`{ payloads: [{ metadata: { k: base64 }, data: base64 }] }`, proto3 JSON of temporal.api.common.v1.Payloads).
 *
 * Every request except CORS preflight and the login page needs either `Authorization: Bearer <token>` (constant-time
 * compared with the configured token) or a session cookie obtained by entering that token on `/login` (for the Web UI,
 * which only sends Authorization headers to https endpoints, and then with its own OIDC token). Unauthenticated
 * requests get 401 before their body is even read.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { DEFAULT_CODEC_CORS_ORIGINS, DEFAULT_CODEC_SERVER_HOST, DEFAULT_CODEC_SERVER_PORT, MIN_CODEC_TOKEN_LENGTH } from '../security/config';
import { PayloadDecryptionError, UnknownEncryptionKeyError } from '../security/payload-codec';
import { redactSecrets } from '../security/redact';

export const SESSION_COOKIE = 'aio_codec_session';
/** Request headers the Web UI / CLI send and preflight asks about. */
export const ALLOWED_HEADERS: readonly string[] = ['authorization', 'content-type', 'x-namespace', 'authorization-extras'];

export interface CodecServerOptions {
  /** The codec to run (EncryptionCodec over the same key ring the workers use). */
  codec: PayloadCodec;
  /** Bearer token clients must present (>= 24 chars). */
  token: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8888; 0 picks a free port. */
  port?: number;
  /** Browser origins allowed to call the server with credentials. Default: the dev-server UI on :8233. */
  corsOrigins?: readonly string[];
  /** Max request body in bytes. Default 16 MiB. */
  bodyLimit?: number;
  /** Lifetime of a /login session. Default 12 h. */
  sessionTtlMs?: number;
  /** Where request errors are reported (already redacted). Default: none. */
  onError?: (message: string) => void;
}

export interface RunningCodecServer {
  /** e.g. http://127.0.0.1:8888 */
  url: string;
  close(): Promise<void>;
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

function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  return out;
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

const LOGIN_PAGE = (message: string): string => `<!doctype html>
<html><head><meta charset="utf-8"><title>Codec server login</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>azure-import-orchestrator codec server</h1>
<p>${message}</p>
<form method="post" action="login">
<label>Codec server token <input type="password" name="token" autocomplete="off" size="50" autofocus></label>
<button type="submit">Sign in</button>
</form>
<p>After signing in, enable <em>Include cross-origin credentials</em> in the Web UI's codec server settings.</p>
</body></html>`;

/** Builds the Fastify app (not listening). Exposed for tests and for embedding. */
export function buildCodecServer(opts: CodecServerOptions): FastifyInstance {
  if (typeof opts.token !== 'string' || opts.token.length < MIN_CODEC_TOKEN_LENGTH) {
    throw new Error(`codec server token must be at least ${MIN_CODEC_TOKEN_LENGTH} characters (CODEC_SERVER_TOKEN / CODEC_SERVER_TOKEN_FILE)`);
  }
  const token = opts.token;
  const origins = new Set((opts.corsOrigins ?? DEFAULT_CODEC_CORS_ORIGINS).map((o) => o.replace(/\/$/, '')));
  const sessionTtlMs = opts.sessionTtlMs ?? 12 * 60 * 60 * 1000;
  const sessions = new Map<string, number>(); // sha256(session id) hex → expiry
  const onError = opts.onError ?? ((): void => undefined);

  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 16 * 1024 * 1024 });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  const selfOrigin = (req: FastifyRequest): string => `${req.protocol}://${req.headers.host ?? ''}`;

  const sessionValid = (req: FastifyRequest): boolean => {
    const id = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (!id) return false;
    const key = sha256(id).toString('hex');
    const exp = sessions.get(key);
    if (exp === undefined) return false;
    if (exp < Date.now()) {
      sessions.delete(key);
      return false;
    }
    return true;
  };

  const bearerValid = (req: FastifyRequest): boolean => {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return false;
    const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
    return m?.[1] !== undefined && tokensEqual(m[1], token);
  };

  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const origin = req.headers.origin;
    const p = pathOf(req.url);
    const isLogin = p.endsWith('/login') || p.endsWith('/logout');
    if (origin !== undefined) {
      const allowed = origins.has(origin) || (isLogin && origin === selfOrigin(req));
      if (!allowed) {
        return reply.code(403).send({ error: `origin ${origin} is not allowed (CODEC_CORS_ORIGINS)` });
      }
      if (origins.has(origin)) {
        reply.header('Access-Control-Allow-Origin', origin);
        reply.header('Access-Control-Allow-Credentials', 'true');
        reply.header('Vary', 'Origin');
      }
    }
    if (req.method === 'OPTIONS') {
      reply.header('Access-Control-Allow-Methods', 'POST, OPTIONS');
      reply.header('Access-Control-Allow-Headers', ALLOWED_HEADERS.join(', '));
      reply.header('Access-Control-Max-Age', '600');
      if (req.headers['access-control-request-private-network'] === 'true' && origin !== undefined) {
        reply.header('Access-Control-Allow-Private-Network', 'true');
      }
      return reply.code(204).send();
    }
    if (isLogin || p === '/healthz') return;
    if (bearerValid(req) || sessionValid(req)) return;
    reply.header('WWW-Authenticate', 'Bearer realm="codec-server"');
    return reply.code(401).send({ error: 'unauthorized: send Authorization: Bearer <codec server token>, or sign in at /login' });
  });

  app.get('/healthz', async () => ({ ok: true }));

  app.get('/login', async (_req, reply) => reply.type('text/html; charset=utf-8').send(LOGIN_PAGE('Enter the codec server token.')));

  app.post('/login', async (req, reply) => {
    const body = req.body as Record<string, unknown> | null | undefined;
    const presented = typeof body?.token === 'string' ? body.token.trim() : '';
    if (!tokensEqual(presented, token)) {
      return reply.code(401).type('text/html; charset=utf-8').send(LOGIN_PAGE('Wrong token.'));
    }
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    for (const [k, exp] of sessions) if (exp < now) sessions.delete(k);
    if (sessions.size >= 1000) sessions.delete(sessions.keys().next().value as string);
    sessions.set(sha256(id).toString('hex'), now + sessionTtlMs);
    const secure = req.protocol === 'https' ? '; Secure' : '';
    reply.header(
      'Set-Cookie',
      `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/; Max-Age=${Math.floor(sessionTtlMs / 1000)}${secure}`,
    );
    return reply.type('text/html; charset=utf-8').send(LOGIN_PAGE('Signed in. You can close this tab.'));
  });

  app.post('/logout', async (req, reply) => {
    const id = parseCookies(req.headers.cookie).get(SESSION_COOKIE);
    if (id) sessions.delete(sha256(id).toString('hex'));
    reply.header('Set-Cookie', `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0`);
    return { ok: true };
  });

  app.post('/*', async (req, reply) => {
    const op = operationOf(req.url);
    if (op === undefined) return reply.code(404).send({ error: 'POST …/encode or …/decode' });
    const parsed = PayloadsJsonSchema.safeParse(req.body);
    if (!parsed.success) {
      return reply.code(400).send({ error: 'body must be { "payloads": [{ "metadata": {k: base64}, "data": base64 }] }' });
    }
    try {
      const payloads = parsed.data.payloads.map(payloadFromJson);
      const out = op === 'encode' ? await opts.codec.encode(payloads) : await opts.codec.decode(payloads);
      return { payloads: out.map(payloadToJson) } satisfies PayloadsJson;
    } catch (e) {
      if (e instanceof UnknownEncryptionKeyError || e instanceof PayloadDecryptionError) {
        return reply.code(400).send({ error: e.message });
      }
      onError(redactSecrets(`codec ${op} failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`));
      return reply.code(500).send({ error: `codec ${op} failed` });
    }
  });

  return app;
}

/** Starts the codec server (default 127.0.0.1:8888) and resolves once it is listening. */
export async function startCodecServer(opts: CodecServerOptions): Promise<RunningCodecServer> {
  const app = buildCodecServer(opts);
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
