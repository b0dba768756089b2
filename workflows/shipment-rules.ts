/** Shipment checks that need no activity, and the structured rejection clients read. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { ShippingSite } from '../common/azure-job';
import type { Problem } from '../common/problems';
import type { Shipment } from '../common/shipping';
import { formatProblems, shipmentProblems } from '../common/workflow-imports';

/** A rejected shipment: the message for people, the problems (`details[0]`) for programs. */
export function invalidShipment(problems: Problem[]): ApplicationFailure {
  return ApplicationFailure.create({ type: 'InvalidShipment', message: formatProblems(problems).join('\n'), details: [problems], nonRetryable: true });
}

/** Throws `InvalidShipment` when the shipment does not fit the site or the job. */
export function validateShipmentFor(
  shipment: Shipment,
  context: { site: ShippingSite; expectedDriveCount: number; now: Date; usedTrackingNumbers: readonly string[] },
): void {
  const problems = shipmentProblems(shipment, {
    supportedCarriers: context.site.supportedCarriers,
    expectedDriveCount: context.expectedDriveCount,
    now: context.now,
    usedTrackingNumbers: context.usedTrackingNumbers,
  });
  if (problems.length > 0) throw invalidShipment(problems);
}

/** The problems a rejected shipment carries (from its details), for rejected signals recorded in the status. */
export function problemsOf(err: unknown): Problem[] {
  if (err instanceof ApplicationFailure && err.type === 'InvalidShipment' && Array.isArray(err.details?.[0])) return err.details[0] as Problem[];
  return [{ field: '(shipment)', message: err instanceof Error ? err.message : String(err) }];
}
