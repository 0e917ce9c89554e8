#!/usr/bin/env node
// Runs the TypeScript CLI directly; `npm run build` also produces a bundled dist/mayfly.mjs.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
