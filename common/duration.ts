import type { Duration } from './job-spec';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Converts a DurationSchema value to milliseconds (pure; usable in workflow code). */
export function durationToMs(d: Duration): number {
  if (typeof d === 'number') return d;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]+)$/i.exec(d.trim());
  if (!m) throw new Error(`not a duration: ${d}`);
  const unit = m[2]!.toLowerCase();
  const key = unit.startsWith('ms') || unit.startsWith('milli') ? 'ms' : unit.startsWith('mi') ? 'm' : unit[0]!;
  const factor = UNIT_MS[key];
  if (factor === undefined) throw new Error(`unknown duration unit in ${d}`);
  return Math.round(Number(m[1]) * factor);
}
