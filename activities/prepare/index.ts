/**
 * The prepare step (seed step 1): copies a data set onto import drives while hashing it, and
 * writes each drive's DriveManifest.xml — WAImportExport PrepImport for Linux/macOS.
 */
export { parseDatasetCsv, parseDrivesetCsv, parsePrepareSpecText, bitLockerSecretName, type PrepareSpecSection } from './inputs';
export { prepareDrives, type PrepareOptions } from './prepare';
export { verifyDrive, type VerifyMismatch, type VerifyResult, type VerifyOptions } from './verify';
export {
  PrepareInputError,
  PrepareInputErrors,
  InsufficientCapacityError,
  SourceReadError,
  JournalMismatchError,
  PrepareCancelledError,
  type InputLocation,
} from './errors';
export { MANIFEST_FILE_NAME, MANIFEST_FILE_API_PATH, parseManifest, type ParsedManifest } from './manifest';
export { readDriveSerial } from './driveid';
export type { DatasetEntry, DriveSpec, PrepareRequest, PrepareRequestInput, PrepareResult, PrepareProgress, PreparedDrive } from '../../common/prepare-contract';
