/**
 * Modules the workflow sandbox evaluates once per worker thread instead of once per workflow.
 *
 * The SDK isolates module state per workflow: every workflow it creates (a new job, or a parked job replayed after
 * eviction) evaluates the bundle's modules again. For common/workflow-imports.ts that is zod and every schema of the
 * job spec, about 1 MB of heap and most of a workflow's creation time. The SDK's `preloadModules` evaluates a module
 * once and shares it, but deep-freezes what that module exports, and zod writes into its schemas and its own
 * module objects as it parses (lazily built internals, regex state). So the shared module is an esbuild bundle of
 * common/workflow-imports.ts whose only export is a function returning the evaluated module, held in the bundle's
 * closure, which the freeze does not reach (the SDK documents that closures are not frozen); in the workflow
 * bundle, imports of common/workflow-imports.ts resolve to a one-line module calling it.
 *
 * Sharing is safe because nothing in those modules holds per-workflow state: schemas are immutable descriptions
 * (zod's writes are caches of what they compute), and the functions are pure. A workflow task runs to completion
 * before the next starts in the same thread, so a parse is never interleaved with another.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BundleOptions } from '@temporalio/worker';
import { BUNDLE_CACHE_DIR, PROJECT_ROOT, cachedBundle } from '../bundling/esbuild-cache';

const SOURCE = path.join(PROJECT_ROOT, 'common', 'workflow-imports');
const DIR = path.join(BUNDLE_CACHE_DIR, 'aio-workflow');
const SHARED = path.join(DIR, 'workflow-imports.shared.cjs');
const FACADE = path.join(DIR, 'workflow-imports.cjs');
const FACADE_CODE = `// common/workflow-imports.ts in the workflow sandbox: the one evaluation the worker's workflows share.
module.exports = require('./workflow-imports.shared.cjs').sharedWorkflowImports();
`;

/** Bundle options that make the workflow bundle share common/workflow-imports.ts across workflows. */
export function sharedWorkflowModules(): Pick<BundleOptions, 'preloadModules' | 'webpackConfigHook'> {
  cachedBundle({
    entry: `${SOURCE}.ts`,
    bundle: SHARED,
    platform: 'browser',
    globalName: 'workflowImports',
    footer: 'exports.sharedWorkflowImports = () => workflowImports;',
  });
  if (!fs.existsSync(FACADE) || fs.readFileSync(FACADE, 'utf8') !== FACADE_CODE) {
    // Published atomically: test files bundle workflows in parallel processes.
    const tmp = `${FACADE}.tmp-${process.pid}`;
    fs.writeFileSync(tmp, FACADE_CODE);
    fs.renameSync(tmp, FACADE);
  }
  return {
    preloadModules: [SHARED],
    webpackConfigHook: (config) => ({
      ...config,
      // `$`: only the module itself (requested with or without its extension), not paths below it.
      resolve: { ...config.resolve, alias: { ...(config.resolve?.alias as Record<string, string> | undefined), [`${SOURCE}$`]: FACADE, [`${SOURCE}.ts$`]: FACADE } },
    }),
  };
}
