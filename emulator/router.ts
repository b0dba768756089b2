import { METHODS, type IncomingMessage } from 'node:http';
import Router from 'find-my-way';
import type { ArmError } from './errors';
import type { Caller, Reply } from './http';

export type ApiName = 'importexport' | 'databox';

/** One Azure request after transport checks: what a handler of an ARM operation sees. */
export interface AzureRequest {
  req: IncomingMessage;
  method: string;
  params: Record<string, string>;
  query: URLSearchParams;
  apiVersion: string;
  caller: Caller;
  /** `https://host:port` as the client addressed the emulator (for nextLink/Location URLs). */
  origin: string;
  pathname: string;
  /** The JSON body; `required` makes an empty body a 400. */
  json(required: boolean): Promise<unknown>;
  /** The body as bytes (read once; also what `json` reads). */
  raw(): Promise<Buffer>;
}

export interface AzureRoute {
  operation: string;
  method: string;
  /** find-my-way syntax (`:param`); matched case-insensitively. */
  path: string;
  handler(r: AzureRequest): Promise<Reply> | Reply;
}

/** The job an ARM job path names: `/subscriptions/{sub}/resourceGroups/{rg}/providers/…/jobs/{name}`. */
export interface JobAddress {
  sub: string;
  rg: string;
  name: string;
}

/** A route on one job's path: the handler gets the job's address from the path. */
export function jobRoute(operation: string, method: string, path: string, handler: (job: JobAddress, r: AzureRequest) => Promise<Reply> | Reply): AzureRoute {
  return {
    operation,
    method,
    path,
    handler: (r) => handler({ sub: r.params.subscriptionId ?? '', rg: r.params.resourceGroup ?? '', name: r.params.jobName ?? '' }, r),
  };
}

/** Both providers' POST action that reads a job's keys: sent without a body (anything sent is ignored), answered `{ value }`. */
export function listKeysRoute(operation: string, path: string, list: (job: JobAddress) => unknown[]): AzureRoute {
  return jobRoute(operation, 'POST', path, async (job, r) => {
    await r.raw();
    return { status: 200, body: { value: list(job) } };
  });
}

/** One ARM resource provider the emulator serves. */
export interface AzureApi {
  name: ApiName;
  namespace: string;
  apiVersions: readonly string[];
  routes: AzureRoute[];
  /** How this provider renders an error (default: ArmError.body()). */
  errorBody?(e: ArmError): unknown;
}

export interface ControlRequest {
  req: IncomingMessage;
  params: Record<string, string>;
  query: URLSearchParams;
  json(): Promise<unknown>;
}

export interface ControlRoute {
  method: string;
  path: string;
  handler(r: ControlRequest): Promise<Reply> | Reply;
}

export type Match<R> = { kind: 'route'; route: R; params: Record<string, string> } | { kind: 'method-not-allowed' } | { kind: 'not-found' };

/**
 * Routes on find-my-way, case-insensitively like ARM, with duplicate and trailing slashes ignored. Every path is also
 * registered for all other methods, so a known path with the wrong method is told apart from an unknown path.
 */
export class RouteTable<R extends { method: string; path: string }> {
  private readonly router = Router({ caseSensitive: false, ignoreTrailingSlash: true, ignoreDuplicateSlashes: true, maxParamLength: 500 });
  private readonly routes: R[] = [];

  constructor(routes: R[]) {
    const methodsByPath = new Map<string, Set<string>>();
    for (const r of routes) {
      const index = this.routes.push(r) - 1;
      this.router.on(r.method as Router.HTTPMethod, r.path, () => undefined, { index });
      const set = methodsByPath.get(r.path) ?? new Set<string>();
      set.add(r.method);
      methodsByPath.set(r.path, set);
    }
    for (const [p, used] of methodsByPath) {
      for (const m of METHODS) if (!used.has(m)) this.router.on(m as Router.HTTPMethod, p, () => undefined, { index: -1 });
    }
  }

  match(method: string, pathname: string): Match<R> {
    let found: ReturnType<typeof this.router.find> = null;
    try {
      found = this.router.find(method as Router.HTTPMethod, pathname);
    } catch {
      found = null;
    }
    if (!found) return { kind: 'not-found' };
    const index = (found.store as { index: number }).index;
    const route = this.routes[index];
    if (index < 0 || !route) return { kind: 'method-not-allowed' };
    const params: Record<string, string> = {};
    for (const [k, v] of Object.entries(found.params)) if (typeof v === 'string') params[k] = v;
    return { kind: 'route', route, params };
  }
}

