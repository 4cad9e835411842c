#!/usr/bin/env node
// `graft` / `npx graft`: runs the TypeScript CLI straight from source through tsx's loader, so no build step
// is needed after `npm ci`.
import { register } from 'tsx/esm/api';

register();
await import('../src-main/cli/main.ts');
