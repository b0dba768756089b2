/**
 * Everything from common/ that workflow code uses at run time: the zod schemas and the functions over them.
 * Workflows import these values only from here (lint enforces it), because the worker evaluates this module, zod
 * included, once per workflow thread and shares it with every workflow (worker/workflow-shared-modules.ts) instead of
 * evaluating it again for each workflow the sandbox creates.
 */
export { formatAddress } from './address';
export { EXPIRED_JOB_STATE, NON_RETRYABLE_ERROR_TYPES, cancellableStates, inTransitStates, terminalStates } from './azure-job';
export { durationToMs } from './duration';
export { jobNameFromWorkflowId } from './ids';
export { JobSpecSchema, azureApiOf } from './job-spec';
export { formatProblems, problemsFromZodError } from './problems';
export { ShipmentSchema, shipmentProblems } from './shipping';
