#!/usr/bin/env node
// Entry for `npx starling`: runs the compiled CLI (built by `npm ci` through the prepare script).
import('../dist/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    console.error('starling: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  throw err;
});
