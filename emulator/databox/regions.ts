import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const DatacenterAddressSchema = z
  .object({
    contactPersonName: z.string().min(1),
    company: z.string().min(1),
    street1: z.string().min(1),
    street2: z.string().optional(),
    street3: z.string().optional(),
    city: z.string().min(1),
    state: z.string(),
    zip: z.string(),
    country: z.string().min(2),
    phone: z.string(),
    phoneExtension: z.string().optional(),
    addressType: z.string().optional(),
    additionalShippingInformation: z.string().optional(),
  })
  .strict();
export type DatacenterAddress = z.infer<typeof DatacenterAddressSchema>;

export const RegionSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9]+$/, 'lower-case letters and digits'),
    displayName: z.string().min(1),
    country: z.string().length(2),
    dataCenterCode: z.string().min(1),
    /** Whether sku DataBoxCustomerDisk is offered for storage accounts in this region. */
    customerDiskAvailable: z.boolean(),
    /** The region whose datacenter serves this one (`dataCenterAzureLocation`); default: itself. */
    servedBy: z.string().optional(),
    supportedCarriers: z.array(z.string().min(1)).min(1),
    /** Exactly one of `address` (a DatacenterAddressLocation) and `instruction` (a DatacenterAddressInstruction). */
    address: DatacenterAddressSchema.optional(),
    instruction: z.string().min(1).optional(),
  })
  .strict()
  .refine((r) => (r.address === undefined) !== (r.instruction === undefined), 'needs exactly one of address and instruction');
export type Region = z.infer<typeof RegionSchema>;

const CatalogueSchema = z.object({ regions: z.array(RegionSchema).min(1) }).strict();

/** What the control API changed about a region (persisted). */
export const RegionOverrideSchema = z
  .object({
    customerDiskAvailable: z.boolean().optional(),
    address: DatacenterAddressSchema.optional(),
    instruction: z.string().min(1).optional(),
    supportedCarriers: z.array(z.string().min(1)).min(1).optional(),
  })
  .strict();
export type RegionOverride = z.infer<typeof RegionOverrideSchema>;

export const DEFAULT_REGIONS_FILE = path.join(__dirname, 'regions.json');

/** `DatacenterAddressResponse` (discriminated by `datacenterAddressType`) as the API renders it. */
export type DatacenterAddressResponse =
  | ({ datacenterAddressType: 'DatacenterAddressLocation'; supportedCarriersForReturnShipment: string[]; dataCenterAzureLocation: string } & DatacenterAddress)
  | { datacenterAddressType: 'DatacenterAddressInstruction'; communicationInstruction: string; supportedCarriersForReturnShipment: string[]; dataCenterAzureLocation: string };

const key = (name: string) => name.replace(/\s+/g, '').toLowerCase();

/** The Data Box regions (catalogue file) and their datacenter addresses, with the control API's overrides applied. */
export class RegionCatalogue {
  private readonly byKey = new Map<string, Region>();

  constructor(readonly regions: Region[]) {
    for (const r of regions) {
      this.byKey.set(key(r.name), r);
      this.byKey.set(key(r.displayName), r);
    }
    for (const r of regions) {
      if (r.servedBy !== undefined && !this.byKey.has(key(r.servedBy))) throw new Error(`regions: ${r.name}.servedBy: unknown region '${r.servedBy}'`);
    }
  }

  static load(file: string = DEFAULT_REGIONS_FILE): RegionCatalogue {
    const parsed = CatalogueSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new Error(`invalid Data Box regions file ${file}: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`);
    }
    return new RegionCatalogue(parsed.data.regions);
  }

  /** By name (`westus`) or display name (`West US`, any case or spacing). */
  find(name: string): Region | undefined {
    return this.byKey.get(key(name));
  }

  customerDiskAvailable(region: Region, overrides: Record<string, RegionOverride>): boolean {
    return overrides[region.name]?.customerDiskAvailable ?? region.customerDiskAvailable;
  }

  carriers(region: Region, overrides: Record<string, RegionOverride>): string[] {
    const serving = this.serving(region);
    return overrides[serving.name]?.supportedCarriers ?? serving.supportedCarriers;
  }

  /** The region whose datacenter receives disks for `region`. */
  serving(region: Region): Region {
    return (region.servedBy !== undefined ? this.find(region.servedBy) : undefined) ?? region;
  }

  datacenterAddress(region: Region, overrides: Record<string, RegionOverride>): DatacenterAddressResponse {
    const serving = this.serving(region);
    const o = overrides[serving.name];
    const common = { supportedCarriersForReturnShipment: [...this.carriers(region, overrides)], dataCenterAzureLocation: serving.name };
    const instruction = o?.instruction ?? (o?.address ? undefined : serving.instruction);
    const address = o?.address ?? (o?.instruction ? undefined : serving.address);
    if (address) return { datacenterAddressType: 'DatacenterAddressLocation', ...address, ...common };
    return { datacenterAddressType: 'DatacenterAddressInstruction', communicationInstruction: instruction ?? '', ...common };
  }
}
