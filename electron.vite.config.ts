/** Builds the three Electron bundles into out/: main (+ engine worker), preload (CommonJS, for the sandbox), renderer. */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'electron-vite';
import { rendererConfig } from './vite.renderer.config';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  main: {
    build: {
      outDir: here('./out/main'),
      rolldownOptions: {
        input: {
          index: here('./src-main/app/main.ts'),
          // Loaded by src-main/services/worker/client.ts next to the main bundle.
          'engine-worker': here('./src-main/services/worker/worker.ts'),
        },
        output: { format: 'es', entryFileNames: '[name].js' },
      },
    },
  },
  preload: {
    build: {
      outDir: here('./out/preload'),
      rolldownOptions: {
        input: { index: here('./src-main/app/preload.ts') },
        // Sandboxed preloads must be CommonJS.
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: rendererConfig,
});
