#!/usr/bin/env node
'use strict';
// The crdtctl command: a shim over the built CLI (apps/crdtctl/src, built by `npm run build`).
const path = require('node:path');
const built = path.join(__dirname, '..', 'dist', 'apps', 'crdtctl', 'src', 'main.js');
let mod;
try {
  mod = require(built);
} catch (e) {
  if (e && e.code === 'MODULE_NOT_FOUND' && String(e.message).includes(built)) {
    process.stderr.write(`crdtctl is not built (${built} is missing): run \`npm run build\` first\n`);
    process.exit(2);
  }
  throw e;
}
mod.cli();
