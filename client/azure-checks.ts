/**
 * What importctl asks Azure directly: shipping locations (`importctl locations`) and, before a job starts, whether
 * its region has a shipping site and the site takes its return carrier. Uses the worker's Azure configuration
 * (or, without AZURE_ENDPOINT, the emulator that `npm start` runs).
 */
import fs from 'node:fs';
import path from 'node:path';
import { closest } from 'fastest-levenshtein';
import { z } from 'zod';
import { loadAzureConfig } from '../activities/azure/config';
import { createAzurePorts } from '../activities/azure';
import { AzurePortError, classify } from '../activities/azure/port';
import { createImportExportPort, toShippingSite } from '../activities/azure/importexport';
import type { ShippingSite } from '../common/azure-job';
import { azureApiOf, type AzureApi, type JobSpec } from '../common/job-spec';
import type { Problem } from '../common/problems';
import { matchSupportedCarrier } from '../common/shipping';
import { ImportJobError, EXIT } from './job-errors';

export class UnknownLocationError extends ImportJobError {
  constructor(region: string, known: readonly string[]) {
    const guess = known.length > 0 ? closest(region.toLowerCase(), [...known]) : undefined;
    super('location-not-found', EXIT.notFound, `Azure has no shipping location named "${region}"${guess ? ` (did you mean "${guess}"?)` : ''}; run \`importctl locations\` for the list`);
  }
}

export interface ShippingLocations {
  /** Import/Export's shipping locations (the Data Box API has no such list). */
  list(): Promise<ShippingSite[]>;
  /** The site for a job's region on its API; throws UnknownLocationError when Azure does not know the region. */
  get(request: { region: string; api?: AzureApi; resourceGroup?: string }): Promise<ShippingSite>;
}

const LocalAzureFileSchema = z.record(z.string(), z.string());

/** Without AZURE_ENDPOINT, use the emulator that `npm start` runs (it records its settings in data/local-azure.json). */
function localAzureEnv(env: Record<string, string | undefined>): Record<string, string | undefined> {
  if (env.AZURE_ENDPOINT) return env;
  const file = env.LOCAL_AZURE_FILE ?? path.join(__dirname, '..', 'data', 'local-azure.json');
  if (!fs.existsSync(file)) return env;
  try {
    const local = LocalAzureFileSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
    return local.success ? { ...local.data, ...env } : env;
  } catch {
    return env;
  }
}

const isNotFound = (err: unknown): boolean => typeof err === 'object' && err !== null && (err as { statusCode?: unknown }).statusCode === 404;

/** The shipping locations Azure offers, or the reason they cannot be asked for (no Azure configuration). */
export function shippingLocations(env: Record<string, string | undefined>): ShippingLocations | { unavailable: string } {
  let ports: ReturnType<typeof createAzurePorts>;
  let importExport: ReturnType<typeof createImportExportPort>;
  let subscriptionId: string;
  try {
    const config = loadAzureConfig(localAzureEnv(env));
    ports = createAzurePorts(config);
    importExport = createImportExportPort(config);
    subscriptionId = config.subscriptionId;
  } catch (err) {
    return { unavailable: (err as Error).message };
  }
  const list = async (): Promise<ShippingSite[]> => (await importExport.clientFor(subscriptionId).listLocations()).map(toShippingSite);
  return {
    list,
    get: async ({ region, api = 'importexport', resourceGroup }) => {
      try {
        return await ports[api].findShippingSite({ api, subscriptionId, locationName: region, ...(resourceGroup ? { resourceGroup } : {}) });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        const known = await list().then(
          (sites) => sites.map((s) => s.locationName),
          () => [],
        );
        throw new UnknownLocationError(region, known);
      }
    },
  };
}

/**
 * Problems Azure would report minutes later: an unknown region, a return carrier the site does not take. When Azure
 * cannot be asked (network, throttling), `unchecked` says why instead.
 */
export async function azureProblems(
  spec: Pick<JobSpec, 'region' | 'returnShipping' | 'azure' | 'resourceGroup'>,
  locations: ShippingLocations,
): Promise<{ problems: Problem[]; unchecked?: string }> {
  let site: ShippingSite;
  try {
    site = await locations.get({ region: spec.region, api: azureApiOf(spec), resourceGroup: spec.resourceGroup });
  } catch (err) {
    if (err instanceof UnknownLocationError) return { problems: [{ field: 'region', message: err.message }] };
    if (err instanceof AzurePortError && !classify(err).retryable) return { problems: [{ field: 'region', message: `Azure refused region "${spec.region}": ${err.message}` }] };
    return { problems: [], unchecked: `Azure did not answer: ${err instanceof Error ? err.message : String(err)}` };
  }
  if (site.supportedCarriers.length > 0 && !matchSupportedCarrier(spec.returnShipping.carrierName, site.supportedCarriers)) {
    return { problems: [{ field: 'returnShipping.carrierName', message: `${spec.returnShipping.carrierName} is not a carrier the ${site.displayName} site works with (accepted: ${site.supportedCarriers.join(', ')})` }] };
  }
  return { problems: [] };
}
