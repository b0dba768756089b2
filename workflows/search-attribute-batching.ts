/**
 * Merges the search-attribute upserts of one workflow activation into one command. The server makes a visibility
 * write of every upsert, and an import job changes its step and Azure state several times in one activation (its
 * first one set name, account, step, drives and step again in three upserts). The SDK offers no batching, but lets a
 * workflow's internals interceptor rewrite the commands an activation concludes with; merging them changes nothing
 * the server or a query can see, because a task's commands are applied together.
 *
 * Merging changes a run's commands, so a workflow opts in with {@link mergeSearchAttributeUpserts} under a patch.
 * Module state is per workflow: the SDK evaluates workflow modules (this one included) once per workflow run.
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';
import type { coresdk } from '@temporalio/proto';

type Command = coresdk.workflow_commands.IWorkflowCommand;
type IndexedFields = NonNullable<NonNullable<NonNullable<Command['upsertWorkflowSearchAttributes']>['searchAttributes']>['indexedFields']>;

let installed = false;
let merging = false;

/** True when this bundle registered the interceptor (worker/create-workers.ts `workflowBundle()` does). */
export function searchAttributeBatchingInstalled(): boolean {
  return installed;
}

/** From now on, this workflow's activations write their search-attribute changes as one upsert each. */
export function mergeSearchAttributeUpserts(): void {
  merging = true;
}

/** All upserts of `commands` as one, where the first was; a later value of a key wins, as it would have. */
export function mergeUpserts(commands: Command[]): Command[] {
  const out: Command[] = [];
  let merged: IndexedFields | undefined;
  for (const command of commands) {
    const fields = command.upsertWorkflowSearchAttributes?.searchAttributes?.indexedFields;
    if (!fields) {
      out.push(command);
    } else if (merged) {
      Object.assign(merged, fields);
    } else {
      merged = { ...fields };
      out.push({ ...command, upsertWorkflowSearchAttributes: { ...command.upsertWorkflowSearchAttributes, searchAttributes: { indexedFields: merged } } });
    }
  }
  return out;
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  installed = true;
  return {
    internals: [
      {
        concludeActivation(input, next) {
          const output = next(input);
          return merging ? { ...output, commands: mergeUpserts(output.commands) } : output;
        },
      },
    ],
  };
};
