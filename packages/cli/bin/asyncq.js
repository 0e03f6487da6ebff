#!/usr/bin/env node
// The asyncq command: a committed entry point (so package managers can link it at install time)
// that runs the compiled CLI in dist/ (in a clone, `pnpm build` makes it).
import '../dist/bin.js';
