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
    /** Store-specific secret name, e.g. `bitlocker-<jobName>-<driveId>`. Never the secret value. */
    name: z.string().regex(/^[A-Za-z0-9-]{1,127}$/, 'secret names use letters, digits and dashes (Key Vault rules)'),
  })
  .strict();
export type SecretRef = z.infer<typeof SecretRefSchema>;

/**
 * The job a secret belongs to. A secret written for one job is never handed out for another, so a spec cannot
 * borrow another job's BitLocker key by naming its reference.
 */
export interface SecretBinding {
  jobName: string;
}

/** Where secrets live. Implementations: security/secret-store.ts (local file store, Key Vault, in-memory). */
export interface SecretStore {
  /**
   * Stores `value` under `name` and returns its reference. Write-once: the same value again is a no-op, a different
   * value is refused. With a binding, the secret records the job it belongs to.
   */
  put(name: string, value: string, binding?: SecretBinding): Promise<SecretRef>;
  /**
   * Resolves a reference; throws a clear error when it is unknown. With a binding, a secret that belongs to another
   * job is refused (SecretBindingError) instead of being returned.
   */
  get(ref: SecretRef, binding?: SecretBinding): Promise<string>;
}
