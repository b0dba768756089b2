#!/usr/bin/env node
// `npx importctl` entry point: runs the TypeScript CLI through tsx (a runtime dependency), no build step needed.
require('tsx/cjs');
require('../client/importctl.ts').main();
