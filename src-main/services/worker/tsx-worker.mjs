// Worker bootstrap used when running from source (CLI via tsx, Vitest): loader hooks are per thread, so the
// worker registers tsx itself before importing the TypeScript entry. Built apps load the bundled worker instead.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.graftEntry);
