import { randomInt } from 'node:crypto';

/** ARM's timestamp style: seven fractional digits. */
export function armTimestamp(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');
}

/** `9/29/2017 10:28:35 PM`, the style used by the Import/Export service for ship dates. */
export function usDate(d: Date): string {
  const h = d.getUTCHours();
  const h12 = h % 12 === 0 ? 12 : h % 12;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()} ${h12}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${h < 12 ? 'AM' : 'PM'}`;
}

/** `20240102-030405-678`, used in log blob names. */
export function logStamp(d: Date): string {
  const iso = d.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${iso.slice(20, 23)}`;
}

export function trackingNumber(digits = 12): string {
  let s = '';
  for (let i = 0; i < digits; i++) s += String(randomInt(10));
  return s;
}

export function caseInsensitiveEq(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase();
}
