import { z } from 'zod';
import { controlBody } from '../control-api';
import { ArmError } from '../errors';
import type { ControlRoute } from '../router';
import type { Store } from '../store';
import type { DataBoxJobs } from './jobs';
import { DataBoxAdvanceSchema } from './lifecycle';
import { LRO_OPERATIONS, LroSettingSchema } from './model';
import { RegionOverrideSchema, type RegionCatalogue } from './regions';
import { renderJob } from './render';

const DatacenterAddressChangeSchema = z
  .object({
    /** The region whose datacenter address (or instruction) the job gets now; default: the job's own region's. */
    region: z.string().min(1).optional(),
    address: RegionOverrideSchema.shape.address,
    instruction: z.string().min(1).optional(),
  })
  .strict()
  .refine((b) => b.address === undefined || b.instruction === undefined, 'give address or instruction, not both');

const SettingsSchema = z
  .object({
    lro: LroSettingSchema.partial()
      .extend({ operations: z.array(z.enum(LRO_OPERATIONS)).min(1).optional() })
      .strict()
      .optional(),
    expiry: z.enum(['cancel', 'delete']).optional(),
  })
  .strict();

/** The control API of the Data Box datacenter (`/_emulator/databox/...`). */
export function dataBoxControlRoutes(jobs: DataBoxJobs, regions: RegionCatalogue, store: Store): ControlRoute[] {
  const ok = (body: unknown) => ({ status: 200, body });
  const jobOf = (params: Record<string, string>) => jobs.mustFind(params.sub ?? '', params.rg ?? '', params.job ?? '');
  const show = (job: Parameters<typeof renderJob>[0]) => ok(renderJob(job, { details: true, apiVersion: '2025-02-01' }));
  const regionOf = (name: string) => {
    const region = regions.find(name);
    if (!region) throw new ArmError(404, 'ResourceNotFound', `Unknown Data Box region '${name.slice(0, 100)}'.`);
    return region;
  };
  const renderRegion = (name: string) => {
    const region = regionOf(name);
    const overrides = store.databox.regionOverrides;
    return {
      name: region.name,
      displayName: region.displayName,
      customerDiskAvailable: regions.customerDiskAvailable(region, overrides),
      datacenterAddress: regions.datacenterAddress(region, overrides),
    };
  };
  const settings = () => ok(store.databox.settings);
  return [
    { method: 'GET', path: '/databox/jobs/:sub/:rg/:job', handler: (r) => show(jobOf(r.params)) },
    {
      method: 'POST',
      path: '/databox/jobs/:sub/:rg/:job/advance',
      handler: async (r) => {
        const body = await controlBody(r, DataBoxAdvanceSchema);
        return show(jobs.advance(r.params.sub ?? '', r.params.rg ?? '', r.params.job ?? '', body));
      },
    },
    {
      method: 'POST',
      path: '/databox/jobs/:sub/:rg/:job/datacenter-address',
      handler: async (r) => {
        const job = jobOf(r.params);
        const body = await controlBody(r, DatacenterAddressChangeSchema);
        const region = regionOf(body.region ?? job.location);
        const current = regions.datacenterAddress(region, store.databox.regionOverrides);
        const common = { supportedCarriersForReturnShipment: current.supportedCarriersForReturnShipment, dataCenterAzureLocation: current.dataCenterAzureLocation };
        if (body.address) job.datacenterAddress = { datacenterAddressType: 'DatacenterAddressLocation', ...body.address, ...common };
        else if (body.instruction) job.datacenterAddress = { datacenterAddressType: 'DatacenterAddressInstruction', communicationInstruction: body.instruction, ...common };
        else job.datacenterAddress = current;
        job.dataCenterCode = regions.serving(region).dataCenterCode;
        store.save();
        return show(job);
      },
    },
    { method: 'GET', path: '/databox/regions', handler: () => ok({ regions: regions.regions.map((x) => renderRegion(x.name)) }) },
    { method: 'GET', path: '/databox/regions/:region', handler: (r) => ok(renderRegion(r.params.region ?? '')) },
    {
      method: 'POST',
      path: '/databox/regions/:region',
      handler: async (r) => {
        const region = regionOf(r.params.region ?? '');
        const body = await controlBody(r, RegionOverrideSchema);
        const merged = { ...store.databox.regionOverrides[region.name], ...body };
        // An address replaces an instruction and vice versa.
        if (body.address) delete merged.instruction;
        if (body.instruction) delete merged.address;
        store.databox.regionOverrides[region.name] = merged;
        store.save();
        return ok(renderRegion(region.name));
      },
    },
    {
      method: 'DELETE',
      path: '/databox/regions/:region',
      handler: (r) => {
        const region = regionOf(r.params.region ?? '');
        delete store.databox.regionOverrides[region.name];
        store.save();
        return ok(renderRegion(region.name));
      },
    },
    { method: 'GET', path: '/databox/settings', handler: settings },
    {
      method: 'POST',
      path: '/databox/settings',
      handler: async (r) => {
        const body = await controlBody(r, SettingsSchema);
        if (body.lro) {
          const { operations, ...change } = body.lro;
          for (const op of operations ?? LRO_OPERATIONS) store.databox.settings.lro[op] = { ...store.databox.settings.lro[op], ...change };
        }
        if (body.expiry) store.databox.settings.expiry = body.expiry;
        store.save();
        return settings();
      },
    },
  ];
}
