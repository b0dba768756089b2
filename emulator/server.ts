import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { z } from 'zod';
import { ArmError } from './errors';
import { FaultRegistry, FaultSpecSchema, faultErrorCode, faultMessage, type OperationId } from './faults';
import { AdvanceBodySchema, JobService, type Caller } from './jobs';
import { DEFAULT_LOCATIONS_FILE, LocationCatalogue } from './locations';
import { parseBody } from './schemas';
import { JOB_STATES, Store, type JobState } from './store';
import { ensureCertificate } from './tls';

export const SUPPORTED_API_VERSIONS = ['2021-01-01', '2020-08-01', '2016-11-01'] as const;
export const DEFAULT_CANCEL_WINDOW: JobState[] = ['Creating'];
const MAX_BODY_BYTES = 1024 * 1024;
const PAGE_SIZE_MAX = 100;
/** The request log keeps the newest entries only. */
const MAX_LOGGED_REQUESTS = 10_000;

export interface EmulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  httpPort?: number;
  /** 0 (default) picks a free port; null disables HTTPS. */
  httpsPort?: number | null;
  /** Default: a fresh temporary directory. */
  dataDir?: string;
  locationsFile?: string;
  /** Job states in which `cancelRequested: true` is accepted. Default: ['Creating']. */
  cancelWindow?: string[];
  /** One line per request (method, path, status, ms). Default: silent. */
  logger?: (line: string) => void;
}

export interface RunningEmulator {
  httpUrl: string;
  httpsUrl: string | undefined;
  caCertPath: string | undefined;
  dataDir: string;
  close(): Promise<void>;
}

export interface RequestLogEntry {
  seq: number;
  time: string;
  method: string;
  path: string;
  operation: string;
  status: number;
  faulted?: string;
}

interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

const OPERATIONS_LIST = [
  ['Microsoft.ImportExport/locations/read', 'Locations', 'Get or List Locations', 'Gets the properties for the specified location or returns the list of locations.'],
  ['Microsoft.ImportExport/jobs/write', 'Jobs', 'Create or Update Job', 'Creates a job with the specified parameters or update the properties or tags for the specified job.'],
  ['Microsoft.ImportExport/jobs/read', 'Jobs', 'Get or List Jobs', 'Gets the properties for the specified job or returns the list of jobs.'],
  ['Microsoft.ImportExport/jobs/listBitLockerKeys/action', 'Jobs', 'List BitLocker Keys', 'Gets the BitLocker keys for the specified job.'],
  ['Microsoft.ImportExport/jobs/delete', 'Jobs', 'Delete Job', 'Deletes an existing job.'],
  [
    'Microsoft.ImportExport/register/action',
    'Import/Export Resource Provider',
    'Registers the Import/Export Resource Provider',
    'Registers the subscription for the import/export resource provider and enables the creation of import/export jobs.',
  ],
].map(([name, resource, operation, description]) => ({
  name,
  display: { provider: 'Microsoft Import/Export', resource, operation, description },
}));

// ------------------------------------------------------------------ routing

interface AzureRoute {
  operation: OperationId;
  params: { subscriptionId?: string; resourceGroup?: string; jobName?: string; locationName?: string };
}

const eq = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/** Matches ARM paths case-insensitively on their fixed segments. Returns the operation or an ArmError to send. */
function routeAzure(method: string, segs: string[]): AzureRoute | ArmError {
  const notFound = () =>
    new ArmError(404, 'InvalidResourceType', `The resource type could not be found in the namespace 'Microsoft.ImportExport' for api-version (path '/${segs.join('/')}').`);
  const byMethod = (allowed: Partial<Record<string, OperationId>>, params: AzureRoute['params']): AzureRoute | ArmError => {
    const op = allowed[method];
    if (!op) return new ArmError(405, 'MethodNotAllowed', `The requested resource does not support http method '${method}'.`);
    return { operation: op, params };
  };
  const s = segs;
  if (eq(s[0], 'providers') && eq(s[1], 'Microsoft.ImportExport')) {
    if (s.length === 3 && eq(s[2], 'locations')) return byMethod({ GET: 'Locations_List' }, {});
    if (s.length === 4 && eq(s[2], 'locations')) return byMethod({ GET: 'Locations_Get' }, { locationName: s[3] });
    if (s.length === 3 && eq(s[2], 'operations')) return byMethod({ GET: 'Operations_List' }, {});
    return notFound();
  }
  if (eq(s[0], 'subscriptions') && s.length >= 5) {
    const subscriptionId = s[1];
    if (eq(s[2], 'providers') && eq(s[3], 'Microsoft.ImportExport') && eq(s[4], 'jobs') && s.length === 5) {
      return byMethod({ GET: 'Jobs_ListBySubscription' }, { subscriptionId });
    }
    if (eq(s[2], 'resourceGroups') && eq(s[4], 'providers') && eq(s[5], 'Microsoft.ImportExport') && eq(s[6], 'jobs')) {
      const resourceGroup = s[3];
      if (s.length === 7) return byMethod({ GET: 'Jobs_ListByResourceGroup' }, { subscriptionId, resourceGroup });
      if (s.length === 8) {
        return byMethod(
          { GET: 'Jobs_Get', PUT: 'Jobs_Create', PATCH: 'Jobs_Update', DELETE: 'Jobs_Delete' },
          { subscriptionId, resourceGroup, jobName: s[7] },
        );
      }
      if (s.length === 9 && eq(s[8], 'listBitLockerKeys')) {
        return byMethod({ POST: 'BitLockerKeys_List' }, { subscriptionId, resourceGroup, jobName: s[7] });
      }
    }
  }
  return notFound();
}

function splitPath(pathname: string): string[] | undefined {
  try {
    return pathname
      .split('/')
      .filter((x) => x !== '')
      .map((x) => decodeURIComponent(x));
  } catch {
    return undefined;
  }
}

/** The caller recorded in systemData: claims of a JWT bearer token when it is one, else a fixed user. */
function callerFromToken(token: string): Caller {
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

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ArmError(413, 'RequestEntityTooLarge', `The request content exceeds ${MAX_BODY_BYTES} bytes.`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function parseJson(buf: Buffer, required: boolean): unknown {
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

// ------------------------------------------------------------------ the emulator

class Emulator {
  readonly faults = new FaultRegistry();
  readonly requests: RequestLogEntry[] = [];
  private reqSeq = 0;
  readonly jobs: JobService;
  readonly sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();

  constructor(
    readonly store: Store,
    readonly locations: LocationCatalogue,
    cancelWindow: JobState[],
    private readonly log: (line: string) => void,
  ) {
    this.jobs = new JobService(store, locations, cancelWindow);
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

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = process.hrtime.bigint();
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://emulator');
    const done = (status: number, extra = '') => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.log(`${method} ${url.pathname} ${status} ${ms.toFixed(1)}ms${extra}`);
    };
    const isControl = url.pathname === '/_emulator' || url.pathname.startsWith('/_emulator/');
    const work = isControl ? this.handleControl(req, res, method, url, done) : this.handleAzure(req, res, method, url, done);
    work.catch((e: unknown) => {
      // Last resort: never crash the server on one request.
      if (!res.headersSent && !res.destroyed) {
        const err = new ArmError(500, 'InternalServerError', `Emulator error: ${(e as Error).message}`);
        this.send(res, { status: 500, body: err.body() });
      }
      done(500, ' (internal error)');
    });
  };

  private send(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
    if (res.destroyed) return;
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

  // ---------------------------------------------------------------- Azure API

  private async handleAzure(req: IncomingMessage, res: ServerResponse, method: string, url: URL, done: (s: number, extra?: string) => void): Promise<void> {
    this.store.expire();
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

    const segs = splitPath(url.pathname);
    const routed = segs ? routeAzure(method, segs) : new ArmError(400, 'InvalidUri', 'The request URI is invalid.');
    const operation = routed instanceof ArmError ? 'Unknown' : routed.operation;
    const entry: RequestLogEntry = { seq, time: this.store.now().toISOString(), method, path: url.pathname, operation, status: 0 };
    const finish = (status: number) => {
      entry.status = status;
      this.requests.push(entry);
      if (this.requests.length > MAX_LOGGED_REQUESTS) this.requests.splice(0, this.requests.length - MAX_LOGGED_REQUESTS);
      done(status, entry.faulted ? ` fault=${entry.faulted}` : '');
    };

    const plan = this.faults.plan(operation);
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
      this.send(res, { status, body: new ArmError(status, faultErrorCode(status), faultMessage(status)).body(), headers }, armHeaders);
      finish(status);
      return true;
    };
    if (plan.terminal && !plan.terminal.afterProcessing) {
      // Drain the body so the client sees a clean response.
      if (plan.terminal.kind !== 'drop') await readBody(req).catch(() => Buffer.alloc(0));
      applyTerminal();
      return;
    }

    let reply: Reply;
    try {
      reply = await this.executeAzure(req, method, url, routed);
    } catch (e) {
      if (e instanceof ArmError) reply = { status: e.status, body: e.body(), headers: e.headers };
      else throw e;
    }
    if (method === 'PUT' || method === 'PATCH' || method === 'POST') armHeaders['x-ms-ratelimit-remaining-subscription-writes'] = '1199';
    else if (method === 'DELETE') armHeaders['x-ms-ratelimit-remaining-subscription-deletes'] = '14999';
    else armHeaders['x-ms-ratelimit-remaining-subscription-reads'] = '11999';

    await this.sleep(plan.delayAfterMs);
    if (plan.terminal?.afterProcessing) {
      applyTerminal();
      return;
    }
    this.send(res, reply, armHeaders);
    finish(reply.status);
  }

  private async executeAzure(req: IncomingMessage, method: string, url: URL, routed: AzureRoute | ArmError): Promise<Reply> {
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
        'WWW-Authenticate':
          'Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", error_description="The access token is invalid."',
      });
    }
    const caller = callerFromToken(m[1]);
    if (routed instanceof ArmError) throw routed;

    const apiVersions = url.searchParams.getAll('api-version');
    if (apiVersions.length === 0 || apiVersions[0] === '') {
      throw new ArmError(400, 'MissingApiVersionParameter', "The api-version query parameter (?api-version=) is required for all requests.", 'api-version');
    }
    const apiVersion = apiVersions[0] ?? '';
    if (!(SUPPORTED_API_VERSIONS as readonly string[]).includes(apiVersion)) {
      throw new ArmError(
        400,
        'InvalidApiVersionParameter',
        `The api-version '${apiVersion}' is invalid. The supported versions are '${SUPPORTED_API_VERSIONS.join(',')}'.`,
        'api-version',
      );
    }

    const { params } = routed;
    const sub = params.subscriptionId ?? '';
    const rg = params.resourceGroup ?? '';
    const name = params.jobName ?? '';
    switch (routed.operation) {
      case 'Operations_List':
        return { status: 200, body: { value: OPERATIONS_LIST } };
      case 'Locations_List':
        return { status: 200, body: { value: this.locations.all().map((s) => this.locations.render(s, this.store.locationOverrides)) } };
      case 'Locations_Get': {
        const site = this.locations.find(params.locationName ?? '');
        if (!site) throw new ArmError(404, 'ResourceNotFound', `The location '${params.locationName ?? ''}' was not found among Import/Export locations.`);
        return { status: 200, body: this.locations.render(site, this.store.locationOverrides) };
      }
      case 'Jobs_ListBySubscription':
      case 'Jobs_ListByResourceGroup': {
        const top = this.parseTop(url);
        const skip = this.parseSkipToken(url);
        const filter = url.searchParams.get('$filter') ?? undefined;
        const all = this.jobs.list(sub, routed.operation === 'Jobs_ListByResourceGroup' ? rg : undefined, filter);
        const page = all.slice(skip, skip + top);
        const body: { value: unknown[]; nextLink?: string } = { value: page.map((j) => this.jobs.render(j)) };
        if (skip + top < all.length) {
          const origin = `${(req.socket as TLSSocket).encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`;
          const q = [`api-version=${encodeURIComponent(apiVersion)}`, `$top=${top}`];
          if (filter !== undefined) q.push(`$filter=${encodeURIComponent(filter)}`);
          q.push(`$skiptoken=${Buffer.from(JSON.stringify({ o: skip + top })).toString('base64url')}`);
          body.nextLink = `${origin}${url.pathname}?${q.join('&')}`;
        }
        return { status: 200, body };
      }
      case 'Jobs_Get':
        return { status: 200, body: this.jobs.render(this.jobs.mustFind(sub, rg, name)) };
      case 'Jobs_Create': {
        const raw = parseJson(await readBody(req), true);
        const { status, job } = this.jobs.create(sub, rg, name, raw, caller);
        return { status, body: this.jobs.render(job) };
      }
      case 'Jobs_Update': {
        const raw = parseJson(await readBody(req), true);
        return { status: 200, body: this.jobs.render(this.jobs.update(sub, rg, name, raw, caller)) };
      }
      case 'Jobs_Delete':
        this.jobs.delete(sub, rg, name);
        return { status: 200 };
      case 'BitLockerKeys_List':
        await readBody(req); // sent without a body; anything sent is ignored
        return { status: 200, body: { value: this.jobs.listBitLockerKeys(sub, rg, name) } };
    }
  }

  private parseTop(url: URL): number {
    const raw = url.searchParams.get('$top');
    if (raw === null) return PAGE_SIZE_MAX;
    if (!/^\d+$/.test(raw)) throw ArmError.field('$top', `must be an integer between 1 and ${PAGE_SIZE_MAX} (got '${raw}')`);
    const n = Number(raw);
    if (n < 1 || n > PAGE_SIZE_MAX) throw ArmError.field('$top', `must be between 1 and ${PAGE_SIZE_MAX}; it cannot exceed ${PAGE_SIZE_MAX} (got ${n})`);
    return n;
  }

  private parseSkipToken(url: URL): number {
    const raw = url.searchParams.get('$skiptoken');
    if (raw === null) return 0;
    try {
      const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { o?: unknown };
      if (typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0) return v.o;
    } catch {
      // fall through
    }
    throw ArmError.field('$skiptoken', 'is invalid');
  }

  // ---------------------------------------------------------------- control API

  private async handleControl(req: IncomingMessage, res: ServerResponse, method: string, url: URL, done: (s: number) => void): Promise<void> {
    let reply: Reply;
    try {
      this.store.expire();
      reply = await this.executeControl(req, method, url);
    } catch (e) {
      if (e instanceof ArmError) reply = { status: e.status, body: e.body() };
      else throw e;
    }
    this.send(res, reply, { 'Cache-Control': 'no-cache' });
    done(reply.status);
  }

  private async controlBody<T>(req: IncomingMessage, schema: z.ZodType<T>): Promise<T> {
    const raw = parseJson(await readBody(req), false) ?? {};
    const parsed = parseBody(schema, raw);
    if (!parsed.ok) throw ArmError.validation(parsed.issues, 'InvalidControlRequest');
    return parsed.value;
  }

  private async executeControl(req: IncomingMessage, method: string, url: URL): Promise<Reply> {
    const s = splitPath(url.pathname)?.slice(1) ?? [];
    const route = `${method} ${s.map((x, i) => (i === 0 ? x : '*')).join('/')}`;
    const allowed = (ok: boolean) => {
      if (!ok) throw new ArmError(405, 'MethodNotAllowed', `${method} is not supported on ${url.pathname}`);
    };
    switch (s[0]) {
      case 'health':
        return { status: 200, body: { ok: true } };
      case 'jobs': {
        allowed(method === 'POST');
        if (s.length !== 5 || s[4] !== 'advance') break;
        const body = await this.controlBody(req, AdvanceBodySchema);
        const job = this.jobs.advance(s[1] ?? '', s[2] ?? '', s[3] ?? '', body);
        return { status: 200, body: this.jobs.render(job) };
      }
      case 'locations': {
        allowed(method === 'POST');
        if (s.length !== 3) break;
        const site = this.locations.find(s[1] ?? '');
        if (!site) throw new ArmError(404, 'ResourceNotFound', `Unknown location '${s[1] ?? ''}'.`);
        if (s[2] === 'close') {
          const body = await this.controlBody(req, z.object({ alternates: z.array(z.string()).min(1) }).strict());
          const alts: string[] = [];
          for (const [i, a] of body.alternates.entries()) {
            const alt = this.locations.find(a);
            if (!alt) throw ArmError.field(`alternates[${i}]`, `unknown location '${a}'`, 'InvalidControlRequest');
            if (alt.shortName === site.shortName) throw ArmError.field(`alternates[${i}]`, 'a closed location cannot be its own alternate', 'InvalidControlRequest');
            alts.push(alt.shortName);
          }
          this.store.locationOverrides[site.shortName] = alts;
        } else if (s[2] === 'open') {
          this.store.locationOverrides[site.shortName] = [site.shortName];
        } else break;
        this.store.save();
        return { status: 200, body: this.locations.render(site, this.store.locationOverrides) };
      }
      case 'faults': {
        if (s.length !== 1) break;
        if (method === 'POST') {
          const spec = await this.controlBody(req, FaultSpecSchema);
          return { status: 200, body: { id: this.faults.add(spec).id } };
        }
        if (method === 'GET') return { status: 200, body: { faults: this.faults.list() } };
        if (method === 'DELETE') {
          this.faults.clear();
          return { status: 200, body: { cleared: true } };
        }
        allowed(false);
        break;
      }
      case 'clock': {
        if (s.length === 1 && method === 'GET') return { status: 200, body: { now: this.store.now().toISOString(), offsetSeconds: this.store.clockOffsetMs / 1000 } };
        if (s.length === 2 && s[1] === 'advance') {
          allowed(method === 'POST');
          const body = await this.controlBody(req, z.object({ seconds: z.number().min(0) }).strict());
          this.store.clockOffsetMs += Math.round(body.seconds * 1000);
          this.store.save();
          this.store.expire();
          return { status: 200, body: { now: this.store.now().toISOString(), offsetSeconds: this.store.clockOffsetMs / 1000 } };
        }
        break;
      }
      case 'requests': {
        if (s.length !== 1) break;
        if (method === 'GET') return { status: 200, body: { requests: this.requests.map((r) => ({ ...r })) } };
        if (method === 'DELETE') {
          this.requests.length = 0;
          return { status: 200, body: { cleared: true } };
        }
        allowed(false);
        break;
      }
      case 'reset': {
        allowed(method === 'POST');
        this.faults.clear();
        this.requests.length = 0;
        this.store.reset();
        return { status: 200, body: { reset: true } };
      }
      default:
        break;
    }
    throw new ArmError(404, 'NotFound', `Unknown emulator control route '${route}'.`);
  }
}

function urlFor(proto: string, host: string, port: number): string {
  const h = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `${proto}://${h}:${port}`;
}

function listen(server: http.Server | https.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function parseCancelWindow(states: string[]): JobState[] {
  return states.map((s) => {
    const st = JOB_STATES.find((x) => x.toLowerCase() === s.trim().toLowerCase());
    if (!st) throw new Error(`cancelWindow: unknown job state '${s}' (states: ${JOB_STATES.join(', ')})`);
    return st;
  });
}

/** Starts the emulator (HTTP, and HTTPS unless `httpsPort: null`). */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const dataDir = path.resolve(options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'ie-emulator-')));
  const locations = LocationCatalogue.load(options.locationsFile ?? DEFAULT_LOCATIONS_FILE);
  const cancelWindow = parseCancelWindow(options.cancelWindow ?? DEFAULT_CANCEL_WINDOW);
  const store = new Store(dataDir);
  const emulator = new Emulator(store, locations, cancelWindow, options.logger ?? (() => undefined));

  const servers: Array<http.Server | https.Server> = [];
  const httpServer = http.createServer(emulator.handle);
  servers.push(httpServer);
  let httpsUrl: string | undefined;
  let caCertPath: string | undefined;
  try {
    const httpPort = await listen(httpServer, options.httpPort ?? 0, host);
    const httpUrl = urlFor('http', host, httpPort);
    if (options.httpsPort !== null) {
      const cert = await ensureCertificate(dataDir, host);
      const httpsServer = https.createServer({ cert: cert.cert, key: cert.key }, emulator.handle);
      servers.push(httpsServer);
      const httpsPort = await listen(httpsServer, options.httpsPort ?? 0, host);
      httpsUrl = urlFor('https', host, httpsPort);
      caCertPath = cert.certPath;
    }
    let closed: Promise<void> | undefined;
    return {
      httpUrl,
      httpsUrl,
      caCertPath,
      dataDir,
      close() {
        closed ??= (async () => {
          for (const s of emulator.sleepers) {
            clearTimeout(s.timer);
            s.resolve();
          }
          await Promise.all(
            servers.map(
              (s) =>
                new Promise<void>((resolve) => {
                  s.close(() => resolve());
                  s.closeAllConnections();
                }),
            ),
          );
          emulator.store.flush();
        })();
        return closed;
      },
    };
  } catch (e) {
    for (const s of servers) s.close();
    throw e;
  }
}
