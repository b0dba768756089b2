import { mkdirSync, readFileSync, renameSync, writeFileSync, existsSync, chmodSync, openSync, fsyncSync, closeSync } from 'node:fs';
import path from 'node:path';
import { defaultSettings, type DataBoxJob, type DataBoxPersisted, type LroOperation } from './databox/model';
import type { RegionOverride } from './databox/regions';
import type { SiteAddress } from './locations';
import type { DeliveryPackage, EncryptionKey, ExportInfo, ReturnAddress, ReturnShipping } from './schemas';

export const JOB_STATES = ['Creating', 'Shipping', 'Received', 'Transferring', 'Packaging', 'Completed', 'Closed'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const DRIVE_STATES = ['Specified', 'Received', 'NeverReceived', 'Transferring', 'Completed', 'CompletedMoreInfo', 'ShippedBack'] as const;
export type DriveState = (typeof DRIVE_STATES)[number];

export interface StoredDrive {
  driveId: string;
  /** Write-only: never rendered in job responses, only by listBitLockerKeys. */
  bitLockerKey?: string;
  manifestFile?: string;
  manifestHash?: string;
  driveHeaderHash?: string;
  state: DriveState;
  copyStatus?: string;
  percentComplete?: number;
  verboseLogUri?: string;
  errorLogUri?: string;
  manifestUri?: string;
  bytesSucceeded?: number;
}

export type ShippingInfo = SiteAddress & { additionalInformation: string };

export interface PackageInfo {
  carrierName: string;
  trackingNumber: string;
  driveCount: number;
  shipDate: string;
}

export interface SystemData {
  createdBy: string;
  createdByType: 'User' | 'Application' | 'ManagedIdentity' | 'Key';
  createdAt: string;
  lastModifiedBy: string;
  lastModifiedByType: 'User' | 'Application' | 'ManagedIdentity' | 'Key';
  lastModifiedAt: string;
}

export interface StoredJob {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
  /** Short name of the job's location (rendered as its display name). */
  location: string;
  tags?: Record<string, string>;
  identity: { type: 'None' | 'SystemAssigned' | 'UserAssigned'; principalId?: string; tenantId?: string };
  systemData: SystemData;
  properties: {
    storageAccountId: string;
    jobType: 'Import' | 'Export';
    returnAddress?: ReturnAddress;
    returnShipping?: ReturnShipping;
    shippingInformation: ShippingInfo;
    deliveryPackage?: DeliveryPackage;
    returnPackage?: PackageInfo;
    diagnosticsPath: string;
    logLevel: string;
    backupDriveManifest: boolean;
    state: JobState;
    cancelRequested: boolean;
    percentComplete?: number;
    incompleteBlobListUri?: string;
    driveList?: StoredDrive[];
    export?: ExportInfo;
    provisioningState: 'Succeeded';
    encryptionKey: EncryptionKey;
  };
  /** Short name of the site drives ship to (the location, or its open alternate at creation). */
  shippingSite: string;
  /** Ordering key for lists. */
  seq: number;
  /** Start of the 14-day Creating expiry (reset by every PUT/PATCH while Creating). */
  creatingSince: string;
  /** When the job became Completed/Closed (start of the 90-day retention). */
  terminalSince?: string;
}

export interface PersistedState {
  version: 1;
  clockOffsetMs: number;
  seq: number;
  jobs: StoredJob[];
  /** Location short name → alternate short names (closed/opened through the control API). */
  locationOverrides: Record<string, string[]>;
  /** Microsoft.DataBox jobs, operations and region overrides (absent in files written before it existed). */
  databox?: DataBoxPersisted;
}

/** The Data Box part of the state, in memory. */
export class DataBoxState {
  readonly jobs = new Map<string, DataBoxJob>();
  readonly operations = new Map<string, LroOperation>();
  regionOverrides: Record<string, RegionOverride> = {};
  settings = defaultSettings();

  load(p: DataBoxPersisted | undefined): void {
    this.clear();
    if (!p) return;
    for (const j of p.jobs) this.jobs.set(jobKey(j.subscriptionId, j.resourceGroup, j.name), j);
    for (const o of p.operations) this.operations.set(o.id, o);
    this.regionOverrides = p.regionOverrides;
    this.settings = { ...defaultSettings(), ...p.settings };
  }

  clear(): void {
    this.jobs.clear();
    this.operations.clear();
    this.regionOverrides = {};
    this.settings = defaultSettings();
  }

  persisted(): DataBoxPersisted {
    return { jobs: [...this.jobs.values()], operations: [...this.operations.values()], regionOverrides: this.regionOverrides, settings: this.settings };
  }
}

export const STATE_FILE = 'state.json';

export function jobKey(subscriptionId: string, resourceGroup: string, name: string): string {
  return `${subscriptionId.toLowerCase()}/${resourceGroup.toLowerCase()}/${name.toLowerCase()}`;
}

const DAY_MS = 86_400_000;
export const CREATING_EXPIRY_MS = 14 * DAY_MS;
export const RETENTION_MS = 90 * DAY_MS;

/** The emulator's "Azure" database: jobs (with BitLocker keys), location overrides, virtual clock. */
export class Store {
  readonly jobs = new Map<string, StoredJob>();
  locationOverrides: Record<string, string[]> = {};
  readonly databox = new DataBoxState();
  clockOffsetMs = 0;
  private seq = 0;
  readonly file: string;

  constructor(readonly dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.file = path.join(dataDir, STATE_FILE);
    if (existsSync(this.file)) {
      const raw = JSON.parse(readFileSync(this.file, 'utf8')) as PersistedState;
      if (raw.version !== 1) throw new Error(`${this.file}: unsupported state version ${String(raw.version)}`);
      this.clockOffsetMs = raw.clockOffsetMs;
      this.seq = raw.seq;
      this.locationOverrides = raw.locationOverrides;
      this.databox.load(raw.databox);
      for (const j of raw.jobs) this.jobs.set(jobKey(j.subscriptionId, j.resourceGroup, j.name), j);
    }
  }

  now(): Date {
    return new Date(Date.now() + this.clockOffsetMs);
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  reset(): void {
    this.jobs.clear();
    this.locationOverrides = {};
    this.databox.clear();
    this.clockOffsetMs = 0;
    this.seq = 0;
    this.save();
  }

  private lastExpiry = { wallMs: 0, offsetMs: Number.NaN };

  /**
   * Deletes jobs whose service timers ran out. Returns true if anything changed. A scan costs O(jobs), so it runs at
   * most once a second of real time unless the virtual clock moved (service timers are days long).
   */
  expire(): boolean {
    const wall = Date.now();
    if (this.lastExpiry.offsetMs === this.clockOffsetMs && wall - this.lastExpiry.wallMs < 1000) return false;
    this.lastExpiry = { wallMs: wall, offsetMs: this.clockOffsetMs };
    const now = this.now().getTime();
    let changed = false;
    for (const [k, j] of this.jobs) {
      const state = j.properties.state;
      if (state === 'Creating' && now - Date.parse(j.creatingSince) >= CREATING_EXPIRY_MS) {
        this.jobs.delete(k);
        changed = true;
      } else if ((state === 'Completed' || state === 'Closed') && j.terminalSince && now - Date.parse(j.terminalSince) >= RETENTION_MS) {
        this.jobs.delete(k);
        changed = true;
      }
    }
    if (changed) this.save();
    return changed;
  }

  private saveTimer: NodeJS.Timeout | undefined;

  /**
   * Schedules a write of the state. Writes are coalesced (one per ~20 ms however many requests changed state), so a
   * busy emulator with thousands of jobs does not rewrite its whole database on every request; close() flushes.
   */
  save(): void {
    this.saveTimer ??= setTimeout(() => this.flush(), 20);
  }

  /** Writes the state now if a write is pending: atomically (temp file + fsync + rename), mode 0600. */
  flush(): void {
    if (this.saveTimer === undefined) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    const state: PersistedState = {
      version: 1,
      clockOffsetMs: this.clockOffsetMs,
      seq: this.seq,
      jobs: [...this.jobs.values()],
      locationOverrides: this.locationOverrides,
      databox: this.databox.persisted(),
    };
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(state, null, 1), { mode: 0o600 });
    const fd = openSync(tmp, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.file);
  }
}
