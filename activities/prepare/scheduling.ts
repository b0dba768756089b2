import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PrepareCancelledError } from './errors';
import type { CopyItem } from './pool';

/** A batch is one message to a worker: enough bytes that messages cost nothing, few enough that progress and the journal move often. */
const BATCH_BYTES = 16 * 1024 * 1024;
const BATCH_ITEMS = 64;

export function batchesOf<T extends { item: CopyItem }>(list: T[]): T[][] {
  const out: T[][] = [];
  let cur: T[] = [];
  let bytes = 0;
  for (const x of list) {
    if (cur.length && (bytes + x.item.length > BATCH_BYTES || cur.length >= BATCH_ITEMS)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(x);
    bytes += x.item.length;
  }
  if (cur.length) out.push(cur);
  return out;
}

/** Round-robin over lists (the drives' batches, a drive's files' ranges); linear in the items, however uneven the lists. */
export function interleave<T>(lists: T[][]): T[] {
  const out: T[] = [];
  let live = lists.filter((l) => l.length > 0);
  for (let i = 0; live.length; i++) {
    for (const l of live) out.push(l[i] as T);
    live = live.filter((l) => i + 1 < l.length);
  }
  return out;
}

/** Runs `fn` over `items` with at most `limit` in flight; stops at the first error or on abort. */
export async function runQueue<T>(items: T[], limit: number, signal: AbortSignal | undefined, fn: (t: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: unknown;
  let failed = false;
  const lane = async () => {
    while (!failed && next < items.length) {
      if (signal?.aborted) {
        failed = true;
        failure = new PrepareCancelledError();
        return;
      }
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (e) {
        if (!failed) {
          failed = true;
          failure = e;
        }
      }
    }
  };
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<void>((resolve) => {
    if (!signal) return;
    onAbort = () => resolve();
    signal.addEventListener('abort', onAbort, { once: true });
  });
  const lanes = Promise.all(Array.from({ length: Math.max(1, limit) }, lane));
  await Promise.race([lanes, aborted]);
  if (signal && onAbort) signal.removeEventListener('abort', onAbort);
  if (signal?.aborted && !failed) throw new PrepareCancelledError();
  if (failed) throw failure;
}

export interface RatePacer {
  readonly bytesPerSecond: number;
  /** Resolves when a batch of `bytes` may start; rejects with PrepareCancelledError when `signal` aborts the wait. */
  take(bytes: number, signal?: AbortSignal): Promise<void>;
}

/** A copy-rate cap as people write it (PREPARE_MAX_MIB_PER_SECOND, `importctl prepare --max-mib-per-second`). */
export const MibPerSecondSchema = z.coerce
  .number({ error: 'a number of MiB per second (0: unlimited)' })
  .nonnegative('a number of MiB per second, 0 or more (0: unlimited)');

/**
 * A copy-rate cap (as rsync --bwlimit, azcopy --cap-mbps): while copies keep asking, a batch may start once the bytes
 * handed out before it fit, at `bytesPerSecond`, in the time elapsed since the first. Bytes are reserved when asked
 * for, so lanes (and preparations) asking at once queue behind each other. Time nobody asked in is not credited: one
 * pacer can be shared by the preparations that come and go on a station without bursting above the rate after a lull.
 */
export function ratePacer(bytesPerSecond: number): RatePacer {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0)
    throw new RangeError(`maxBytesPerSecond must be a positive finite number of bytes per second (got ${bytesPerSecond})`);
  let nextStart = -Infinity;
  return {
    bytesPerSecond,
    async take(bytes: number, signal?: AbortSignal): Promise<void> {
      if (signal?.aborted) throw new PrepareCancelledError();
      const t = performance.now();
      const startAt = Math.max(nextStart, t);
      const endAt = startAt + (bytes / bytesPerSecond) * 1000;
      nextStart = endAt;
      if (startAt <= t) return;
      try {
        await sleep(startAt - t, undefined, { signal });
      } catch (e) {
        if (!signal?.aborted) throw e;
        // A cancelled copy gives its unused slot back when it is the last one booked; later ones already wait for
        // their own start times, so a slot in the middle stays taken.
        if (nextStart === endAt) nextStart = startAt;
        throw new PrepareCancelledError();
      }
    },
  };
}
