/**
 * What can go wrong when asking Temporal about an import job, as types a caller can tell apart. Each error carries
 * the CLI exit code it maps to, so importctl and scripts agree (2 invalid input, 3 refused, 4 not found).
 */
import type { WorkflowExecutionStatusName } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { ProblemSchema, type Problem } from '../common/problems';

export const EXIT = { ok: 0, failure: 1, input: 2, refused: 3, notFound: 4, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Base of every error the job service throws on purpose; `code` is stable and machine-readable. */
export class ImportJobError extends Error {
  constructor(
    readonly code: string,
    readonly exitCode: ExitCode,
    message: string,
    readonly problems: Problem[] = [],
  ) {
    super(message);
    this.name = 'ImportJobError';
  }
}

/** Input refused before anything reached Temporal. */
export class InvalidInputError extends ImportJobError {
  constructor(message: string, problems: Problem[] = []) {
    super('invalid-input', EXIT.input, message, problems);
  }
}

export class JobNotFoundError extends ImportJobError {
  constructor(readonly jobName: string) {
    super('job-not-found', EXIT.notFound, `no import job named ${jobName}`);
  }
}

/** How a finished run ended, in the words `status` and `list` print. */
export function outcomeOf(status: WorkflowExecutionStatusName): string {
  return status.toLowerCase().replace(/_/g, '-');
}

/** The job's workflow has finished: it takes no more shipments, cancellations or re-creations. */
export class JobEndedError extends ImportJobError {
  constructor(
    readonly jobName: string,
    readonly finalState: WorkflowExecutionStatusName,
    readonly closedAt: Date | undefined,
  ) {
    super('job-ended', EXIT.refused, `import job ${jobName} has ended (${outcomeOf(finalState)}${closedAt ? ` at ${closedAt.toISOString()}` : ''}); it accepts no more requests`);
  }
}

export class JobAlreadyRunningError extends ImportJobError {
  constructor(readonly jobName: string) {
    super('job-running', EXIT.refused, `import job ${jobName} is already running; job names are unique`);
  }
}

/** Starting a spec whose job already ran to an end: a new run is only made when asked for explicitly. */
export class RerunRefusedError extends ImportJobError {
  constructor(
    readonly jobName: string,
    readonly finalState: WorkflowExecutionStatusName,
    readonly closedAt: Date | undefined,
  ) {
    super(
      'job-finished',
      EXIT.refused,
      `import job ${jobName} already ran and ended (${outcomeOf(finalState)}${closedAt ? ` at ${closedAt.toISOString()}` : ''}); ` +
        'starting it again creates a new run against the same Azure job: pass --rerun if that is what you want',
    );
  }
}

/** The workflow refused a shipment; `problems` lists every reason, one per field. */
export class ShipmentRejectedError extends ImportJobError {
  constructor(problems: Problem[]) {
    super('shipment-rejected', EXIT.refused, `refused: ${problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ')}`, problems);
  }
}

/** The workflow refused a request (cancel after shipping, re-create of a job that has not expired, …). */
export class RequestRefusedError extends ImportJobError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super('refused', EXIT.refused, `refused: ${message}`);
  }
}

export class TemporalUnavailableError extends ImportJobError {
  constructor(address: string, cause: string) {
    super('temporal-unavailable', EXIT.failure, `cannot reach Temporal at ${address}: ${cause}. Is \`npm start\` running?`);
  }
}

/** Updates sent to a run that has just finished fail with this gRPC status rather than NOT_FOUND. */
export function isCompletedError(err: unknown): boolean {
  return err instanceof Error && /workflow execution (is )?already completed/i.test(err.message);
}

/** A workflow's refusal of an update as the job service's error: shipments with every problem from `details`. */
export function refusalOf(failure: ApplicationFailure): Error {
  if (failure.type === 'InvalidShipment') {
    const problems = z.array(ProblemSchema).safeParse(failure.details?.[0]);
    const list: Problem[] = problems.success && problems.data.length > 0 ? problems.data : [{ field: '', message: failure.message }];
    return new ShipmentRejectedError(list);
  }
  return new RequestRefusedError(failure.type ?? 'Refused', failure.message);
}
