/**
 * Secrets found while a job spec is read. Nothing reaches the real store until every input is valid: the parsers
 * write into a StagedSecretStore, and only `commit()` (after validation, never in a dry run) writes through.
 */
import type { JobSpec } from '../common/job-spec';
import type { Problem } from '../common/problems';
import type { SecretBinding, SecretRef, SecretStore } from '../common/secret-ref';
import { SecretBindingError, SecretNotFoundError } from '../security/secret-store';

const MAX_REVISIONS = 50;

/** `name`, then `name-r2`, `name-r3` … within Key Vault's 127-character limit. */
function revisionName(name: string, revision: number): string {
  if (revision === 1) return name;
  const suffix = `-r${revision}`;
  return `${name.slice(0, 127 - suffix.length)}${suffix}`;
}

/**
 * Records puts instead of performing them, and decides the name each value will be stored under.
 *
 * Secrets stay write-once. A value that differs from what a name already holds (a corrected key, typically after
 * an earlier attempt was refused) goes to the next free revision name instead of replacing the old value in place:
 * replacing would be safe only if no workflow could ever have been handed the old reference, and that cannot be
 * known without a race (two starts of the same job name, one replacing the key the other's workflow then reads).
 * With revisions, every reference a workflow holds keeps resolving to the value it was started with.
 */
export class StagedSecretStore implements SecretStore {
  readonly #pending = new Map<string, string>();

  constructor(
    private readonly target: SecretStore,
    private readonly store: SecretRef['store'],
    private readonly binding: SecretBinding,
  ) {}

  /** Names that commit() would write (never the values). */
  get pendingNames(): string[] {
    return [...this.#pending.keys()];
  }

  async put(name: string, value: string): Promise<SecretRef> {
    for (let revision = 1; revision <= MAX_REVISIONS; revision++) {
      const ref: SecretRef = { kind: 'secret-ref', store: this.store, name: revisionName(name, revision) };
      const staged = this.#pending.get(ref.name);
      if (staged !== undefined) {
        if (staged === value) return ref;
        continue;
      }
      const held = await this.peek(ref, value);
      if (held === 'same') return ref;
      if (held === 'free') {
        this.#pending.set(ref.name, value);
        return ref;
      }
    }
    throw new Error(`secret "${name}" has ${MAX_REVISIONS} revisions already; use another job name`);
  }

  async get(ref: SecretRef): Promise<string> {
    return this.#pending.get(ref.name) ?? this.target.get(ref, this.binding);
  }

  /** Writes every staged secret, bound to the job. */
  async commit(): Promise<void> {
    for (const [name, value] of this.#pending) await this.target.put(name, value, this.binding);
    this.#pending.clear();
  }

  /** Read-only look at a name: free, already holding this job's identical value, or taken. */
  private async peek(ref: SecretRef, value: string): Promise<'free' | 'same' | 'taken'> {
    try {
      return (await this.target.get(ref, this.binding)) === value ? 'same' : 'taken';
    } catch (err) {
      if (err instanceof SecretNotFoundError) return 'free';
      if (err instanceof SecretBindingError) return 'taken';
      throw err;
    }
  }
}

/** Problems with secret references a spec carries: each must exist and belong to the spec's job. */
export async function secretBindingProblems(spec: Pick<JobSpec, 'jobName' | 'drives'>, secrets: SecretStore): Promise<Problem[]> {
  const refs: { field: string; ref: SecretRef }[] =
    'prepared' in spec.drives
      ? spec.drives.prepared.map((d, i) => ({ field: `drives.prepared.${i}.bitLockerKeyRef`, ref: d.bitLockerKeyRef }))
      : spec.drives.prepare.drives.map((d, i) => ({ field: `drives.prepare.drives.${i}.bitLockerKeyRef`, ref: d.bitLockerKeyRef }));
  const problems: Problem[] = [];
  for (const { field, ref } of refs) {
    try {
      await secrets.get(ref, { jobName: spec.jobName });
    } catch (err) {
      if (err instanceof SecretBindingError) problems.push({ field, message: `secret "${ref.name}" belongs to another job` });
      else if (err instanceof SecretNotFoundError) problems.push({ field, message: `no secret named "${ref.name}" in the ${ref.store} secret store` });
      else throw err;
    }
  }
  return problems;
}
