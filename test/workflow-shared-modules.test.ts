/**
 * The workflow bundle evaluates zod and the job-spec schemas once per worker thread: they are only in the preloaded
 * shared bundle, whose exports (what the SDK deep-freezes) are a single function over its closure.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { workflowBundle } from '../worker/create-workers';
import { sharedWorkflowModules } from '../worker/workflow-shared-modules';
import * as workflowImports from '../common/workflow-imports';

/** Webpack's module ids in the bundle (development mode names them by path). */
const modulesOf = (code: string) => [...code.matchAll(/^\/\*\*\*\/ "([^"]+)"$/gm)].map((m) => m[1] ?? '');

test('zod and the common/ schema modules are in the workflow bundle only as the shared preloaded module', async () => {
  const { code } = await workflowBundle();
  const modules = modulesOf(code);
  assert.ok(modules.length > 50, `found the bundle's modules (${modules.length})`);
  assert.deepEqual(modules.filter((m) => m.includes('/node_modules/zod/')), [], 'zod is not evaluated per workflow');
  assert.deepEqual(modules.filter((m) => m.startsWith('./common/')), ['./common/search-attributes.ts'], 'only zod-free common/ modules are bundled directly');
  assert.ok(modules.some((m) => m.endsWith('aio-workflow/workflow-imports.cjs')), 'imports of common/workflow-imports resolve to the facade');
  assert.match(code, /preloadModules\(\) \{\s*__webpack_require__\([^)]*workflow-imports\.shared\.cjs/, 'the shared bundle is preloaded');
});

test('the shared bundle exports one function returning the whole of common/workflow-imports', () => {
  const { preloadModules } = sharedWorkflowModules();
  const shared = preloadModules?.[0] ?? '';
  assert.ok(fs.existsSync(shared), shared);
  const loaded = createRequire(shared)(shared) as Record<string, unknown>;
  assert.deepEqual(Object.keys(loaded), ['sharedWorkflowImports']);
  const api = (loaded.sharedWorkflowImports as () => Record<string, unknown>)();
  assert.deepEqual(Object.keys(api).filter((k) => k !== '__esModule').sort(), Object.keys(workflowImports).sort());
  assert.equal((loaded.sharedWorkflowImports as () => unknown)(), api, 'the same evaluation every call');
  const spec = api.JobSpecSchema as typeof workflowImports.JobSpecSchema;
  assert.equal(spec.safeParse({}).success, false, 'the bundled schema validates');
});
