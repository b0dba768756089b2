import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/**
 * Typed search attributes of import-job workflows: how `importctl list` and the Web UI find a job.
 * They are not encrypted, so they hold identifiers only (no addresses, names or keys).
 */
export const ImportJobStateKey = defineSearchAttributeKey('ImportJobState', SearchAttributeType.KEYWORD);
export const ImportJobStepKey = defineSearchAttributeKey('ImportJobStep', SearchAttributeType.KEYWORD);
export const ImportJobNameKey = defineSearchAttributeKey('ImportJobName', SearchAttributeType.KEYWORD);
export const StorageAccountKey = defineSearchAttributeKey('ImportStorageAccount', SearchAttributeType.KEYWORD);
export const TrackingNumberKey = defineSearchAttributeKey('ImportTrackingNumber', SearchAttributeType.KEYWORD);
export const DriveIdsKey = defineSearchAttributeKey('ImportDriveIds', SearchAttributeType.KEYWORD_LIST);

export const IMPORT_JOB_SEARCH_ATTRIBUTES = [
  ImportJobStateKey,
  ImportJobStepKey,
  ImportJobNameKey,
  StorageAccountKey,
  TrackingNumberKey,
  DriveIdsKey,
] as const;

/** `--search-attribute` arguments for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  const kind = { KEYWORD: 'Keyword', KEYWORD_LIST: 'KeywordList' } as const;
  return IMPORT_JOB_SEARCH_ATTRIBUTES.flatMap((k) => ['--search-attribute', `${k.name}=${kind[k.type as keyof typeof kind]}`]);
}
