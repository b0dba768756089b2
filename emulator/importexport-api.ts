import { ArmError } from './errors';
import type { Reply } from './http';
import type { JobService } from './jobs';
import type { LocationCatalogue } from './locations';
import operations from './operations.json';
import { jobRoute, listKeysRoute, type AzureApi, type AzureRequest } from './router';
import type { Store } from './store';

export const IMPORT_EXPORT_API_VERSIONS = ['2021-01-01', '2020-08-01', '2016-11-01'] as const;
const PAGE_SIZE_MAX = 100;

function parseTop(query: URLSearchParams): number {
  const raw = query.get('$top');
  if (raw === null) return PAGE_SIZE_MAX;
  if (!/^\d+$/.test(raw)) throw ArmError.field('$top', `must be an integer between 1 and ${PAGE_SIZE_MAX} (got '${raw}')`);
  const n = Number(raw);
  if (n < 1 || n > PAGE_SIZE_MAX) throw ArmError.field('$top', `must be between 1 and ${PAGE_SIZE_MAX}; it cannot exceed ${PAGE_SIZE_MAX} (got ${n})`);
  return n;
}

/** `$skiptoken` is an opaque offset: base64url JSON `{o}`. */
export function parseSkipToken(raw: string | null, field = '$skiptoken'): number {
  if (raw === null) return 0;
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as { o?: unknown };
    if (typeof v.o === 'number' && Number.isInteger(v.o) && v.o >= 0) return v.o;
  } catch {
    // fall through
  }
  throw ArmError.field(field, 'is invalid');
}

export function skipToken(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString('base64url');
}

const JOB = '/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/providers/Microsoft.ImportExport/jobs/:jobName';

/** Microsoft.ImportExport (swagger 2021-01-01): the ten ARM operations. */
export function importExportApi(jobs: JobService, locations: LocationCatalogue, store: Store): AzureApi {
  const list = (r: AzureRequest, byResourceGroup: boolean): Reply => {
    const sub = r.params.subscriptionId ?? '';
    const rg = r.params.resourceGroup ?? '';
    const top = parseTop(r.query);
    const skip = parseSkipToken(r.query.get('$skiptoken'));
    const filter = r.query.get('$filter') ?? undefined;
    const all = jobs.list(sub, byResourceGroup ? rg : undefined, filter);
    const page = all.slice(skip, skip + top);
    const body: { value: unknown[]; nextLink?: string } = { value: page.map((j) => jobs.render(j)) };
    if (skip + top < all.length) {
      const q = [`api-version=${encodeURIComponent(r.apiVersion)}`, `$top=${top}`];
      if (filter !== undefined) q.push(`$filter=${encodeURIComponent(filter)}`);
      q.push(`$skiptoken=${skipToken(skip + top)}`);
      body.nextLink = `${r.origin}${r.pathname}?${q.join('&')}`;
    }
    return { status: 200, body };
  };
  return {
    name: 'importexport',
    namespace: 'Microsoft.ImportExport',
    apiVersions: IMPORT_EXPORT_API_VERSIONS,
    routes: [
      { operation: 'Operations_List', method: 'GET', path: '/providers/Microsoft.ImportExport/operations', handler: () => ({ status: 200, body: { value: operations } }) },
      {
        operation: 'Locations_List',
        method: 'GET',
        path: '/providers/Microsoft.ImportExport/locations',
        handler: () => ({ status: 200, body: { value: locations.all().map((s) => locations.render(s, store.locationOverrides)) } }),
      },
      {
        operation: 'Locations_Get',
        method: 'GET',
        path: '/providers/Microsoft.ImportExport/locations/:locationName',
        handler: (r) => {
          const name = r.params.locationName ?? '';
          const site = locations.find(name);
          if (!site) throw new ArmError(404, 'ResourceNotFound', `The location '${name}' was not found among Import/Export locations.`);
          return { status: 200, body: locations.render(site, store.locationOverrides) };
        },
      },
      { operation: 'Jobs_ListBySubscription', method: 'GET', path: '/subscriptions/:subscriptionId/providers/Microsoft.ImportExport/jobs', handler: (r) => list(r, false) },
      {
        operation: 'Jobs_ListByResourceGroup',
        method: 'GET',
        path: '/subscriptions/:subscriptionId/resourceGroups/:resourceGroup/providers/Microsoft.ImportExport/jobs',
        handler: (r) => list(r, true),
      },
      jobRoute('Jobs_Get', 'GET', JOB, (j) => ({ status: 200, body: jobs.render(jobs.mustFind(j.sub, j.rg, j.name)) })),
      jobRoute('Jobs_Create', 'PUT', JOB, async (j, r) => {
        const { status, job } = jobs.create(j.sub, j.rg, j.name, await r.json(true), r.caller);
        return { status, body: jobs.render(job) };
      }),
      jobRoute('Jobs_Update', 'PATCH', JOB, async (j, r) => ({ status: 200, body: jobs.render(jobs.update(j.sub, j.rg, j.name, await r.json(true), r.caller)) })),
      jobRoute('Jobs_Delete', 'DELETE', JOB, (j) => {
        jobs.delete(j.sub, j.rg, j.name);
        return { status: 200 };
      }),
      listKeysRoute('BitLockerKeys_List', `${JOB}/listBitLockerKeys`, (j) => jobs.listBitLockerKeys(j.sub, j.rg, j.name)),
    ],
  };
}
