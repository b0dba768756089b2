/**
 * Builds the run-time bundles ahead of use: at install (scripts/ensure-setup.cjs) and in the image, where the
 * worker runs as a user that cannot write node_modules/.cache. Each is otherwise built on first use.
 */
import * as path from 'node:path';
import { copyWorkerBundle } from '../activities/prepare/worker-bundle';
import { sharedWorkflowModules } from '../worker/workflow-shared-modules';

const copyWorker = copyWorkerBundle();
if (copyWorker) process.stdout.write(`[bundling] copy worker: ${path.relative(process.cwd(), copyWorker)}\n`);
else process.stderr.write('[bundling] could not bundle the copy worker (its threads will start through tsx; NODE_DEBUG=prepare says why)\n');
const [shared] = sharedWorkflowModules().preloadModules ?? [];
process.stdout.write(`[bundling] workflow modules shared across workflows: ${path.relative(process.cwd(), shared ?? '?')}\n`);
