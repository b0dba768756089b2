import { z } from 'zod';
import type { EmulatorCore } from './emulator';
import { ArmError } from './errors';
import { FaultSpecSchema } from './faults';
import { AdvanceBodySchema } from './jobs-advance';
import type { JobService } from './jobs';
import type { LocationCatalogue } from './locations';
import type { ControlRequest, ControlRoute } from './router';
import { validBody } from './schemas';
import type { Store } from './store';

/** Parses a control request's body (`{}` when empty) with a schema; problems name the field. */
export async function controlBody<T>(r: ControlRequest, schema: z.ZodType<T>): Promise<T> {
  return validBody(schema, (await r.json()) ?? {}, 'InvalidControlRequest');
}

const ok = (body: unknown) => ({ status: 200, body });

/** The control API shared by both APIs (faults, clock, request log, reset) and the Import/Export datacenter. */
export function commonControlRoutes(coreOf: () => EmulatorCore, store: Store, jobs: JobService, locations: LocationCatalogue, hooks: { resetAll: () => void; expireAll: () => void }): ControlRoute[] {
  const clock = () => ok({ now: store.now().toISOString(), offsetSeconds: store.clockOffsetMs / 1000 });
  const siteOf = (name: string) => {
    const site = locations.find(name);
    if (!site) throw new ArmError(404, 'ResourceNotFound', `Unknown location '${name}'.`);
    return site;
  };
  return [
    { method: 'GET', path: '/health', handler: () => ok({ ok: true }) },
    {
      method: 'POST',
      path: '/jobs/:sub/:rg/:job/advance',
      handler: async (r) => {
        const body = await controlBody(r, AdvanceBodySchema);
        return ok(jobs.render(jobs.advance(r.params.sub ?? '', r.params.rg ?? '', r.params.job ?? '', body)));
      },
    },
    {
      method: 'POST',
      path: '/locations/:name/close',
      handler: async (r) => {
        const site = siteOf(r.params.name ?? '');
        const body = await controlBody(r, z.object({ alternates: z.array(z.string()).min(1) }).strict());
        const alts: string[] = [];
        for (const [i, a] of body.alternates.entries()) {
          const alt = locations.find(a);
          if (!alt) throw ArmError.field(`alternates[${i}]`, `unknown location '${a}'`, 'InvalidControlRequest');
          if (alt.shortName === site.shortName) throw ArmError.field(`alternates[${i}]`, 'a closed location cannot be its own alternate', 'InvalidControlRequest');
          alts.push(alt.shortName);
        }
        store.locationOverrides[site.shortName] = alts;
        store.save();
        return ok(locations.render(site, store.locationOverrides));
      },
    },
    {
      method: 'POST',
      path: '/locations/:name/open',
      handler: (r) => {
        const site = siteOf(r.params.name ?? '');
        store.locationOverrides[site.shortName] = [site.shortName];
        store.save();
        return ok(locations.render(site, store.locationOverrides));
      },
    },
    {
      method: 'POST',
      path: '/faults',
      handler: async (r) => ok({ id: coreOf().faults.add(await controlBody(r, FaultSpecSchema)).id }),
    },
    { method: 'GET', path: '/faults', handler: () => ok({ faults: coreOf().faults.list() }) },
    {
      method: 'DELETE',
      path: '/faults',
      handler: () => {
        coreOf().faults.clear();
        return ok({ cleared: true });
      },
    },
    { method: 'GET', path: '/clock', handler: clock },
    {
      method: 'POST',
      path: '/clock/advance',
      handler: async (r) => {
        const body = await controlBody(r, z.object({ seconds: z.number().min(0).max(10 * 365 * 86_400) }).strict());
        store.clockOffsetMs += Math.round(body.seconds * 1000);
        store.save();
        hooks.expireAll();
        return clock();
      },
    },
    { method: 'GET', path: '/requests', handler: () => ok({ requests: coreOf().requests.map((x) => ({ ...x })) }) },
    {
      method: 'DELETE',
      path: '/requests',
      handler: () => {
        coreOf().requests.length = 0;
        return ok({ cleared: true });
      },
    },
    {
      method: 'POST',
      path: '/reset',
      handler: () => {
        coreOf().faults.clear();
        coreOf().requests.length = 0;
        hooks.resetAll();
        return ok({ reset: true });
      },
    },
  ];
}
