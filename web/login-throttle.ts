/**
 * Sign-in throttling with lockout back-off, per key (user name + client address, or the address alone): the first
 * `freeFailures` failures cost nothing, each further one locks the key out for twice as long as the previous one
 * (`baseLockoutMs`, 2×, 4×, … up to `maxLockoutMs`). A success clears the key; a key without failures for
 * `forgetAfterMs` is forgotten.
 *
 * Why not @fastify/rate-limit alone: it counts requests, not failed sign-ins, and its read-only check ignores the
 * exponential back-off; the servers still use it for coarse per-address request limits.
 */
export interface LoginThrottleOptions {
  freeFailures?: number;
  baseLockoutMs?: number;
  maxLockoutMs?: number;
  forgetAfterMs?: number;
  /** Bound on the keys kept in memory (oldest forgotten first). */
  maxKeys?: number;
  now?: () => number;
}

interface Entry {
  failures: number;
  lockedUntil: number;
  lastFailureAt: number;
}

export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

export class LoginThrottle {
  readonly #entries = new Map<string, Entry>();
  readonly #freeFailures: number;
  readonly #baseLockoutMs: number;
  readonly #maxLockoutMs: number;
  readonly #forgetAfterMs: number;
  readonly #maxKeys: number;
  readonly #now: () => number;

  constructor(opts: LoginThrottleOptions = {}) {
    this.#freeFailures = opts.freeFailures ?? 5;
    this.#baseLockoutMs = opts.baseLockoutMs ?? 30_000;
    this.#maxLockoutMs = opts.maxLockoutMs ?? 15 * 60_000;
    this.#forgetAfterMs = opts.forgetAfterMs ?? 60 * 60_000;
    this.#maxKeys = opts.maxKeys ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  #live(key: string): Entry | undefined {
    const e = this.#entries.get(key);
    if (e && this.#now() - e.lastFailureAt > this.#forgetAfterMs && this.#now() >= e.lockedUntil) {
      this.#entries.delete(key);
      return undefined;
    }
    return e;
  }

  /** Whether a sign-in attempt may be checked now; ask before verifying the password, so lockouts cost no hashing. */
  check(key: string): ThrottleVerdict {
    const e = this.#live(key);
    const wait = e ? e.lockedUntil - this.#now() : 0;
    return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
  }

  /** Records a failed attempt; returns the lockout it starts, if any. */
  recordFailure(key: string): ThrottleVerdict {
    const now = this.#now();
    const e = this.#live(key) ?? { failures: 0, lockedUntil: 0, lastFailureAt: now };
    e.failures += 1;
    e.lastFailureAt = now;
    const over = e.failures - this.#freeFailures;
    if (over > 0) e.lockedUntil = now + Math.min(this.#maxLockoutMs, this.#baseLockoutMs * 2 ** Math.min(over - 1, 30));
    this.#entries.delete(key);
    this.#entries.set(key, e);
    if (this.#entries.size > this.#maxKeys) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    return this.check(key);
  }

  recordSuccess(key: string): void {
    this.#entries.delete(key);
  }
}

/** "2 minutes", "45 seconds": how long a locked-out user waits, for the sign-in page. */
export function describeWait(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  const m = Math.ceil(s / 60);
  return `${m} minute${m === 1 ? '' : 's'}`;
}
