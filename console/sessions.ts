import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from './config';

/** In-memory sessions: random 256-bit ids, a per-session CSRF token, absolute expiry. */
export interface Session {
  id: string;
  username: string;
  displayName: string;
  role: Role;
  csrfToken: string;
  createdAt: number;
  expiresAt: number;
}

export const randomToken = (): string => randomBytes(32).toString('base64url');

export function tokensEqual(a: string | undefined, b: string | undefined): boolean {
  if (typeof a !== 'string' || typeof b !== 'string' || a.length === 0) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class SessionStore {
  private readonly sessions = new Map<string, Session>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(ttlMs, 60_000));
    this.sweeper.unref();
  }

  create(user: { username: string; displayName?: string; role: Role }): Session {
    const t = this.now();
    const session: Session = {
      id: randomToken(),
      username: user.username,
      displayName: user.displayName ?? user.username,
      role: user.role,
      csrfToken: randomToken(),
      createdAt: t,
      expiresAt: t + this.ttlMs,
    };
    this.sessions.set(session.id, session);
    return session;
  }

  /** The live session for an id; expired sessions are removed and reported as 'expired'. */
  get(id: string | undefined): Session | 'expired' | undefined {
    if (!id) return undefined;
    const s = this.sessions.get(id);
    if (!s) return undefined;
    if (this.now() >= s.expiresAt) {
      this.sessions.delete(id);
      return 'expired';
    }
    return s;
  }

  delete(id: string): void {
    this.sessions.delete(id);
  }

  sweep(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (t >= s.expiresAt) this.sessions.delete(id);
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sessions.clear();
  }

  get ttl(): number {
    return this.ttlMs;
  }
}
