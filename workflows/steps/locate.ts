/** Step 2: an open shipping site for the job's region (following alternates), waiting durably while none is. */
import { condition } from '@temporalio/workflow';
import { formatAddress } from '../../common/address';
import type { SiteInfo } from '../../common/import-job-contract';
import { rest } from '../activities';
import type { ImportJob } from '../import-job-state';

/** The first open site among `candidates` and their alternates (breadth first, each site asked once). */
export async function chooseOpenSite(job: ImportJob, candidates: string[]): Promise<SiteInfo | undefined> {
  const seen = new Set<string>();
  while (candidates.length > 0) {
    const name = candidates.shift()!;
    if (seen.has(name.toLowerCase())) continue;
    seen.add(name.toLowerCase());
    const site = await rest.getSite({ subscriptionId: job.spec.subscriptionId, locationName: name });
    if (site.isOpen) return site;
    candidates.push(...site.alternateLocationNames);
  }
  return undefined;
}

export async function locateSite(job: ImportJob): Promise<SiteInfo> {
  job.setStep('locating');
  for (;;) {
    const site = await chooseOpenSite(job, [job.spec.region]);
    if (site) {
      job.record('shipping site chosen', undefined, `${site.displayName} (${site.supportedCarriers.join(', ')})`);
      job.status.site = site;
      return site;
    }
    job.setStep('waiting-for-open-site');
    job.record('every candidate shipping site is closed; waiting');
    await job.notify('sites-closed', `Every shipping site for ${job.spec.region} is closed; retrying in ${job.spec.timing.closedSiteRetryInterval}.`);
    if (await condition(() => job.cancel !== undefined, job.timing.closedSiteRetryMs)) job.throwIfCancelled();
    job.setStep('locating');
  }
}

/** The ship-to address on one line, for notifications and rejection hints. */
export function formatSiteAddress(site: SiteInfo): string {
  return formatAddress(site.address, { oneLine: true });
}
