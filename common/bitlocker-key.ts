import { z } from 'zod';

/**
 * A BitLocker recovery password: 8 groups of 6 digits. Each group is a multiple of 11 below 720 896
 * (it encodes a 16-bit value times 11), which catches most mistyped keys before Azure does.
 */
export const BitLockerKeySchema = z
  .string()
  .regex(/^\d{6}(-\d{6}){7}$/, 'a BitLocker recovery password is 8 groups of 6 digits separated by dashes')
  .refine(
    (key) => key.split('-').every((group) => Number(group) % 11 === 0 && Number(group) < 720_896),
    'not a valid BitLocker recovery password (each group of 6 digits is a multiple of 11 below 720896)',
  );
export type BitLockerKey = z.infer<typeof BitLockerKeySchema>;
