/**
 * Server-side sessions for the console and the codec server: @fastify/session (signed cookie holding a random
 * 256-bit id) over an in-memory store that forgets expired sessions and keeps at most `maxSessions`. Sessions end
 * with the process: a restart signs everyone out, which is what a single-station tool wants.
 */
import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import type { FastifyInstance, FastifyRequest, Session } from 'fastify';

type Callback = (err?: unknown) => void;

/** A Map with expiry (the session cookie's `expires`) and a size bound; oldest sessions go first when full. */
export class BoundedMemorySessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(
    private readonly maxSessions = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.#sweeper = setInterval(() => this.sweep(), 60_000);
    this.#sweeper.unref();
  }

  #expired(s: Session): boolean {
    const expires = s.cookie.expires;
    return expires !== undefined && expires !== null && new Date(expires).getTime() <= this.now();
  }

  set(id: string, session: Session, cb: Callback): void {
    this.#sessions.delete(id);
    this.#sessions.set(id, session);
    while (this.#sessions.size > this.maxSessions) {
      const oldest = this.#sessions.keys().next();
      if (oldest.done) break;
      this.#sessions.delete(oldest.value);
    }
    cb();
  }

  get(id: string, cb: (err: unknown, session?: Session | null) => void): void {
    const s = this.#sessions.get(id);
    if (s && this.#expired(s)) {
      this.#sessions.delete(id);
      cb(null, null);
      return;
    }
    cb(null, s ?? null);
  }

  destroy(id: string, cb: Callback): void {
    this.#sessions.delete(id);
    cb();
  }

  sweep(): void {
    for (const [id, s] of this.#sessions) if (this.#expired(s)) this.#sessions.delete(id);
  }

  get size(): number {
    return this.#sessions.size;
  }

  close(): void {
    clearInterval(this.#sweeper);
    this.#sessions.clear();
  }
}

export interface SessionOptions {
  cookieName: string;
  ttlMs: number;
  /** Secure cookies: true whenever the server's public URL is https. */
  secure: boolean;
  /** Narrows the cookie (default `/`). */
  path?: string;
  maxSessions?: number;
}

/** 256-bit random ids, base64url (43 characters). */
export const newSessionId = (): string => randomBytes(32).toString('base64url');

/**
 * Registers @fastify/cookie and @fastify/session on `app`: HttpOnly, SameSite=Strict, Secure per `secure`, an
 * absolute lifetime (no rolling renewal), and no session stored for visitors who have not signed in.
 */
export async function registerSessions(app: FastifyInstance, opts: SessionOptions): Promise<BoundedMemorySessionStore> {
  const store = new BoundedMemorySessionStore(opts.maxSessions);
  if (!app.hasDecorator('parseCookie')) await app.register(fastifyCookie);
  await app.register(fastifySession, {
    // Per process: the sessions live in this process's memory only, so their signing key may too.
    secret: randomBytes(32).toString('base64url'),
    cookieName: opts.cookieName,
    idGenerator: newSessionId,
    store,
    saveUninitialized: false,
    rolling: false,
    cookie: { path: opts.path ?? '/', httpOnly: true, sameSite: 'strict', secure: opts.secure, maxAge: opts.ttlMs },
  });
  app.addHook('onClose', async () => store.close());
  return store;
}

/**
 * The request's session, or undefined when @fastify/session did not load one: it leaves a bare `{}` for requests
 * whose target does not start with the cookie path (`*`, absolute-form targets such as `http://host/`).
 */
export function sessionOf(req: FastifyRequest): FastifyRequest['session'] | undefined {
  const s = req.session as Partial<FastifyRequest['session']> | null | undefined;
  return s && typeof s.get === 'function' ? (s as FastifyRequest['session']) : undefined;
}
