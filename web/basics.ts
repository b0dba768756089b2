/**
 * What both browser-facing servers (console, codec server) share: fastify options that bound requests, security
 * headers (@fastify/helmet), form bodies (@fastify/formbody), per-address request limits (@fastify/rate-limit), and
 * one error handler that turns every exception of every handler into an error response. Malformed requests that
 * never reach a handler are answered by fastify's own clientError handler (400/408/431, then the socket closes).
 */
import type { IncomingMessage } from 'node:http';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { redactSecrets } from '../security/redact';

/** A TLS proxy in front of a server runs on the same host; only it may say the browser used https (X-Forwarded-*). */
const LOOPBACK_PROXIES = ['127.0.0.1', '::1'];

/**
 * Fastify options both servers use: no logger of fastify's own, bounded bodies and slow clients. `publicUrl` https
 * means a TLS proxy terminates in front: then X-Forwarded-Proto/-For from a loopback proxy are believed (so Secure
 * cookies are sent and sign-in throttling sees the browser's address), and from nobody else.
 */
export function webServerOptions(bodyLimit: number, publicUrl?: string): FastifyServerOptions {
  return {
    logger: false,
    bodyLimit,
    trustProxy: secureCookiesFor(publicUrl) ? LOOPBACK_PROXIES : false,
    // Slow-loris bounds: a request must arrive within 30 s; idle keep-alive sockets close after 10 s.
    requestTimeout: 30_000,
    keepAliveTimeout: 10_000,
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
  };
}

/** Whether cookies must carry `Secure`: whenever browsers reach the server through https. */
export function secureCookiesFor(publicUrl: string | undefined): boolean {
  return publicUrl !== undefined && /^https:/i.test(publicUrl);
}

/** The origin browsers use for this server: the configured public URL's, else the one the request names. */
export function expectedOrigin(req: FastifyRequest | IncomingMessage, publicUrl: string | undefined): string | undefined {
  if (publicUrl !== undefined) return new URL(publicUrl).origin;
  const host = req.headers.host;
  return typeof host === 'string' && /^[A-Za-z0-9.:[\]-]{1,300}$/.test(host) ? `http://${host}` : undefined;
}

/** Where a browser-facing server listens, how browsers reach it, and its sign-in sessions. */
export interface BrowserServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** How browsers reach the server (e.g. behind a TLS proxy); https makes the session cookie Secure. */
  publicUrl?: string;
  /** Lifetime of a sign-in session. */
  sessionTtlMs?: number;
  /** Clock for sessions and sign-in throttling (tests). */
  now?: () => number;
}

/** A started browser-facing server. */
export interface RunningWebServer {
  /** e.g. http://127.0.0.1:8888 */
  url: string;
  close(): Promise<void>;
}

export interface WebBasicsOptions {
  /** Helmet's CSP directives for this server's pages. */
  contentSecurityPolicy: Record<string, string[]>;
  /** Sends an error in the server's own format (HTML page, JSON); `message` is safe to show. */
  sendError(req: FastifyRequest, reply: FastifyReply, status: number, message: string, err: unknown): FastifyReply | Promise<FastifyReply>;
  /** Where unexpected (5xx) errors are reported, already redacted. */
  log(line: string): void;
  /** Requests per minute and client address before 429 (default 1200). */
  requestsPerMinute?: number;
  /** Cross-origin resource policy; the codec server is called cross-origin by the Web UI. */
  crossOriginResourcePolicy?: 'same-origin' | 'same-site' | 'cross-origin';
}

/**
 * An error's status: its own, else 400 when it happened before any handler ran (while fastify and its plugins were
 * still reading the request: body parsers such as busboy throw plain Errors for malformed bodies), else 500.
 */
function statusOf(err: unknown, reply: FastifyReply, beforeHandlers: boolean): number {
  const s = (err as { statusCode?: unknown } | null)?.statusCode;
  if (typeof s === 'number' && s >= 400 && s <= 599) return s;
  if (reply.statusCode >= 400) return reply.statusCode;
  return beforeHandlers ? 400 : 500;
}

/** Client errors keep fastify's/plugins' own words (they name the problem, never the body); others are generic. */
function publicMessage(err: unknown, status: number): string {
  if (status === 429) return 'Too many requests. Wait a moment and try again.';
  if (status >= 500) return 'Something went wrong. Try again in a moment.';
  const m = (err as { message?: unknown } | null)?.message;
  return typeof m === 'string' && m.length > 0 && m.length < 300 ? m : 'The request could not be processed.';
}

/**
 * Request hygiene for a whole server (register once, on the root instance): HTTP/1.x origin-form requests only,
 * per-address request limits, and the error handler that answers every exception.
 */
export async function registerRequestHardening(app: FastifyInstance, opts: Omit<WebBasicsOptions, 'contentSecurityPolicy' | 'crossOriginResourcePolicy'>): Promise<void> {
  await app.register(fastifyRateLimit, { global: true, max: opts.requestsPerMinute ?? 1200, timeWindow: 60_000 });
  app.addHook('onRequest', async (req, reply) => {
    // Node's parser also takes HTTP/0.9 and 2.x request lines; this server speaks HTTP/1.x only.
    if (req.raw.httpVersionMajor !== 1) return reply.code(505).type('text/plain; charset=utf-8').send('HTTP Version Not Supported');
    // Origin-form targets only: `*` and absolute-form (`http://host/…`) are for proxies, and the router would map them onto pages.
    if (!(req.raw.url ?? '').startsWith('/')) return reply.code(400).type('text/plain; charset=utf-8').send('Bad Request: the request target must be a path');
  });
  const pastReading = new WeakSet<FastifyRequest>();
  // The first preHandler hook of every route: from here on, the request has been read and parsed.
  app.addHook('preHandler', async (req) => {
    pastReading.add(req);
  });
  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const status = statusOf(err, reply, !pastReading.has(req));
    if (status >= 500) {
      opts.log(`${req.method} ${req.url.slice(0, 200)}: ${redactSecrets(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    }
    try {
      return await opts.sendError(req, reply, status, publicMessage(err, status), err);
    } catch (renderErr) {
      opts.log(`error page failed: ${redactSecrets(String(renderErr))}`);
      return reply.code(status).type('text/plain; charset=utf-8').send(publicMessage(err, status));
    }
  });
}

/** Security headers (helmet) and form bodies for the pages and endpoints of one context. */
export async function registerPageBasics(app: FastifyInstance, opts: Pick<WebBasicsOptions, 'contentSecurityPolicy' | 'crossOriginResourcePolicy'>): Promise<void> {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: opts.contentSecurityPolicy },
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts, which origin checks refuse.
    referrerPolicy: { policy: 'same-origin' },
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: opts.crossOriginResourcePolicy ?? 'same-origin' },
    // Plain-http loopback by default; HSTS belongs to the TLS proxy in front.
    strictTransportSecurity: false,
  });
  await app.register(fastifyFormbody, { bodyLimit: 256 * 1024 });
  app.addHook('onRequest', async (_req, reply) => {
    reply.header('cache-control', 'no-store');
  });
}

/** Both of the above, for a server that is one context (the console, the standalone codec server). */
export async function registerWebBasics(app: FastifyInstance, opts: WebBasicsOptions): Promise<void> {
  await registerRequestHardening(app, opts);
  await registerPageBasics(app, opts);
}
