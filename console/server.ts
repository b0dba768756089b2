/**
 * The shipping console (issue 7): a small fastify server with server-rendered pages that talks to Temporal through a
 * Client. Every route declares who may use it and a single preHandler enforces it: sign-in (session cookie), CSRF
 * token on every POST, then the role. Nothing secret is rendered: pages show the workflow's status query (no keys,
 * no secret refs) and, on the packing slip, only the return address from the start input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import { parse as parseYaml } from 'yaml';
import { JobSpecSchema, describeIssues } from '../common/job-spec';
import { redactSecrets } from '../security/redact';
import { parseUsers, type ConsoleUser, type Role } from './config';
import { JobsApi, WORKFLOW_ID_PATTERN, mapLimited, searchQuery } from './jobs';
import { dummyPasswordHash, verifyPassword } from './passwords';
import { SessionStore, randomToken, tokensEqual, type Session } from './sessions';
import {
  SHIP_FIELDS,
  cancelPage,
  errorPage,
  jobDetailPage,
  jobsPage,
  loginPage,
  mapShipProblems,
  packingSlipPage,
  shippedPage,
  shippingPage,
  startPage,
  type ShipFormState,
} from './views';

export const DEFAULT_SESSION_TTL_MS = 8 * 3600_000;
export const SESSION_COOKIE = 'console_session';
export const LOGIN_COOKIE = 'console_login';
const LOGIN_COOKIE_TTL_S = 30 * 60;
/** Steps in which a clerk may open a job's packing slip (waiting for shipment or just shipped). */
const CLERK_SLIP_STEPS = new Set(['awaiting-shipping', 'updating', 'tracking']);

/** Who may use a route: anyone, any signed-in user (clerk or operator), or operators only. */
type Access = 'public' | 'clerk' | 'operator';
declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface StartConsoleOptions {
  client: Client;
  taskQueue: string;
  users: ConsoleUser[];
  port?: number;
  host?: string;
  sessionTtlMs?: number;
  /** Adds `Secure` to cookies; set it when the console is served over HTTPS. */
  secureCookies?: boolean;
  /** Clock for sessions (tests). */
  now?: () => number;
  logger?: boolean;
}

export interface RunningConsole {
  url: string;
  close(): Promise<void>;
}

const ROLE_RANK: Record<Role, number> = { clerk: 1, operator: 2 };

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!header) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (name && !(name in out)) {
      try {
        out[name] = decodeURIComponent(value);
      } catch {
        out[name] = value;
      }
    }
  }
  return out;
}

type Form = Record<string, string>;

function formOf(req: FastifyRequest): Form {
  const b = req.body;
  return b && typeof b === 'object' ? (b as Form) : {};
}

/** A relative path to go back to after sign-in (never another origin). */
function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])[A-Za-z0-9/_?=&.%-]*$/.test(next) && !next.startsWith('/login') ? next : '/';
}

export async function startConsole(opts: StartConsoleOptions): Promise<RunningConsole> {
  const users = new Map(parseUsers({ users: opts.users }).map((u) => [u.username, u]));
  const ttl = opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const sessions = new SessionStore(ttl, opts.now);
  const jobs = new JobsApi(opts.client, opts.taskQueue);
  const secure = opts.secureCookies ? '; Secure' : '';
  // Next to this file under tsx; from dist/console (tsc does not copy assets), the source folder.
  const staticDir = [path.join(__dirname, 'static'), path.resolve(__dirname, '..', '..', 'console', 'static')].find((d) => fs.existsSync(d)) ?? path.join(__dirname, 'static');
  const css = fs.readFileSync(path.join(staticDir, 'console.css'));
  const printJs = fs.readFileSync(path.join(staticDir, 'print.js'));
  const requestSession = new WeakMap<FastifyRequest, Session>();

  const app: FastifyInstance = Fastify({ logger: opts.logger ?? false, bodyLimit: 512 * 1024, trustProxy: false });

  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const form: Form = Object.create(null) as Form;
    for (const [k, v] of new URLSearchParams(body as string)) if (!(k in form)) form[k] = v;
    done(null, form);
  });

  const sessionCookie = (id: string, maxAgeS: number): string =>
    `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeS}${secure}`;

  const sendPage = (reply: FastifyReply, status: number, page: string): FastifyReply =>
    reply.code(status).header('content-type', 'text/html; charset=utf-8').send(page);

  const sendError = (reply: FastifyReply, status: number, title: string, message: string, session?: Session): FastifyReply =>
    sendPage(reply, status, errorPage({ session, status, title, message }));

  app.addHook('onRequest', async (_req, reply) => {
    reply.header('content-security-policy', "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    reply.header('x-frame-options', 'DENY');
    reply.header('x-content-type-options', 'nosniff');
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts, which the origin check refuses.
    reply.header('referrer-policy', 'same-origin');
    reply.header('cache-control', 'no-store');
  });

  /** The single gate: every route declares its access; sign-in, CSRF (POST) and role are checked here. */
  app.addHook('preHandler', async (req, reply) => {
    const access = req.routeOptions.config?.access;
    if (access === undefined) {
      // Unknown routes (404s) and anything that forgot to declare access.
      if (req.routeOptions.url === undefined) return;
      return sendError(reply, 403, 'Forbidden', 'This page has no access rule.');
    }
    if (access === 'public') return;
    const cookies = parseCookies(req.headers.cookie);
    const found = sessions.get(cookies[SESSION_COOKIE]);
    if (found === undefined || found === 'expired') {
      if (req.method === 'GET') {
        const next = encodeURIComponent(req.url);
        return reply.redirect(`/login?next=${next}${found === 'expired' ? '&expired=1' : ''}`, 303);
      }
      return sendError(reply, 401, found === 'expired' ? 'Session expired' : 'Not signed in', 'Sign in again and repeat the action.');
    }
    const session = found;
    requestSession.set(req, session);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) {
        return sendError(reply, 403, 'Forbidden', 'Cross-site request refused.', session);
      }
      if (!tokensEqual(formOf(req)._csrf, session.csrfToken)) {
        return sendError(reply, 403, 'Forbidden', 'The form has expired or did not come from this console. Reload the page and try again.', session);
      }
    }
    if (ROLE_RANK[session.role] < ROLE_RANK[access]) {
      return sendError(reply, 403, 'Forbidden', `This needs the ${access} role; you are signed in as ${session.role}.`, session);
    }
  });

  const sessionOf = (req: FastifyRequest): Session => {
    const s = requestSession.get(req);
    if (!s) throw new Error('route without a session');
    return s;
  };

  /** The workflow id from the URL, or a 404 (only import-job workflows are reachable through the console). */
  const workflowIdOf = (req: FastifyRequest, reply: FastifyReply): string | undefined => {
    const id = (req.params as { id?: string }).id ?? '';
    if (WORKFLOW_ID_PATTERN.test(id)) return id;
    void sendError(reply, 404, 'Not found', 'There is no such import job.', requestSession.get(req));
    return undefined;
  };

  // ---------- static ----------
  app.get('/static/console.css', { config: { access: 'public' } }, async (_req, reply) =>
    reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300').send(css),
  );
  app.get('/static/print.js', { config: { access: 'public' } }, async (_req, reply) =>
    reply.header('content-type', 'text/javascript; charset=utf-8').header('cache-control', 'public, max-age=300').send(printJs),
  );
  app.get('/healthz', { config: { access: 'public' } }, async (_req, reply) => reply.header('content-type', 'text/plain').send('ok'));

  // ---------- sign-in ----------
  const renderLogin = (reply: FastifyReply, status: number, o: { error?: string; username?: string; next?: string; info?: string }): FastifyReply => {
    // Login CSRF: double-submit token (cookie + hidden field), since there is no session yet.
    const token = randomToken();
    reply.header('set-cookie', `${LOGIN_COOKIE}=${token}; Path=/login; HttpOnly; SameSite=Strict; Max-Age=${LOGIN_COOKIE_TTL_S}${secure}`);
    return sendPage(reply, status, loginPage({ csrf: token, ...o }));
  };

  app.get('/login', { config: { access: 'public' } }, async (req, reply) => {
    const q = req.query as { next?: string; expired?: string };
    const current = sessions.get(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    if (current && current !== 'expired') return reply.redirect(safeNext(q.next), 303);
    return renderLogin(reply, 200, { next: safeNext(q.next), info: q.expired ? 'Your session expired. Please sign in again.' : undefined });
  });

  app.post('/login', { config: { access: 'public' } }, async (req, reply) => {
    const form = formOf(req);
    const cookies = parseCookies(req.headers.cookie);
    const next = safeNext(form.next);
    if (!tokensEqual(form._csrf, cookies[LOGIN_COOKIE])) {
      return renderLogin(reply, 403, { error: 'The sign-in form expired. Please try again.', username: form.username, next });
    }
    const username = (form.username ?? '').trim();
    const user = users.get(username);
    const ok = await verifyPassword(form.password ?? '', user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !ok) return renderLogin(reply, 401, { error: 'Wrong user name or password.', username, next });
    const session = sessions.create(user);
    reply.header('set-cookie', [sessionCookie(session.id, Math.floor(ttl / 1000)), `${LOGIN_COOKIE}=; Path=/login; HttpOnly; SameSite=Strict; Max-Age=0${secure}`]);
    return reply.redirect(next, 303);
  });

  app.post('/logout', { config: { access: 'clerk' } }, async (req, reply) => {
    sessions.delete(sessionOf(req).id);
    reply.header('set-cookie', sessionCookie('', 0));
    return reply.redirect('/login', 303);
  });

  app.get('/', { config: { access: 'clerk' } }, async (req, reply) => reply.redirect(sessionOf(req).role === 'operator' ? '/jobs' : '/shipping', 303));

  // ---------- clerk: shipping ----------
  app.get('/shipping', { config: { access: 'clerk' } }, async (req, reply) => {
    const waiting = await jobs.awaitingShipment();
    return sendPage(reply, 200, shippingPage({ session: sessionOf(req), jobs: waiting }));
  });

  app.post('/jobs/:id/ship', { config: { access: 'clerk' } }, async (req, reply) => {
    const session = sessionOf(req);
    const workflowId = workflowIdOf(req, reply);
    if (!workflowId) return reply;
    const form = formOf(req);
    const values: ShipFormState['values'] = {};
    for (const f of SHIP_FIELDS) values[f] = (form[f] ?? '').trim().slice(0, 200);
    const count = values.driveCount ?? '';
    const result = await jobs.ship(workflowId, {
      carrierName: values.carrierName ?? '',
      trackingNumber: values.trackingNumber ?? '',
      // A non-number is passed through so the workflow's own validation names the field.
      driveCount: (/^\d{1,3}$/.test(count) ? Number(count) : count) as number,
      shipDate: values.shipDate ?? '',
      submittedBy: session.username,
    });
    if (result.ok) {
      const jobName = workflowId.replace(/^import-job-/, '');
      return sendPage(reply, 200, shippedPage({ session, jobName, workflowId, receipt: result.receipt }));
    }
    const mapped = mapShipProblems(result.problems);
    const waiting = await jobs.awaitingShipment();
    const shown = waiting.some((j) => j.row.workflowId === workflowId);
    const forms = new Map<string, ShipFormState>([[workflowId, { values, ...mapped }]]);
    const jobName = workflowId.replace(/^import-job-/, '');
    const notice = shown
      ? { kind: 'error' as const, text: `The shipment for ${jobName} was not recorded: correct the marked fields.` }
      : { kind: 'error' as const, text: `The shipment for ${jobName} was not recorded: ${result.problems.join('; ')}` };
    return sendPage(reply, 422, shippingPage({ session, jobs: waiting, forms, notice }));
  });

  app.get('/jobs/:id/slip', { config: { access: 'clerk' } }, async (req, reply) => {
    const session = sessionOf(req);
    const workflowId = workflowIdOf(req, reply);
    if (!workflowId) return reply;
    const status = await jobs.status(workflowId);
    if (!status) return sendError(reply, 404, 'Not found', 'The job was not found or its status is not available right now.', session);
    if (session.role === 'clerk' && !CLERK_SLIP_STEPS.has(status.step)) {
      return sendError(reply, 403, 'Forbidden', 'Clerks can print packing slips only for jobs awaiting or in shipment.', session);
    }
    const returnAddress = await jobs.returnAddress(workflowId);
    return sendPage(reply, 200, packingSlipPage({ session, workflowId, status, returnAddress }));
  });

  // ---------- operator ----------
  app.get('/jobs', { config: { access: 'operator' } }, async (req, reply) => {
    const session = sessionOf(req);
    const q = ((req.query as { q?: string }).q ?? '').slice(0, 200);
    const sq = searchQuery(q, opts.taskQueue);
    if ('error' in sq) return sendPage(reply, 400, jobsPage({ session, q, searchError: sq.error, jobs: [] }));
    const rows = await jobs.list(sq.query, 100);
    const enriched = await mapLimited(rows, 8, async (row) => {
      if (row.executionStatus !== 'RUNNING') return { row };
      const status = await jobs.status(row.workflowId);
      const prep = status?.step === 'preparing' ? await jobs.prepareProgress(row.workflowId) : undefined;
      return { row, status, prep };
    });
    return sendPage(reply, 200, jobsPage({ session, q, jobs: enriched }));
  });

  app.get('/jobs/:id', { config: { access: 'operator' } }, async (req, reply) => {
    const session = sessionOf(req);
    const workflowId = workflowIdOf(req, reply);
    if (!workflowId) return reply;
    const row = await jobs.describe(workflowId);
    if (!row) return sendError(reply, 404, 'Not found', 'There is no such import job.', session);
    const status = await jobs.status(workflowId);
    const prep = status?.step === 'preparing' ? await jobs.prepareProgress(workflowId) : undefined;
    const started = (req.query as { started?: string }).started;
    return sendPage(reply, 200, jobDetailPage({ session, row, status, prep, notice: started ? { kind: 'ok', text: 'Job started.' } : undefined }));
  });

  app.get('/jobs/:id/cancel', { config: { access: 'operator' } }, async (req, reply) => {
    const session = sessionOf(req);
    const workflowId = workflowIdOf(req, reply);
    if (!workflowId) return reply;
    const row = await jobs.describe(workflowId);
    if (!row) return sendError(reply, 404, 'Not found', 'There is no such import job.', session);
    return sendPage(reply, 200, cancelPage({ session, row, status: await jobs.status(workflowId) }));
  });

  app.post('/jobs/:id/cancel', { config: { access: 'operator' } }, async (req, reply) => {
    const session = sessionOf(req);
    const workflowId = workflowIdOf(req, reply);
    if (!workflowId) return reply;
    const row = await jobs.describe(workflowId);
    if (!row) return sendError(reply, 404, 'Not found', 'There is no such import job.', session);
    const form = formOf(req);
    const reason = (form.reason ?? '').trim().slice(0, 500);
    if (form.confirm !== 'yes' || !reason) {
      return sendPage(reply, 422, cancelPage({ session, row, reason, error: 'Give a reason and confirm the cancellation.' }));
    }
    const result = await jobs.cancel(workflowId, reason, session.username);
    if (!result.ok) return sendPage(reply, 409, cancelPage({ session, row, reason, status: await jobs.status(workflowId), error: result.message }));
    return sendPage(reply, 200, cancelPage({ session, row, result: result.result }));
  });

  app.get('/start', { config: { access: 'operator' } }, async (req, reply) => sendPage(reply, 200, startPage({ session: sessionOf(req) })));

  app.post('/start', { config: { access: 'operator' } }, async (req, reply) => {
    const session = sessionOf(req);
    const text = formOf(req).spec ?? '';
    let value: unknown;
    try {
      value = parseYaml(text, { prettyErrors: true, maxAliasCount: 50 });
    } catch (err) {
      return sendPage(reply, 422, startPage({ session, text, problems: [`(spec): not valid JSON or YAML: ${err instanceof Error ? err.message : String(err)}`] }));
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return sendPage(reply, 422, startPage({ session, text, problems: ['(root): the spec must be a JSON object or a YAML mapping'] }));
    }
    const parsed = JobSpecSchema.safeParse(value);
    if (!parsed.success) return sendPage(reply, 422, startPage({ session, text, problems: describeIssues(parsed.error) }));
    const started = await jobs.start(parsed.data, session.username);
    if (!started.ok) return sendPage(reply, 409, startPage({ session, text, problems: [started.message] }));
    return reply.redirect(`/jobs/${started.workflowId}?started=1`, 303);
  });

  app.setNotFoundHandler(async (req, reply) => {
    const s = sessions.get(parseCookies(req.headers.cookie)[SESSION_COOKIE]);
    return sendError(reply, 404, 'Not found', 'There is no such page.', s && s !== 'expired' ? s : undefined);
  });

  app.setErrorHandler(async (err, req, reply) => {
    const details = `${err instanceof Error ? err.message : ''} ${String((err as { cause?: { details?: unknown } }).cause?.details ?? '')}`;
    if (/is not a valid search attribute|unknown search attribute/i.test(details)) {
      return sendError(
        reply,
        503,
        'Search attributes missing',
        'Temporal does not know the import-job search attributes (ImportJobStep, ImportTrackingNumber, …). Start the worker once (it registers them unless REGISTER_SEARCH_ATTRIBUTES=false), then reload.',
        requestSession.get(req),
      );
    }
    const status = typeof (err as { statusCode?: number }).statusCode === 'number' ? (err as { statusCode: number }).statusCode : 500;
    if (status >= 500) console.error(`[console] ${req.method} ${req.url}: ${redactSecrets(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    const message = status >= 500 ? 'Something went wrong talking to Temporal. Try again in a moment.' : 'The request could not be processed.';
    return sendError(reply, status, status >= 500 ? 'Error' : 'Bad request', message, requestSession.get(req));
  });

  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? 8080, host });
  const addr = app.server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${urlHost}:${addr.port}`,
    async close() {
      sessions.close();
      await app.close();
    },
  };
}
