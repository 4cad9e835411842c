/**
 * The renderer's Vite config, shared by electron-vite (desktop app) and `npm run build:renderer`
 * (the renderer alone, for the browser host).
 */
import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type UserConfig } from 'vite';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export const rendererConfig = {
  root: here('./src-renderer'),
  base: './',
  plugins: [svelte({ configFile: here('./svelte.config.js') })],
  build: {
    outDir: here('./out/renderer'),
    emptyOutDir: true,
    target: 'chrome120',
    rolldownOptions: { input: here('./src-renderer/index.html') },
  },
} satisfies UserConfig;

export default defineConfig(rendererConfig);
