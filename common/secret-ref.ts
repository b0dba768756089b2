import { z } from 'zod';

/**
 * A reference to a secret held in a secret store. Workflows, activity arguments/results and
 * histories carry only this; the secret itself is resolved by the one activity that needs it.
 */
export const SecretRefSchema = z
  .object({
    kind: z.literal('secret-ref'),
    /** Which store holds it: the local encrypted file store or Azure Key Vault. */
    store: z.enum(['local', 'keyvault']),
    /** Store-specific secret name, e.g. `bitlocker-<preparationId>-<driveId>`. Never the secret value. */
    name: z.string().regex(/^[A-Za-z0-9-]{1,127}$/, 'secret names use letters, digits and dashes (Key Vault rules)'),
  })
  .strict();
export type SecretRef = z.infer<typeof SecretRefSchema>;

/** BitLocker recovery password: 8 groups of 6 digits separated by dashes. */
export const BITLOCKER_KEY_PATTERN = /^\d{6}(-\d{6}){7}$/;

/** Where secrets live. Implementations: activities/secrets (local file store, Key Vault). */
export interface SecretStore {
  /** Stores `value` under `name` (idempotent for the same value) and returns its reference. */
  put(name: string, value: string): Promise<SecretRef>;
  /** Resolves a reference; throws a clear error when it is unknown. */
  get(ref: SecretRef): Promise<string>;
}
