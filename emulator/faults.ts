import { randomUUID } from 'node:crypto';
import { z } from 'zod';

export const IMPORT_EXPORT_OPERATIONS = [
  'Locations_List',
  'Locations_Get',
  'Jobs_ListBySubscription',
  'Jobs_ListByResourceGroup',
  'Jobs_Get',
  'Jobs_Create',
  'Jobs_Update',
  'Jobs_Delete',
  'BitLockerKeys_List',
  'Operations_List',
] as const;

/** Data Box operationIds (swagger 2025-02-01), plus the poll of a long-running operation's `Location`. */
export const DATABOX_OPERATIONS = [
  'Operations_List',
  'Jobs_List',
  'Jobs_ListByResourceGroup',
  'Jobs_Get',
  'Jobs_Create',
  'Jobs_Update',
  'Jobs_Delete',
  'Jobs_MarkDevicesShipped',
  'Jobs_Cancel',
  'Jobs_ListCredentials',
  'Jobs_BookShipmentPickUp',
  'Mitigate',
  'Service_ListAvailableSkusByResourceGroup',
  'Service_RegionConfiguration',
  'Service_RegionConfigurationByResourceGroup',
  'Service_ValidateInputs',
  'Service_ValidateInputsByResourceGroup',
  'Service_ValidateAddress',
  'OperationResults_Get',
] as const;

export const OPERATION_IDS = [...new Set<string>([...IMPORT_EXPORT_OPERATIONS, ...DATABOX_OPERATIONS])];
export type ImportExportOperationId = (typeof IMPORT_EXPORT_OPERATIONS)[number];
export type DataBoxOperationId = (typeof DATABOX_OPERATIONS)[number];

export const FaultSpecSchema = z
  .object({
    /** An operationId (e.g. `Jobs_Create`) or `*` for every Azure API call. */
    operation: z.string().min(1),
    /** Only calls of this API (both when absent; operationIds such as Jobs_Create exist in both). */
    api: z.enum(['importexport', 'databox']).optional(),
    kind: z.enum(['status', 'delay', 'drop']),
    /** For kind `status`: the HTTP status to answer with (429, 500, 503, ...). */
    status: z.number().int().min(400).max(599).optional(),
    /** Sets `Retry-After` (seconds) on status faults. */
    retryAfterSeconds: z.number().int().min(0).optional(),
    /** For kind `delay`: how long to hold the response. */
    delayMs: z.number().int().min(0).max(600_000).optional(),
    /** Apply to the next N matching calls, then the fault is spent. */
    count: z.number().int().min(1).optional(),
    /** Probability (0..1) that a matching call is faulted, until cleared. */
    rate: z.number().min(0).max(1).optional(),
    /** Execute the operation (state changes) and then fault the response: a lost response. */
    afterProcessing: z.boolean().optional(),
  })
  .strict()
  .superRefine((f, ctx) => {
    if (f.operation !== '*' && !OPERATION_IDS.some((o) => o.toLowerCase() === f.operation.toLowerCase())) {
      ctx.addIssue({ code: 'custom', path: ['operation'], message: `must be '*' or one of ${OPERATION_IDS.join(', ')}` });
    }
    if (f.kind === 'status' && f.status === undefined) ctx.addIssue({ code: 'custom', path: ['status'], message: "is required for kind 'status'" });
    if (f.kind === 'delay' && f.delayMs === undefined) ctx.addIssue({ code: 'custom', path: ['delayMs'], message: "is required for kind 'delay'" });
  });
export type FaultSpec = z.infer<typeof FaultSpecSchema>;

export interface Fault extends FaultSpec {
  id: string;
  /** Remaining applications for count-limited faults. */
  remaining?: number;
  /** How many times it fired so far. */
  fired: number;
}

/** What to do with one request, decided before it is processed. */
export interface FaultPlan {
  delayBeforeMs: number;
  delayAfterMs: number;
  /** A status/drop fault, applied before or after processing. */
  terminal?: Fault;
  /** Labels of faults that fired (for the request log), e.g. `status:503`, `delay:200`, `drop`. */
  labels: string[];
}

export function faultLabel(f: FaultSpec): string {
  const base = f.kind === 'status' ? `status:${String(f.status)}` : f.kind === 'delay' ? `delay:${String(f.delayMs)}` : 'drop';
  return f.afterProcessing ? `${base}:after` : base;
}

export class FaultRegistry {
  private faults: Fault[] = [];

  add(spec: FaultSpec): Fault {
    const canonical = spec.operation === '*' ? '*' : (OPERATION_IDS.find((o) => o.toLowerCase() === spec.operation.toLowerCase()) ?? spec.operation);
    const fault: Fault = { ...spec, operation: canonical, id: randomUUID(), fired: 0 };
    if (spec.count !== undefined) fault.remaining = spec.count;
    this.faults.push(fault);
    return fault;
  }

  list(): Fault[] {
    return this.faults.map((f) => ({ ...f }));
  }

  clear(): void {
    this.faults = [];
  }

  /**
   * Decides the faults of one call. Faults match in the order they were added; every matching delay fault
   * adds its delay; the first matching status/drop fault that fires is the terminal one.
   * A fault without `count` and `rate` applies to every matching call until cleared.
   */
  plan(operation: string, api: 'importexport' | 'databox' | undefined): FaultPlan {
    const plan: FaultPlan = { delayBeforeMs: 0, delayAfterMs: 0, labels: [] };
    for (const f of this.faults) {
      if (f.operation !== '*' && f.operation !== operation) continue;
      if (f.api !== undefined && f.api !== api) continue;
      if (f.remaining !== undefined && f.remaining <= 0) continue;
      if (f.kind !== 'delay' && plan.terminal) continue;
      if (f.rate !== undefined && !(Math.random() < f.rate)) continue;
      if (f.remaining !== undefined) f.remaining -= 1;
      f.fired += 1;
      plan.labels.push(faultLabel(f));
      if (f.kind === 'delay') {
        if (f.afterProcessing) plan.delayAfterMs += f.delayMs ?? 0;
        else plan.delayBeforeMs += f.delayMs ?? 0;
      } else {
        plan.terminal = f;
      }
    }
    this.faults = this.faults.filter((f) => f.remaining === undefined || f.remaining > 0);
    return plan;
  }
}

/** ARM's error code and message for each injected status (the wording Azure uses for it, where it has one). */
const FAULT_ERRORS: Record<number, { code: string; message?: string }> = {
  429: { code: 'TooManyRequests', message: 'The request is being throttled as the limit has been reached for operation type. (injected fault)' },
  500: { code: 'InternalServerError', message: 'The server encountered an internal error. Please retry the request. (injected fault)' },
  502: { code: 'BadGateway' },
  503: { code: 'ServiceUnavailable', message: 'The service is temporarily unavailable. Please retry the request later. (injected fault)' },
  504: { code: 'GatewayTimeout' },
  409: { code: 'Conflict' },
};

export function faultErrorCode(status: number): string {
  return FAULT_ERRORS[status]?.code ?? 'InjectedFault';
}

export function faultMessage(status: number): string {
  return FAULT_ERRORS[status]?.message ?? `Injected fault: HTTP ${status}.`;
}
