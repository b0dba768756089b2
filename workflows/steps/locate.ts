/**
 * Step 2: where the drives go. Import/Export: an open location for the region, following alternates. Data Box: the
 * datacenter Azure names for the region and sku. While none can take the job, the workflow waits durably.
 */
import { condition } from '@temporalio/workflow';
import type { ShippingSite } from '../../common/azure-job';
import { rest, stepReads, type StepReads } from '../activity-stubs';
import type { ImportJob } from '../import-job-state';
import { formatAddress } from '../../common/workflow-imports';

/** The first open site among `candidates` and their alternates (breadth first, each site asked once). */
export async function chooseOpenSite(job: ImportJob, candidates: string[], reads: Pick<StepReads, 'getSite'> = rest): Promise<{ open?: ShippingSite; closedReason?: string }> {
  const seen = new Set<string>();
  let closedReason: string | undefined;
  while (candidates.length > 0) {
    const name = candidates.shift()!;
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    const site = await reads.getSite(
      job.api === 'databox'
        ? { api: job.api, subscriptionId: job.spec.subscriptionId, locationName: name, resourceGroup: job.spec.resourceGroup }
        : { subscriptionId: job.spec.subscriptionId, locationName: name },
    );
    if (site.isOpen) return { open: site };
    closedReason ??= site.closedReason;
    candidates.push(...site.alternateLocationNames);
  }
  return { closedReason };
}

export async function locateSite(job: ImportJob): Promise<ShippingSite> {
  job.setStep('locating');
  const reads = stepReads(job);
  for (;;) {
    const { open: site, closedReason } = await chooseOpenSite(job, [job.spec.region], reads);
    if (site) {
      job.record('shipping site chosen', undefined, `${site.displayName} (${site.supportedCarriers.join(', ')})`);
      job.status.site = site;
      return site;
    }
    job.setStep('waiting-for-open-site');
    const retry = `retrying in ${job.spec.timing.closedSiteRetryInterval}`;
    if (job.api === 'databox') {
      job.record('Data Box customer disks are not available for the region; waiting', undefined, closedReason);
      await job.notify('sites-closed', `Azure does not take Data Box customer-disk orders for ${job.spec.region} right now${closedReason ? ` (${closedReason})` : ''}; ${retry}.`);
    } else {
      job.record('every candidate shipping site is closed; waiting');
      await job.notify('sites-closed', `Every shipping site for ${job.spec.region} is closed; ${retry}.`);
    }
    if (await condition(() => job.cancel !== undefined, job.timing.closedSiteRetryMs)) job.throwIfCancelled();
    job.setStep('locating');
  }
}

/** Where to ship, on one line: the address, or Azure's instruction when it gives no address. */
export function formatSiteAddress(site: ShippingSite): string {
  if (site.address) return formatAddress(site.address, { oneLine: true });
  return site.instruction ? `as Azure instructs: ${site.instruction}` : 'an address Azure has not given yet';
}

/** Whether two sites send the clerk to the same place. */
export function sameShipTo(a: ShippingSite, b: ShippingSite): boolean {
  return formatSiteAddress(a) === formatSiteAddress(b);
}
