/** Test job specs and prepared drives, shared by every test that runs import jobs. */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { JobSpecInput } from '../../common/job-spec';
import type { PreparedDrive } from '../../common/prepare-contract';
import type { SecretStore } from '../../common/secret-ref';

export const TEST_SUBSCRIPTION_ID = '00000000-1111-2222-3333-444444444444';
export const TEST_RESOURCE_GROUP = 'rg-imports';
/** Test-only BitLocker recovery passwords (never real keys), well-formed: each group a multiple of 11 below 720896. */
export const TEST_BITLOCKER_KEYS = ['111111-222222-333333-444444-555555-666666-110011-220022', '012012-023023-034034-045045-056056-067067-078078-089089'];
export const TEST_RETURN_ADDRESS = {
  recipientName: 'Dana Operator',
  streetAddress1: '1 Harbour Road',
  city: 'Seattle',
  stateOrProvince: 'WA',
  postalCode: '98101',
  countryOrRegion: 'USA',
  phone: '+1 206 555 0100',
  email: 'dana@example.com',
};
export const TEST_CARRIER_ACCOUNT = '987654321';
/** Short polls so tests on the dev server finish in seconds. */
export const FAST_TIMING = { trackingPollInitial: '1 second', trackingPollMax: '2 seconds', closedSiteRetryInterval: '1 second' };

/** `count` prepared drives whose BitLocker keys are put into `secrets` (the drives carry only references). */
export async function testPreparedDrives(secrets: SecretStore, opts: { idPrefix: string; dir: string; count?: number }): Promise<PreparedDrive[]> {
  const drives: PreparedDrive[] = [];
  for (let i = 0; i < (opts.count ?? 2); i++) {
    const driveId = `${opts.idPrefix}${i}${randomUUID().slice(0, 6).toUpperCase()}`;
    drives.push({
      driveId,
      drivePath: path.join(opts.dir, driveId),
      bitLockerKeyRef: await secrets.put(`bitlocker-${driveId}`, TEST_BITLOCKER_KEYS[i % TEST_BITLOCKER_KEYS.length]!),
      manifestFile: '\\DriveManifest.xml',
      manifestHash: randomUUID().replace(/-/g, '').toUpperCase(),
      fileCount: 3,
      byteCount: 1024,
    });
  }
  return drives;
}

/** A valid job spec for prepared drives in West US; `overrides` replace whole fields. */
export function testJobSpec(opts: { jobName: string; drives: PreparedDrive[]; notification: JobSpecInput['notification'] }, overrides: Partial<JobSpecInput> = {}): JobSpecInput {
  return {
    jobName: opts.jobName,
    subscriptionId: TEST_SUBSCRIPTION_ID,
    resourceGroup: TEST_RESOURCE_GROUP,
    storageAccountId: `/subscriptions/${TEST_SUBSCRIPTION_ID}/resourceGroups/${TEST_RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts/importdata`,
    region: 'westus',
    returnAddress: { ...TEST_RETURN_ADDRESS },
    returnShipping: { carrierName: 'FedEx', carrierAccountNumber: TEST_CARRIER_ACCOUNT },
    drives: { prepared: opts.drives },
    notification: opts.notification,
    timing: FAST_TIMING,
    ...overrides,
  };
}
