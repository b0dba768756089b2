import { z } from 'zod';
import type { Problem } from './problems';
import { textSchema } from './text';

/** What a shipping clerk submits once the drives are in the box. */
export const ShipmentSchema = z
  .object({
    carrierName: textSchema(50, 'carrierName').pipe(z.string().min(1, 'carrier is required')),
    trackingNumber: z
      .string()
      .max(100, 'tracking numbers are 8-40 letters and digits')
      .transform((s) => s.replace(/\s+/g, '').toUpperCase())
      .pipe(z.string().regex(/^[A-Z0-9]{8,40}$/, 'tracking numbers are 8-40 letters and digits')),
    driveCount: z.number().int().min(1).max(10),
    /** ISO date (YYYY-MM-DD) or date-time; not in the future. */
    shipDate: z.string().max(40).refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO date such as 2026-11-24'),
    /** Who submitted it (clerk's user name); recorded in the timeline. */
    submittedBy: textSchema(100, 'submittedBy').pipe(z.string().min(1)).default('unknown'),
  })
  .strict();
export type Shipment = z.infer<typeof ShipmentSchema>;
export type ShipmentInput = z.input<typeof ShipmentSchema>;

/** Carrier-specific tracking number shapes; carriers not listed only get the generic check. */
const TRACKING_PATTERNS: Record<string, { pattern: RegExp; example: string }> = {
  UPS: { pattern: /^1Z[0-9A-Z]{16}$/, example: '1Z999AA10123456784' },
  FEDEX: { pattern: /^(\d{12}|\d{15}|\d{20}|\d{22})$/, example: '123456789012' },
  DHL: { pattern: /^\d{10,11}$/, example: '1234567890' },
  TNT: { pattern: /^\d{9}$/, example: '123456789' },
  'BLUE DART': { pattern: /^\d{8,11}$/, example: '12345678901' },
};

export function normaliseCarrier(name: string): string {
  return name.trim().toUpperCase();
}

/** Returns the matching carrier name as the site spells it, or undefined when the site does not take it. */
export function matchSupportedCarrier(carrier: string, supported: readonly string[]): string | undefined {
  return supported.find((s) => normaliseCarrier(s) === normaliseCarrier(carrier));
}

/** Problems with a shipment for a site and job (empty when acceptable). */
export function shipmentProblems(
  shipment: Shipment,
  context: { supportedCarriers: readonly string[]; expectedDriveCount: number; now: Date; usedTrackingNumbers?: readonly string[] },
): Problem[] {
  const problems: Problem[] = [];
  const carrier = matchSupportedCarrier(shipment.carrierName, context.supportedCarriers);
  if (!carrier) {
    problems.push({ field: 'carrierName', message: `${shipment.carrierName} is not accepted at this site (accepted: ${context.supportedCarriers.join(', ') || 'none'})` });
  } else {
    const rule = TRACKING_PATTERNS[normaliseCarrier(carrier)];
    if (rule && !rule.pattern.test(shipment.trackingNumber)) {
      problems.push({ field: 'trackingNumber', message: `${shipment.trackingNumber} is not a ${carrier} tracking number (e.g. ${rule.example})` });
    }
  }
  if (context.usedTrackingNumbers?.includes(shipment.trackingNumber)) {
    problems.push({ field: 'trackingNumber', message: `${shipment.trackingNumber} was already used for an earlier shipment of this job` });
  }
  if (shipment.driveCount !== context.expectedDriveCount) {
    problems.push({ field: 'driveCount', message: `the job has ${context.expectedDriveCount} drive(s), not ${shipment.driveCount}` });
  }
  const shipTime = Date.parse(shipment.shipDate);
  // A day of slack: clerks enter local dates, workflow time is UTC.
  if (shipTime > context.now.getTime() + 24 * 3600 * 1000) {
    problems.push({ field: 'shipDate', message: `${shipment.shipDate} is in the future` });
  }
  return problems;
}
