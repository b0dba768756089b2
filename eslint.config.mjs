// Flat config: typescript-eslint with type information, plus Temporal's determinism guard for workflows/.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bin/**', '**/*.mjs', '**/*.cjs'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test()/describe() return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] }] },
      ],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      eqeqeq: ['error', 'smart'],
      'object-shorthand': 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins (I/O, clocks, randomness).
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, ...nodeBuiltins.map((m) => `node:${m}`)].map((name) => ({
            name,
            message: 'Workflow code must be deterministic: Node built-ins are not allowed in workflows/.',
          })),
          patterns: [
            { group: ['@temporalio/activity', '@temporalio/client', '@temporalio/worker', '@temporalio/testing'], message: 'Not allowed in workflow code.' },
            { group: ['../activities/*', '../activities', '../emulator/*', '../worker/*', '../client/*'], message: 'Workflows import only types from activities (use `import type`).', allowTypeImports: true },
            {
              // The sandbox shares one evaluation of common/workflow-imports.ts (zod, the schemas) across workflows; a value
              // imported from another common/ module would evaluate zod again in every workflow.
              group: ['**/common/*', '!**/common/workflow-imports', '!**/common/search-attributes'],
              message: 'Workflows import values from common/ only through common/workflow-imports (types: `import type`).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
);
