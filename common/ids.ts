import { z } from 'zod';

/** Azure job names (both APIs): lowercase letters, digits and hyphens, starting with a letter, 3–24… ARM allows 64. */
export const JobNameSchema = z
  .string()
  .min(3, 'job names have at least 3 characters')
  .max(64, 'job names have at most 64 characters')
  .regex(/^[a-z][a-z0-9-]*$/, 'job names use lowercase letters, digits and hyphens and start with a letter')
  .refine((s) => !s.endsWith('-') && !s.includes('--'), 'job names do not end with a hyphen or contain "--"');

export const SubscriptionIdSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'a subscription GUID such as 00000000-0000-0000-0000-000000000000');

/** ARM rule: 1–90 letters, digits, underscores, hyphens, periods and parentheses, not ending in a period. */
export const ResourceGroupSchema = z
  .string()
  .regex(/^[-\w.()]{1,90}$/, 'a resource group name (1-90 letters, digits, -_.())')
  .refine((s) => !s.endsWith('.'), 'resource group names do not end with a period');

/** Storage account names: 3–24 lowercase letters and digits. */
export const StorageAccountNameSchema = z.string().regex(/^[a-z0-9]{3,24}$/, 'storage account names are 3-24 lowercase letters and digits');

export const StorageAccountIdSchema = z
  .string()
  .max(400)
  .regex(
    /^\/subscriptions\/[0-9a-fA-F-]{36}\/resourceGroups\/[-\w.()]{1,90}\/providers\/Microsoft\.(ClassicStorage|Storage)\/storageAccounts\/[a-z0-9]{3,24}$/,
    'an ARM id: /subscriptions/<subscription GUID>/resourceGroups/<rg>/providers/Microsoft.Storage/storageAccounts/<lowercase name>',
  );

/** Region names as ARM spells them ("westus", "West US"). */
export const RegionSchema = z
  .string()
  .min(2, 'region is required')
  .max(64, 'region names have at most 64 characters')
  .regex(/^[A-Za-z][A-Za-z0-9 ]*$/, 'a region name such as "westus" or "West US"');

/** Blob container names: 3–63 lowercase letters, digits and single hyphens, starting with a letter or digit. */
export const ContainerNameSchema = z
  .string()
  .regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'container names are 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit');

const WORKFLOW_ID_PREFIX = 'import-job-';

/** Workflow ids are business ids: one workflow per Azure job name. */
export function workflowIdForJob(jobName: string): string {
  return `${WORKFLOW_ID_PREFIX}${jobName}`;
}

/** The job name of an import-job workflow id, or undefined for other workflows. */
export function jobNameFromWorkflowId(workflowId: string): string | undefined {
  return workflowId.startsWith(WORKFLOW_ID_PREFIX) ? workflowId.slice(WORKFLOW_ID_PREFIX.length) : undefined;
}

/** The storage account name at the end of a storage account id. */
export function storageAccountName(storageAccountId: string): string {
  return storageAccountId.split('/').filter(Boolean).pop() ?? storageAccountId;
}
