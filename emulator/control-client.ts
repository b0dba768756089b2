/**
 * A typed client for the emulator's control API (`/_emulator/...`, not part of Azure). Uses fetch; no auth.
 */

export type AdvanceTarget = 'Received' | 'Transferring' | 'Packaging' | 'Completed' | 'Closed';
export type DriveState = 'Specified' | 'Received' | 'NeverReceived' | 'Transferring' | 'Completed' | 'CompletedMoreInfo' | 'ShippedBack';

export interface AdvanceRequest {
  to: AdvanceTarget;
  percentComplete?: number;
  driveStates?: Record<string, DriveState>;
  neverReceived?: string[];
}

export type OperationName =
  | 'Locations_List'
  | 'Locations_Get'
  | 'Jobs_ListBySubscription'
  | 'Jobs_ListByResourceGroup'
  | 'Jobs_Get'
  | 'Jobs_Create'
  | 'Jobs_Update'
  | 'Jobs_Delete'
  | 'BitLockerKeys_List'
  | 'Operations_List';

export interface FaultRequest {
  operation: OperationName | '*';
  kind: 'status' | 'delay' | 'drop';
  status?: number;
  retryAfterSeconds?: number;
  delayMs?: number;
  count?: number;
  rate?: number;
  afterProcessing?: boolean;
}

export interface FaultInfo extends FaultRequest {
  id: string;
  remaining?: number;
  fired: number;
}

export interface RequestLogEntry {
  seq: number;
  time: string;
  method: string;
  path: string;
  operation: string;
  status: number;
  faulted?: string;
}

/** A job as the Azure API renders it (bitLockerKey never included). */
export interface EmulatorJob {
  id: string;
  name: string;
  type: string;
  location: string;
  tags?: Record<string, string>;
  systemData: Record<string, string>;
  identity: { type: string; principalId?: string; tenantId?: string };
  properties: {
    state: string;
    cancelRequested: boolean;
    percentComplete?: number;
    driveList?: Array<{
      driveId: string;
      state: DriveState;
      copyStatus?: string;
      percentComplete?: number;
      bytesSucceeded?: number;
      errorLogUri?: string;
      verboseLogUri?: string;
      manifestUri?: string;
      manifestFile?: string;
      manifestHash?: string;
    }>;
    returnPackage?: { carrierName: string; trackingNumber: string; driveCount: number; shipDate: string };
    [key: string]: unknown;
  };
}

export interface EmulatorLocation {
  id: string;
  name: string;
  type: string;
  properties: { supportedCarriers: string[]; alternateLocations: string[]; [key: string]: unknown };
}

export class EmulatorControlError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'EmulatorControlError';
  }
}

export class EmulatorControl {
  private readonly baseUrl: string;

  /** `baseUrl`: the emulator's HTTP (or HTTPS) URL, e.g. `http://127.0.0.1:10880`. */
  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const init: RequestInit = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { Accept: 'application/json', 'Content-Type': 'application/json' };
    }
    const res = await fetch(`${this.baseUrl}/_emulator${path}`, init);
    const text = await res.text();
    const parsed: unknown = text === '' ? undefined : JSON.parse(text);
    if (!res.ok) {
      const err = (parsed as { error?: { code?: string; message?: string } } | undefined)?.error;
      throw new EmulatorControlError(res.status, err?.code ?? 'Unknown', err?.message ?? `HTTP ${res.status}`);
    }
    return parsed as T;
  }

  /** Moves a job (and its drives) forward to `body.to`, filling in intermediate states. */
  advance(subscriptionId: string, resourceGroup: string, jobName: string, body: AdvanceRequest): Promise<EmulatorJob> {
    const p = [subscriptionId, resourceGroup, jobName].map(encodeURIComponent).join('/');
    return this.call('POST', `/jobs/${p}/advance`, body);
  }

  /** Closes a site: its alternateLocations become `alternates` (it no longer lists itself). */
  closeLocation(name: string, alternates: string[]): Promise<EmulatorLocation> {
    return this.call('POST', `/locations/${encodeURIComponent(name)}/close`, { alternates });
  }

  openLocation(name: string): Promise<EmulatorLocation> {
    return this.call('POST', `/locations/${encodeURIComponent(name)}/open`, {});
  }

  async addFault(fault: FaultRequest): Promise<string> {
    const r = await this.call<{ id: string }>('POST', '/faults', fault);
    return r.id;
  }

  async faults(): Promise<FaultInfo[]> {
    return (await this.call<{ faults: FaultInfo[] }>('GET', '/faults')).faults;
  }

  async clearFaults(): Promise<void> {
    await this.call('DELETE', '/faults');
  }

  /** Moves the virtual clock forward (expiry is evaluated right away). Returns the new virtual time. */
  async advanceClock(seconds: number): Promise<string> {
    return (await this.call<{ now: string }>('POST', '/clock/advance', { seconds })).now;
  }

  async clock(): Promise<string> {
    return (await this.call<{ now: string }>('GET', '/clock')).now;
  }

  async requests(): Promise<RequestLogEntry[]> {
    return (await this.call<{ requests: RequestLogEntry[] }>('GET', '/requests')).requests;
  }

  async clearRequests(): Promise<void> {
    await this.call('DELETE', '/requests');
  }

  /** Clears jobs, faults, the request log, location overrides and the clock offset. */
  async reset(): Promise<void> {
    await this.call('POST', '/reset');
  }
}
