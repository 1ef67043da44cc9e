// Lint holds the architecture (DESIGN.md): core is pure, sources never see core, only collectors glue.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const nodeIo = ['node:fs', 'node:fs/promises', 'node:http', 'node:net', 'node:child_process', 'node:dgram', 'node:os', 'fs', 'http', 'child_process'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', 'ui-dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: Object.fromEntries(['process', 'console', 'Buffer', 'URL', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'performance', 'fetch', 'AbortController', 'AbortSignal'].map((g) => [g, 'readonly'])),
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['src/core/**/*.ts'],
    ignores: ['src/core/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeIo.map((name) => ({ name, message: 'core/ is pure: no I/O.' })),
        patterns: [{ group: ['**/sources/**', '**/collectors/**', '**/agent/**', '**/server/**', '**/cli/**'], message: 'core/ imports only core/.' }],
      }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/sources/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/core/**', '**/collectors/**', '**/cli/**', '**/server/**', '**/agent/**'], message: 'sources/ return raw data and never import core/.' }] }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/cli/**/*.ts', 'src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/sources/**'], message: 'outputs see the agent/collectors and core types, never sources.' }] }],
    },
  },
  {
    files: ['src/collectors/**/*.ts', 'src/agent/**/*.ts', 'src/server/**/*.ts'],
    rules: { 'no-console': 'error' },
  },
  {
    // The web map runs in the browser: it may import core (lint above keeps core pure: no I/O, no Node API), but
    // never the agent's I/O layers or outputs (it sees the agent only through HTTP), and no Node module.
    files: ['src/ui/**/*.ts'],
    ignores: ['src/ui/**/*.test.ts', 'src/ui/vite.config.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: (await import('node:module')).builtinModules.map((name) => ({ name, message: 'src/ui is browser code: no Node modules.' })),
        patterns: [
          { group: ['**/server/**', '**/agent/**', '**/collectors/**', '**/sources/**', '**/cli/**', '**/fleet/**'], message: 'src/ui imports only core/ (pure); it talks to the agent over HTTP.' },
          { group: ['node:*'], message: 'src/ui is browser code: no Node modules.' },
        ],
      }],
      'no-console': 'error',
    },
  },
);
