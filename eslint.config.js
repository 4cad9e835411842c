// Flat config: JS + TypeScript (syntax rules only, no type-aware rules: they take minutes on 2 cores) + Svelte.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import svelte from 'eslint-plugin-svelte';
import globals from 'globals';
import ts from 'typescript-eslint';
import svelteConfig from './svelte.config.js';

export default defineConfig(
  {
    ignores: ['node_modules/', 'out/', 'dist/', 'test-results/', 'coverage/', '.cache/', '.gpu/', '.gl/', '.whl/', '**/*.d.ts'],
  },
  js.configs.recommended,
  ts.configs.recommended,
  svelte.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2024, sourceType: 'module' },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Engine code works with binary formats and generated graphs; `any` is sometimes the honest type.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Bit twiddling in quantisation and file formats.
      'no-bitwise': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
      eqeqeq: ['error', 'smart'],
    },
  },
  {
    files: ['src-renderer/**/*.{ts,svelte}', '**/*.svelte.ts'],
    languageOptions: { globals: { ...globals.browser } },
  },
  {
    files: ['**/*.svelte', '**/*.svelte.ts'],
    languageOptions: {
      parserOptions: { parser: ts.parser, extraFileExtensions: ['.svelte'], svelteConfig },
    },
  },
  {
    // Type-level tests use expressions only for their types.
    files: ['test/**/*.typetest.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
