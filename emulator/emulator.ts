import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ArmError } from './errors';
import { FaultRegistry, faultErrorCode, faultMessage } from './faults';
import { authenticate, checkApiVersion, errorReply, parseJson, parseTarget, readBody, send, type Reply, type RequestTarget } from './http';
import { RouteTable, type AzureApi, type AzureRoute, type ControlRoute } from './router';

/** The request log keeps the newest entries only. */
const MAX_LOGGED_REQUESTS = 10_000;

export interface RequestLogEntry {
  seq: number;
  time: string;
  method: string;
  path: string;
  /** `importexport` or `databox`; absent for requests no API claimed. */
  api?: string;
  operation: string;
  status: number;
  faulted?: string;
}

interface ApiRoute extends AzureRoute {
  api: AzureApi;
}

/** What every request goes through: target parsing, routing, request log, faults, auth, api-version, the handler. */
export class EmulatorCore {
  readonly faults = new FaultRegistry();
  readonly requests: RequestLogEntry[] = [];
  private reqSeq = 0;
  readonly sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  private readonly azure: RouteTable<ApiRoute>;
  private readonly control: RouteTable<ControlRoute>;

  constructor(
    apis: AzureApi[],
    controlRoutes: ControlRoute[],
    /** Runs before each request: service timers (expiry) are evaluated lazily. */
    private readonly beforeEach: () => void,
    private readonly now: () => Date,
    private readonly log: (line: string) => void,
  ) {
    this.azure = new RouteTable(apis.flatMap((api) => api.routes.map((r) => ({ ...r, api }))));
    this.control = new RouteTable(controlRoutes.map((r) => ({ ...r, path: `/_emulator${r.path}` })));
  }

  sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => {
          this.sleepers.delete(entry);
          resolve();
        }, ms),
        resolve,
      };
      this.sleepers.add(entry);
    });
  }

  wakeSleepers(): void {
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.resolve();
    }
  }

  /** The request listener. Nothing a request does may escape as an exception: every failure is an ARM error reply. */
  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const method = (req.method ?? 'GET').toUpperCase();
    let shownPath = '?';
    const done = (status: number, extra = '') => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.log(`${method} ${shownPath} ${status} ${ms.toFixed(1)}ms${extra}`);
    };
    const work = async () => {
      if (req.httpVersionMinor >= 1 && req.httpVersionMajor === 1 && req.headers.host === undefined) {
        send(res, { ...errorReply(new ArmError(400, 'MissingHostHeader', 'HTTP/1.1 requests must carry a Host header.')), headers: { Connection: 'close' } });
        done(400);
        return;
      }
      let target: RequestTarget;
      try {
        target = parseTarget(req.url);
      } catch (e) {
        const reply = e instanceof ArmError ? errorReply(e) : errorReply(new ArmError(400, 'InvalidUri', 'The request URI is invalid.'));
        send(res, { ...reply, headers: { ...reply.headers, Connection: 'close' } });
        done(reply.status);
        return;
      }
      shownPath = target.pathname.slice(0, 200);
      const isControl = /^\/+_emulator(\/|$)/i.test(target.pathname);
      await (isControl ? this.handleControl(req, res, method, target, done) : this.handleAzure(req, res, method, target, done));
    };
    work().catch((e: unknown) => {
      if (!res.headersSent && !res.destroyed) {
        const message = e instanceof Error ? e.message : String(e);
        send(res, errorReply(new ArmError(500, 'InternalServerError', `Emulator error: ${message}`)));
      } else if (!res.writableEnded) res.destroy();
      done(500, ' (internal error)');
    });
  };

  private body(req: IncomingMessage): { raw: () => Promise<Buffer>; json: (required: boolean) => Promise<unknown> } {
    let read: Promise<Buffer> | undefined;
    const raw = () => (read ??= readBody(req));
    return { raw, json: async (required) => parseJson(await raw(), required) };
  }

  private async handleAzure(req: IncomingMessage, res: ServerResponse, method: string, target: RequestTarget, done: (s: number, extra?: string) => void): Promise<void> {
    this.beforeEach();
    const seq = ++this.reqSeq;
    const requestId = randomUUID();
    const correlationHeader = req.headers['x-ms-correlation-request-id'];
    const clientRequestId = req.headers['x-ms-client-request-id'];
    const armHeaders: Record<string, string> = {
      'Cache-Control': 'no-cache',
      Pragma: 'no-cache',
      Expires: '-1',
      'x-ms-request-id': requestId,
      'x-ms-correlation-request-id': typeof correlationHeader === 'string' ? correlationHeader : randomUUID(),
      'x-ms-routing-request-id': `LOCAL:${new Date().toISOString().replace(/[-:.]/g, '')}:${requestId}`,
      'Strict-Transport-Security': 'max-age=31536000; includeSubDomains',
      'X-Content-Type-Options': 'nosniff',
      Server: 'Microsoft-HTTPAPI/2.0 (azure-import-export-emulator)',
    };
    if (typeof clientRequestId === 'string') armHeaders['x-ms-client-request-id'] = clientRequestId;

    const match = this.azure.match(method, target.pathname);
    const route = match.kind === 'route' ? match.route : undefined;
    const entry: RequestLogEntry = { seq, time: this.now().toISOString(), method, path: target.pathname.slice(0, 2000), operation: route?.operation ?? 'Unknown', status: 0 };
    if (route) entry.api = route.api.name;
    const finish = (status: number) => {
      entry.status = status;
      this.requests.push(entry);
      if (this.requests.length > MAX_LOGGED_REQUESTS) this.requests.splice(0, this.requests.length - MAX_LOGGED_REQUESTS);
      done(status, entry.faulted ? ` fault=${entry.faulted}` : '');
    };
    const body = this.body(req);

    const plan = this.faults.plan(entry.operation, route?.api.name);
    if (plan.labels.length > 0) entry.faulted = plan.labels.join(',');
    await this.sleep(plan.delayBeforeMs);
    const applyTerminal = (): boolean => {
      const f = plan.terminal;
      if (!f) return false;
      if (f.kind === 'drop') {
        req.socket.destroy();
        res.destroy();
        finish(0);
        return true;
      }
      const status = f.status ?? 500;
      const headers: Record<string, string> = {};
      if (f.retryAfterSeconds !== undefined) headers['Retry-After'] = String(f.retryAfterSeconds);
      send(res, { status, body: new ArmError(status, faultErrorCode(status), faultMessage(status)).body(), headers }, armHeaders);
      finish(status);
      return true;
    };
    if (plan.terminal && !plan.terminal.afterProcessing) {
      // Drain the body so the client sees a clean response.
      if (plan.terminal.kind !== 'drop') await body.raw().catch(() => Buffer.alloc(0));
      applyTerminal();
      return;
    }

    let reply: Reply;
    try {
      const caller = authenticate(req);
      if (match.kind === 'method-not-allowed') throw new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
      if (!route) {
        const namespace = /microsoft\.databox/i.test(target.pathname) ? 'Microsoft.DataBox' : 'Microsoft.ImportExport';
        throw new ArmError(404, 'InvalidResourceType', `The resource type could not be found in the namespace '${namespace}' for api-version (path '${target.pathname.slice(0, 200)}').`);
      }
      const apiVersion = checkApiVersion(target.query, route.api.apiVersions);
      const encrypted = (req.socket as Partial<TLSSocket>).encrypted === true;
      const host = typeof req.headers.host === 'string' && /^[\w.:[\]-]+$/.test(req.headers.host) ? req.headers.host : 'localhost';
      reply = await route.handler({
        req,
        method,
        params: match.kind === 'route' ? match.params : {},
        query: target.query,
        apiVersion,
        caller,
        origin: `${encrypted ? 'https' : 'http'}://${host}`,
        pathname: target.pathname,
        json: body.json,
        raw: body.raw,
      });
    } catch (e) {
      if (!(e instanceof ArmError)) throw e;
      reply = errorReply(e);
      if (route?.api.errorBody) reply.body = route.api.errorBody(e);
    }
    if (method === 'PUT' || method === 'PATCH' || method === 'POST') armHeaders['x-ms-ratelimit-remaining-subscription-writes'] = '1199';
    else if (method === 'DELETE') armHeaders['x-ms-ratelimit-remaining-subscription-deletes'] = '14999';
    else armHeaders['x-ms-ratelimit-remaining-subscription-reads'] = '11999';

    await this.sleep(plan.delayAfterMs);
    if (plan.terminal?.afterProcessing) {
      applyTerminal();
      return;
    }
    send(res, reply, armHeaders);
    finish(reply.status);
  }

  private async handleControl(req: IncomingMessage, res: ServerResponse, method: string, target: RequestTarget, done: (s: number) => void): Promise<void> {
    const body = this.body(req);
    let reply: Reply;
    try {
      this.beforeEach();
      const match = this.control.match(method, target.pathname);
      if (match.kind === 'method-not-allowed') throw new ArmError(405, 'MethodNotAllowed', `${method} is not supported on ${target.pathname}`);
      if (match.kind === 'not-found') throw new ArmError(404, 'NotFound', `Unknown emulator control route '${method} ${target.pathname.slice(0, 200)}'.`);
      reply = await match.route.handler({ req, params: match.params, query: target.query, json: () => body.json(false) });
    } catch (e) {
      if (e instanceof ArmError) reply = errorReply(e);
      else throw e;
    }
    send(res, reply, { 'Cache-Control': 'no-cache' });
    done(reply.status);
  }
}
