/**
 * The Temporal Web UI and the codec server under one origin, so the UI's default "Codec Server" setting decodes.
 *
 * Why a gateway: the dev server's UI (`temporal server start-dev --ui-codec-endpoint …`) never sends credentials to a
 * cluster-level codec endpoint. temporalio/ui's `codeServerRequest` uses `fetch(endpoint + '/decode')` with
 * `credentials: 'include'` only when the settings' `codec.includeCredentials` is true, which start-dev cannot set,
 * and sends `Authorization` only with "pass access token", only to https, and then with its own OIDC token. A
 * cross-origin codec server therefore sees no cookie and no token: 401. A same-origin endpoint gets the browser's
 * cookies with fetch's default credentials mode. So this server listens where people open the UI, proxies every
 * request to the dev server's UI (on a loopback port of its own), and serves the codec endpoints and their sign-in
 * under `/codec` itself: sign in once at `/codec/login`, then every page of the UI shows decoded payloads.
 *
 * The proxy is a plain stream pipe over node:http, because no proxy plugin (@fastify/http-proxy, @fastify/reply-from)
 * is among the project's dependencies; it forwards method, path, headers and body unchanged and adds nothing.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { registerRequestHardening, webServerOptions } from '../web/basics';
import { registerCodecEndpoints, type CodecServerOptions } from './server';

export const CODEC_PREFIX = '/codec';

export interface WebUiGatewayOptions extends Omit<CodecServerOptions, 'corsOrigins'> {
  /** The dev server's UI, e.g. http://127.0.0.1:8234 (start-dev `--ui-port 8234`); keep it on loopback. */
  uiUpstream: string;
}

export interface RunningWebUiGateway {
  /** Where people open the Web UI, e.g. http://127.0.0.1:8233 */
  url: string;
  /** What the dev server must be given as `--ui-codec-endpoint`: `<url>/codec` */
  codecEndpoint: string;
  close(): Promise<void>;
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) are the proxy's own business, not forwarded. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k.toLowerCase())) out[k] = v;
  return out;
}

function proxyTo(upstream: URL) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.raw.url, headers: forwardable(req.headers) }, resolve);
      out.on('error', reject);
      req.raw.pipe(out);
    }).catch(() => undefined);
    if (!res) return reply.code(502).type('text/plain; charset=utf-8').send('The Temporal Web UI is not answering (is the dev server running?)');
    return reply.code(res.statusCode ?? 502).headers(forwardable(res.headers)).send(res);
  };
}

export async function buildWebUiGateway(opts: WebUiGatewayOptions): Promise<FastifyInstance> {
  const upstream = new URL(opts.uiUpstream);
  const app = Fastify(webServerOptions(opts.bodyLimit ?? 16 * 1024 * 1024, opts.publicUrl));
  const log = opts.onError ?? ((): void => undefined);
  await registerRequestHardening(app, {
    log,
    // The UI calls many small endpoints per page; the default per-address limit would throttle one busy browser tab.
    requestsPerMinute: 6000,
    sendError: (_req, reply, status, message) => reply.code(status).type('application/json; charset=utf-8').send({ error: message }),
  });
  await app.register(
    async (codec) => {
      await registerCodecEndpoints(codec, { ...opts, cookiePath: CODEC_PREFIX, corsOrigins: [] });
    },
    { prefix: CODEC_PREFIX },
  );
  await app.register(async (ui) => {
    // Bodies stay streams: they are piped to the UI as they arrive, never parsed here.
    ui.removeAllContentTypeParsers();
    ui.addContentTypeParser('*', (_req, _payload, done) => done(null));
    const handler = proxyTo(upstream);
    ui.all('/', handler);
    ui.all('/*', handler);
  });
  return app;
}

export async function startWebUiGateway(opts: WebUiGatewayOptions): Promise<RunningWebUiGateway> {
  const app = await buildWebUiGateway(opts);
  await app.listen({ host: opts.host ?? '127.0.0.1', port: opts.port ?? 8233 });
  const addr = app.server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  return {
    url,
    codecEndpoint: `${opts.publicUrl ?? url}${CODEC_PREFIX}`,
    async close() {
      await app.close();
    },
  };
}
