import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

export const LOCATION_ID_PREFIX = '/providers/Microsoft.ImportExport/locations/';

/** A site's postal address: what a Location resource and a job's shippingInformation both show. */
const SiteAddressSchema = z.object({
  recipientName: z.string(),
  streetAddress1: z.string(),
  streetAddress2: z.string().default(''),
  city: z.string(),
  stateOrProvince: z.string().default(''),
  postalCode: z.string(),
  countryOrRegion: z.string(),
  phone: z.string(),
});
export type SiteAddress = z.infer<typeof SiteAddressSchema>;

const SiteSchema = z
  .object({
    shortName: z.string().regex(/^[a-z0-9]+$/, 'shortName: lower-case letters and digits'),
    displayName: z.string().min(1),
    ...SiteAddressSchema.shape,
    additionalShippingInformation: z.string().default(''),
    supportedCarriers: z.array(z.string().min(1)).min(1),
    /** Short names, display names or location ids. A site is open iff it lists itself. */
    alternateLocations: z.array(z.string().min(1)).min(1),
  })
  .strict();
export type Site = z.infer<typeof SiteSchema>;

/** The address fields of a site (the schema strips the rest). */
export function siteAddressOf(site: Site): SiteAddress {
  return SiteAddressSchema.parse(site);
}

const CatalogueSchema = z.object({ locations: z.array(SiteSchema).min(1) }).strict();

export const DEFAULT_LOCATIONS_FILE = path.join(__dirname, 'locations.json');

/** The `Location` resource as the API returns it. */
export interface LocationResource {
  id: string;
  name: string;
  type: 'Microsoft.ImportExport/locations';
  properties: SiteAddress & {
    additionalShippingInformation: string;
    supportedCarriers: string[];
    alternateLocations: string[];
  };
}

function key(name: string): string {
  let n = name.trim();
  if (n.toLowerCase().startsWith(LOCATION_ID_PREFIX.toLowerCase())) n = n.slice(LOCATION_ID_PREFIX.length);
  return n.replace(/\s+/g, '').toLowerCase();
}

export class LocationCatalogue {
  private readonly sites: Site[];
  private readonly byKey = new Map<string, Site>();

  constructor(sites: Site[]) {
    this.sites = sites;
    for (const s of sites) {
      this.byKey.set(key(s.shortName), s);
      this.byKey.set(key(s.displayName), s);
    }
    for (const s of sites) {
      for (const alt of s.alternateLocations) {
        if (!this.byKey.has(key(alt))) throw new Error(`locations: ${s.shortName}.alternateLocations: unknown location '${alt}'`);
      }
    }
  }

  static load(file: string = DEFAULT_LOCATIONS_FILE): LocationCatalogue {
    const raw: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const parsed = CatalogueSchema.safeParse(raw);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new Error(`invalid locations file ${file}: ${first ? `${first.path.join('.')}: ${first.message}` : 'invalid'}`);
    }
    return new LocationCatalogue(parsed.data.locations);
  }

  /** Accepts a short name (`westus`), display name (`West US`, any case/spacing) or location id. */
  find(name: string): Site | undefined {
    return this.byKey.get(key(name));
  }

  all(): Site[] {
    return [...this.sites];
  }

  static idOf(site: Site): string {
    return LOCATION_ID_PREFIX + site.shortName;
  }

  /** Resolves configured alternates (any spelling) to short names. */
  alternatesOf(site: Site, overrides: Record<string, string[]>): string[] {
    const o = overrides[site.shortName];
    const list = o ?? site.alternateLocations;
    return list.map((a) => this.find(a)?.shortName ?? a);
  }

  isOpen(site: Site, overrides: Record<string, string[]>): boolean {
    return this.alternatesOf(site, overrides).includes(site.shortName);
  }

  /** The site drives for `site` are shipped to: itself when open, else its first open alternate. */
  shippingSite(site: Site, overrides: Record<string, string[]>): Site {
    if (this.isOpen(site, overrides)) return site;
    for (const alt of this.alternatesOf(site, overrides)) {
      const s = this.find(alt);
      if (s && this.isOpen(s, overrides)) return s;
    }
    return site;
  }

  render(site: Site, overrides: Record<string, string[]>): LocationResource {
    return {
      id: LocationCatalogue.idOf(site),
      name: site.displayName,
      type: 'Microsoft.ImportExport/locations',
      properties: {
        ...siteAddressOf(site),
        additionalShippingInformation: site.additionalShippingInformation,
        supportedCarriers: [...site.supportedCarriers],
        alternateLocations: this.alternatesOf(site, overrides).map((s) => LOCATION_ID_PREFIX + s),
      },
    };
  }
}
