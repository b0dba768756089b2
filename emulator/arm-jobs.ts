import { ArmError } from './errors';
import { caseInsensitiveEq } from './format';
import { jobKey } from './store';

/** ARM resource-group names: 1-90 of letters, digits, '_', '-', '.', '(', ')'; not ending in '.'. */
export const RESOURCE_GROUP_RE = /^[-\w.()]{0,89}[-\w()]$/;

/** What a stored job of either provider has: its scope, its name and its place in creation order. */
export interface ScopedJob {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  seq: number;
}

/**
 * One resource provider's jobs, keyed case-insensitively by subscription, resource group and name, with ARM's
 * answers for a resource group or a job that does not exist. Both providers' job services build on it.
 */
export abstract class ArmJobs<J extends ScopedJob> {
  protected constructor(
    private readonly resourceType: string,
    private readonly byKey: ReadonlyMap<string, J>,
  ) {}

  checkResourceGroup(rg: string): void {
    if (!RESOURCE_GROUP_RE.test(rg)) throw new ArmError(404, 'ResourceGroupNotFound', `Resource group '${rg}' could not be found.`);
  }

  find(sub: string, rg: string, name: string): J | undefined {
    return this.byKey.get(jobKey(sub, rg, name));
  }

  mustFind(sub: string, rg: string, name: string): J {
    this.checkResourceGroup(rg);
    const job = this.find(sub, rg, name);
    if (!job) {
      throw new ArmError(
        404,
        'ResourceNotFound',
        `The Resource '${this.resourceType}/${name}' under resource group '${rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
      );
    }
    return job;
  }

  /** The subscription's jobs (or one resource group's), oldest first. */
  list(sub: string, rg: string | undefined): J[] {
    if (rg !== undefined) this.checkResourceGroup(rg);
    return [...this.byKey.values()]
      .filter((j) => caseInsensitiveEq(j.subscriptionId, sub) && (rg === undefined || caseInsensitiveEq(j.resourceGroup, rg)))
      .sort((a, b) => a.seq - b.seq);
  }
}
