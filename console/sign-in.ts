/**
 * Sign-in and sign-in state: the form (with its own double-submit CSRF secret in a cookie, since there is no
 * session yet), password checks throttled per user and address, and a fresh session id at sign-in.
 */
import fastifyCsrfProtection from '@fastify/csrf-protection';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { describeWait, type LoginThrottle } from '../web/login-throttle';
import { sessionOf } from '../web/sessions';
import type { ConsoleUser } from './config';
import { field, formOf } from './forms';
import { dummyPasswordHash, verifyPassword } from './passwords';

/** The sign-in form's double-submit CSRF secret (there is no session before sign-in). */
export const LOGIN_COOKIE = 'console_login';
const LOGIN_COOKIE_TTL_S = 30 * 60;

/** The console user a session holds: their public fields, with the display name defaulted at sign-in. */
export type SignedInUser = Required<Pick<ConsoleUser, 'username' | 'displayName' | 'role'>>;

/** A relative path to go back to after sign-in (never another origin). */
export function safeNext(next: string | undefined): string {
  return next && /^\/(?![/\\])[A-Za-z0-9/_?=&.%-]*$/.test(next) && !next.startsWith('/login') ? next : '/';
}

/** The signed-in user of a request, 'expired' for a session past its end (which is then destroyed), else undefined. */
export async function signedInUser(req: FastifyRequest, now: () => number): Promise<SignedInUser | 'expired' | undefined> {
  const session = sessionOf(req);
  const user = session?.get('user');
  if (!session || !user) return undefined;
  if (now() >= (session.get('expiresAt') ?? 0)) {
    await session.destroy();
    return 'expired';
  }
  return user;
}

/** A request without Origin (same-origin GET, non-browser) or from this console's own origin. */
export function isSameOrigin(req: FastifyRequest, publicOrigin: string | undefined): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (publicOrigin !== undefined) return origin === publicOrigin;
  return origin === `http://${req.headers.host}` || origin === `https://${req.headers.host}`;
}

export interface SignInDeps {
  users: Map<string, ConsoleUser>;
  throttle: LoginThrottle;
  ttl: number;
  now: () => number;
  secure: boolean;
  sameOrigin(req: FastifyRequest): boolean;
  renderLogin(reply: FastifyReply, status: number, o: { error?: string; username?: string; next?: string; info?: string }): FastifyReply;
}

/** GET/POST /login on `login` (an encapsulated context: its CSRF plugin is the cookie-based one). */
export async function registerSignIn(login: FastifyInstance, deps: SignInDeps): Promise<void> {
  const { users, throttle, renderLogin } = deps;
  await login.register(fastifyCsrfProtection, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: LOGIN_COOKIE,
    cookieOpts: { path: '/login', httpOnly: true, sameSite: 'strict', secure: deps.secure, maxAge: LOGIN_COOKIE_TTL_S },
  });

  login.get('/login', async (req, reply) => {
    const q = req.query as { next?: string; expired?: string };
    const current = await signedInUser(req, deps.now);
    if (current && current !== 'expired') return reply.redirect(safeNext(q.next), 303);
    return renderLogin(reply, 200, { next: safeNext(q.next), info: q.expired ? 'Your session expired. Please sign in again.' : undefined });
  });

  login.post('/login', { preHandler: login.csrfProtection, config: { rateLimit: { max: 300, timeWindow: 60_000 } } }, async (req, reply) => {
    const form = formOf(req);
    const next = safeNext(field(form, 'next'));
    const username = field(form, 'username').trim().slice(0, 64);
    if (!deps.sameOrigin(req)) return renderLogin(reply, 403, { error: 'Cross-site sign-in refused.', username, next });
    const key = `${username.toLowerCase()}\n${req.ip}`;
    const locked = throttle.check(key);
    if (!locked.allowed) {
      reply.header('retry-after', String(Math.ceil(locked.retryAfterMs / 1000)));
      return renderLogin(reply, 429, { error: `Too many failed sign-ins for ${username || 'this user'} from your address. Try again in ${describeWait(locked.retryAfterMs)}.`, username, next });
    }
    const user = users.get(username);
    const ok = await verifyPassword(field(form, 'password'), user?.passwordHash ?? (await dummyPasswordHash()));
    if (!user || !ok) {
      const after = throttle.recordFailure(key);
      const pause = after.allowed ? '' : ` Sign-in for ${username || 'this user'} is paused for ${describeWait(after.retryAfterMs)}.`;
      if (!after.allowed) reply.header('retry-after', String(Math.ceil(after.retryAfterMs / 1000)));
      return renderLogin(reply, 401, { error: `Wrong user name or password.${pause}`, username, next });
    }
    throttle.recordSuccess(key);
    // A fresh session id at sign-in, so an id planted before sign-in is worth nothing.
    await req.session.regenerate();
    req.session.set('user', { username: user.username, displayName: user.displayName ?? user.username, role: user.role });
    req.session.set('expiresAt', deps.now() + deps.ttl);
    return reply.redirect(next, 303);
  });
}
