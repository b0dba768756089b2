#!/usr/bin/env node
// `npx importctl` entry point: runs the TypeScript CLI through tsx (a runtime dependency), no build step needed.
// Both of tsx's loaders: the CLI is CommonJS, and commands load their heavier modules (the Temporal client, the
// Azure SDK, the prepare step) with dynamic import(), so a refused spec or `--help` answers quickly.
void (async () => {
  const { register } = await import('tsx/esm/api');
  register();
  require('tsx/cjs');
  require('../client/importctl.ts').main();
})();
