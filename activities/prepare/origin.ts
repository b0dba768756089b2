import type { InputLocation } from './errors';

/** Where dataset entries / drives came from (set by the CSV/spec parsers, used for error locations). */
export type Origin = (field: string) => InputLocation;
const origins = new WeakMap<object, Origin>();
export function setOrigin(o: object, origin: Origin): void {
  origins.set(o, origin);
}

export function getOrigin(o: object): Origin | undefined {
  return origins.get(o);
}

export function locator(o: object, fallbackList: string, index: number): (field: string) => InputLocation {
  const org = origins.get(o);
  return (field) => (org ? org(field) : { file: `request.${fallbackList}`, row: index + 1, field });
}
