/**
 * The shipping console: a fastify server with server-rendered pages that talks to Temporal through a Client.
 * Plumbing comes from fastify's plugins (helmet, formbody, rate-limit, static, cookie, session, csrf-protection,
 * multipart; see web/). Every route declares who may use it and one gate enforces it: sign-in (session), the CSRF
 * token and same-origin check on every POST, then the role. Nothing secret is rendered: pages show the workflow's
 * status query (no keys, no secret refs) and, on the packing slip, only the return address from the start input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import fastifyCsrfProtection from '@fastify/csrf-protection';
import fastifyMultipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Client } from '@temporalio/client';
import type { SecretTarget } from '../client/spec-file';
import { jobNameFromWorkflowId } from '../common/ids';
import { registerWebBasics, secureCookiesFor, webServerOptions, type BrowserServerOptions, type RunningWebServer } from '../web/basics';
import { LoginThrottle } from '../web/login-throttle';
import { registerSessions } from '../web/sessions';
import { parseUsers, type ConsoleUser, type Role } from './config';
import { mapLimited } from '../client/job-service';
import { JobsApi, WORKFLOW_ID_PATTERN, searchTerm } from './jobs';
import { field, formOf, type Form } from './forms';
import { isSameOrigin, registerSignIn, safeNext, signedInUser, type SignedInUser } from './sign-in';
import { SPEC_TEMPLATE, checkStartForm, type StartForm } from './start-form';
import { cancelPage, jobDetailPage, jobsPage } from './job-views';
import { packingSlipQrSvg } from './qr';
import { SHIP_FIELDS, packingSlipPage, shipProblemsByField, shippedPage, shippingPage, type ShipFormState } from './shipping-views';
import { startPage } from './start-views';
import { errorPage, loginPage, type Viewer } from './views';

export const DEFAULT_SESSION_TTL_MS = 8 * 3600_000;
export const SESSION_COOKIE = 'console_session';
/** Steps in which a clerk may open a job's packing slip (waiting for shipment or just shipped). */
const CLERK_SLIP_STEPS = new Set(['awaiting-shipping', 'updating', 'tracking']);
const CSP = {
  defaultSrc: ["'none'"],
  styleSrc: ["'self'"],
  scriptSrc: ["'self'"],
  imgSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
};

/** Who may use a route: anyone, any signed-in user (clerk or operator), or operators only. */
type Access = 'public' | 'clerk' | 'operator';
declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface Session {
    user?: SignedInUser;
    /** Absolute end of the session (the console's clock), whatever the cookie says. */
    expiresAt?: number;
  }
}

export interface StartConsoleOptions extends BrowserServerOptions {
  client: Client;
  taskQueue: string;
  users: ConsoleUser[];
  /** Where BitLocker keys from started specs go (the worker's secret store); without it the console starts no job. */
  secrets?: SecretTarget;
  /** Where unexpected errors are reported (redacted). Default: stderr. */
  log?: (line: string) => void;
}

const ROLE_RANK: Record<Role, number> = { clerk: 1, operator: 2 };


function staticDirectory(): string {
  // Next to this file under tsx; from dist/console (tsc does not copy assets), the source folder.
  const candidates = [path.join(__dirname, 'static'), path.resolve(__dirname, '..', '..', 'console', 'static')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'console.css'))) ?? candidates[0]!;
}

const isCsrfError = (err: unknown): boolean => /^FST_CSRF_/.test(String((err as { code?: unknown } | null)?.code ?? ''));

export type RunningConsole = RunningWebServer;

export async function startConsole(opts: StartConsoleOptions): Promise<RunningConsole> {
  const users = new Map(parseUsers({ users: opts.users }).map((u) => [u.username, u]));
  const ttl = opts.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS;
  const now = opts.now ?? Date.now;
  const secure = secureCookiesFor(opts.publicUrl);
  const publicOrigin = opts.publicUrl ? new URL(opts.publicUrl).origin : undefined;
  const log = opts.log ?? ((line: string) => console.error(`[console] ${line}`));
  const jobs = new JobsApi(opts.client, opts.taskQueue, opts.secrets?.store);
  const throttle = new LoginThrottle({ now });
  const viewers = new WeakMap<FastifyRequest, Viewer>();

  const app: FastifyInstance = Fastify(webServerOptions(8 * 1024 * 1024, opts.publicUrl));

  const sendPage = (reply: FastifyReply, status: number, page: string): FastifyReply =>
    reply.code(status).type('text/html; charset=utf-8').send(page);
  const sendError = (reply: FastifyReply, status: number, title: string, message: string, viewer?: Viewer): FastifyReply =>
    sendPage(reply, status, errorPage({ viewer, status, title, message }));

  const renderLogin = (reply: FastifyReply, status: number, o: { error?: string; username?: string; next?: string; info?: string }): FastifyReply =>
    sendPage(reply, status, loginPage({ csrf: reply.generateCsrf(), ...o }));

  await registerWebBasics(app, {
    contentSecurityPolicy: CSP,
    log,
    sendError: (req, reply, status, message, err) => {
      const viewer = viewers.get(req);
      if (isCsrfError(err)) {
        if (req.routeOptions.url === '/login') {
          return renderLogin(reply, 403, { error: 'The sign-in form expired. Please try again.', username: field(formOf(req), 'username'), next: safeNext(field(formOf(req), 'next')) });
        }
        return sendError(reply, 403, 'Forbidden', 'The form has expired or did not come from this console. Reload the page and try again.', viewer);
      }
      if (/is not a valid search attribute|unknown search attribute/i.test(`${String((err as Error | undefined)?.message)} ${String((err as { cause?: { details?: unknown } } | undefined)?.cause?.details ?? '')}`)) {
        return sendError(
          reply,
          503,
          'Search attributes missing',
          'Temporal does not know the import-job search attributes (ImportJobStep, ImportTrackingNumber, …). Start the worker once (it registers them unless REGISTER_SEARCH_ATTRIBUTES=false), then reload.',
          viewer,
        );
      }
      const title = status === 429 ? 'Too many requests' : status >= 500 ? 'Error' : status === 404 ? 'Not found' : 'Bad request';
      return sendError(reply, status, title, status >= 500 ? 'Something went wrong talking to Temporal. Try again in a moment.' : message, viewer);
    },
  });
  await app.register(fastifyStatic, { root: staticDirectory(), prefix: '/static/', maxAge: 300_000, cacheControl: true, index: false, list: false });
  await registerSessions(app, { cookieName: SESSION_COOKIE, ttlMs: ttl, secure });
  await app.register(fastifyMultipart, { attachFieldsToBody: 'keyValues', limits: { fileSize: 4 * 1024 * 1024, files: 2, fields: 10, fieldSize: 1024 * 1024, parts: 14 } });

  app.get('/healthz', async (_req, reply) => reply.type('text/plain').send('ok'));
  app.get('/favicon.ico', async (_req, reply) => reply.header('cache-control', 'public, max-age=86400').sendFile('favicon.ico'));

  const signedIn = (req: FastifyRequest): Promise<SignedInUser | 'expired' | undefined> => signedInUser(req, now);
  const sameOrigin = (req: FastifyRequest): boolean => isSameOrigin(req, publicOrigin);
  await app.register(async (login) =>
    registerSignIn(login, { users, throttle, ttl, now, secure, sameOrigin, renderLogin: (reply, status, o) => renderLogin(reply, status, o) }),
  );

  // ---------- everything behind sign-in ----------
  await app.register(async (site) => {
    await site.register(fastifyCsrfProtection, { sessionPlugin: '@fastify/session' });

    /** The single gate: every route declares its access; sign-in, origin + CSRF (POST) and role are checked here. */
    site.addHook('preHandler', async (req, reply) => {
      const access = req.routeOptions.config?.access;
      if (access === undefined) return sendError(reply, 403, 'Forbidden', 'This page has no access rule.');
      if (access === 'public') return;
      const found = await signedIn(req);
      if (found === undefined || found === 'expired') {
        if (req.method === 'GET') return reply.redirect(`/login?next=${encodeURIComponent(req.url)}${found === 'expired' ? '&expired=1' : ''}`, 303);
        return sendError(reply, 401, found === 'expired' ? 'Session expired' : 'Not signed in', 'Sign in again and repeat the action.');
      }
      const viewer: Viewer = { ...found, csrfToken: reply.generateCsrf() };
      viewers.set(req, viewer);
      if (req.method !== 'GET' && req.method !== 'HEAD' && !sameOrigin(req)) return sendError(reply, 403, 'Forbidden', 'Cross-site request refused.', viewer);
    });
    site.addHook('preHandler', (req, reply, done) => {
      if (reply.sent || req.method === 'GET' || req.method === 'HEAD' || req.routeOptions.config?.access === 'public') return done();
      site.csrfProtection(req, reply, done);
    });
    site.addHook('preHandler', async (req, reply) => {
      const access = req.routeOptions.config?.access;
      const viewer = viewers.get(req);
      if (reply.sent || !viewer || access === undefined || access === 'public') return;
      if (ROLE_RANK[viewer.role] < ROLE_RANK[access]) {
        return sendError(reply, 403, 'Forbidden', `This needs the ${access} role; you are signed in as ${viewer.role}.`, viewer);
      }
    });

    const viewerOf = (req: FastifyRequest): Viewer => {
      const v = viewers.get(req);
      if (!v) throw new Error('route without a signed-in user');
      return v;
    };

    /** The workflow id from the URL, or a 404 (only import-job workflows are reachable through the console). */
    const workflowIdOf = (req: FastifyRequest, reply: FastifyReply): string | undefined => {
      const id = (req.params as { id?: string }).id ?? '';
      if (WORKFLOW_ID_PATTERN.test(id)) return id;
      sendError(reply, 404, 'Not found', 'There is no such import job.', viewers.get(req));
      return undefined;
    };
    const jobNameOf = (workflowId: string): string => jobNameFromWorkflowId(workflowId) ?? workflowId;
    /** A handler for one job's page: the viewer, and the job's id once it is known to be well-formed (404 when not). */
    const onJob =
      (handle: (req: FastifyRequest, reply: FastifyReply, viewer: Viewer, workflowId: string) => Promise<FastifyReply>) =>
      async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
        const viewer = viewerOf(req);
        const workflowId = workflowIdOf(req, reply);
        if (!workflowId) return reply;
        return handle(req, reply, viewer, workflowId);
      };

    site.post('/logout', { config: { access: 'clerk' } }, async (req, reply) => {
      await req.session.destroy();
      return reply.redirect('/login', 303);
    });

    site.get('/', { config: { access: 'clerk' } }, async (req, reply) => reply.redirect(viewerOf(req).role === 'operator' ? '/jobs' : '/shipping', 303));

    // ---------- clerk: shipping ----------
    site.get('/shipping', { config: { access: 'clerk' } }, async (req, reply) => {
      const waiting = await jobs.awaitingShipment();
      return sendPage(reply, 200, shippingPage({ viewer: viewerOf(req), jobs: waiting }));
    });

    site.post('/jobs/:id/ship', { config: { access: 'clerk' } }, onJob(async (req, reply, viewer, workflowId) => {
      const form = formOf(req);
      const values: ShipFormState['values'] = {};
      for (const f of SHIP_FIELDS) values[f] = field(form, f).trim().slice(0, 200);
      const count = values.driveCount ?? '';
      const result = await jobs.ship(workflowId, {
        carrierName: values.carrierName ?? '',
        trackingNumber: values.trackingNumber ?? '',
        // A non-number is passed through so the workflow's own validation names the field.
        driveCount: (/^\d{1,3}$/.test(count) ? Number(count) : count) as number,
        shipDate: values.shipDate ?? '',
        submittedBy: viewer.username,
      });
      const jobName = jobNameOf(workflowId);
      if (result.ok) return sendPage(reply, 200, shippedPage({ viewer, jobName, workflowId, receipt: result.receipt }));
      const waiting = await jobs.awaitingShipment();
      const shown = waiting.some((j) => j.row.workflowId === workflowId);
      const forms = new Map<string, ShipFormState>([[workflowId, { values, ...shipProblemsByField(result.problems) }]]);
      const notice = shown
        ? { kind: 'error' as const, text: `The shipment for ${jobName} was not recorded: correct the marked fields.` }
        : { kind: 'error' as const, text: `The shipment for ${jobName} was not recorded: ${result.problems.map((p) => p.message).join(' ')}` };
      return sendPage(reply, 422, shippingPage({ viewer, jobs: waiting, forms, notice }));
    }));

    site.get('/jobs/:id/slip', { config: { access: 'clerk' } }, onJob(async (req, reply, viewer, workflowId) => {
      const status = await jobs.status(workflowId);
      if (!status) return sendError(reply, 404, 'Not found', 'The job was not found or its status is not available right now.', viewer);
      if (viewer.role === 'clerk' && !CLERK_SLIP_STEPS.has(status.step)) {
        return sendError(reply, 403, 'Forbidden', 'Clerks can print packing slips only for jobs awaiting or in shipment.', viewer);
      }
      const returnAddress = await jobs.returnAddress(workflowId);
      const qr = await packingSlipQrSvg(status);
      return sendPage(reply, 200, packingSlipPage({ viewer, workflowId, status, returnAddress, qr }));
    }));

    // ---------- operator ----------
    site.get('/jobs', { config: { access: 'operator' } }, async (req, reply) => {
      const viewer = viewerOf(req);
      const q = ((req.query as { q?: string }).q ?? '').slice(0, 200);
      const sq = searchTerm(q);
      if ('error' in sq) return sendPage(reply, 400, jobsPage({ viewer, q, searchError: sq.error, jobs: [] }));
      const rows = await jobs.list(sq.term, 100);
      const enriched = await mapLimited(rows, 8, async (row) => {
        if (row.executionStatus !== 'RUNNING') return { row };
        const found = await jobs.describe(row.workflowId);
        return { row, status: found?.status, prep: found?.prep };
      });
      return sendPage(reply, 200, jobsPage({ viewer, q, jobs: enriched }));
    });

    site.get('/jobs/:id', { config: { access: 'operator' } }, onJob(async (req, reply, viewer, workflowId) => {
      const found = await jobs.describe(workflowId);
      if (!found) return sendError(reply, 404, 'Not found', 'There is no such import job.', viewer);
      const started = (req.query as { started?: string }).started;
      return sendPage(reply, 200, jobDetailPage({ viewer, ...found, notice: started ? { kind: 'ok', text: 'Job started.' } : undefined }));
    }));

    site.get('/jobs/:id/cancel', { config: { access: 'operator' } }, onJob(async (req, reply, viewer, workflowId) => {
      const found = await jobs.describe(workflowId);
      if (!found) return sendError(reply, 404, 'Not found', 'There is no such import job.', viewer);
      return sendPage(reply, 200, cancelPage({ viewer, row: found.row, status: found.status }));
    }));

    site.post('/jobs/:id/cancel', { config: { access: 'operator' } }, onJob(async (req, reply, viewer, workflowId) => {
      const found = await jobs.describe(workflowId);
      if (!found) return sendError(reply, 404, 'Not found', 'There is no such import job.', viewer);
      const row = found.row;
      const form = formOf(req);
      const reason = field(form, 'reason').trim().slice(0, 500);
      if (field(form, 'confirm') !== 'yes' || !reason) {
        return sendPage(reply, 422, cancelPage({ viewer, row, reason, error: 'Give a reason and confirm the cancellation.' }));
      }
      const result = await jobs.cancel(workflowId, reason, viewer.username);
      if (!result.ok) return sendPage(reply, 409, cancelPage({ viewer, row, reason, status: await jobs.status(workflowId), error: result.message }));
      return sendPage(reply, 200, cancelPage({ viewer, row, result: result.result }));
    }));

    site.get('/start', { config: { access: 'operator' } }, async (req, reply) => sendPage(reply, 200, startPage({ viewer: viewerOf(req) })));

    site.get('/start/template.yaml', { config: { access: 'operator' } }, async (_req, reply) =>
      reply.type('application/yaml; charset=utf-8').header('content-disposition', 'attachment; filename="import-job.yaml"').send(SPEC_TEMPLATE),
    );

    site.post('/start', { config: { access: 'operator' } }, async (req, reply) => {
      const viewer = viewerOf(req);
      const form: StartForm = {
        spec: field(formOf(req), 'spec'),
        datasetCsv: fileField(formOf(req), 'datasetCsvFile'),
        drivesetCsv: fileField(formOf(req), 'drivesetCsvFile'),
        validateOnly: field(formOf(req), 'action') === 'validate',
      };
      const checked = await checkStartForm(form, { jobs, secrets: opts.secrets, startedBy: viewer.username });
      if (!checked.ok) return sendPage(reply, checked.status, startPage({ viewer, text: form.spec, problems: checked.problems }));
      if (checked.started === undefined) return sendPage(reply, 200, startPage({ viewer, text: form.spec, valid: checked.summary }));
      return reply.redirect(`/jobs/${checked.started}?started=1`, 303);
    });
  });

  app.setNotFoundHandler(async (_req, reply) => sendError(reply, 404, 'Not found', 'There is no such page.'));

  const host = opts.host ?? '127.0.0.1';
  await app.listen({ port: opts.port ?? 8080, host });
  const addr = app.server.address() as AddressInfo;
  const urlHost = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${urlHost}:${addr.port}`,
    async close() {
      await app.close();
    },
  };
}

/** An uploaded file (multipart with attachFieldsToBody: 'keyValues' gives Buffers); empty uploads count as none. */
function fileField(form: Form, name: string): string | undefined {
  const v = form[name];
  if (Buffer.isBuffer(v) && v.length > 0) return v.toString('utf8');
  return undefined;
}
