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
    // The web map runs in the browser: it sees the agent only through HTTP, and core/model only as types.
    files: ['src/ui/**/*.ts'],
    ignores: ['src/ui/**/*.test.ts', 'src/ui/vite.config.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': ['error', {
        patterns: [
          { group: ['**/core/model/**'], allowTypeImports: true, message: 'src/ui takes only types from core/model: use `import type`.' },
          { group: ['**/core/**', '!**/core/model/**'], message: 'src/ui imports only `import type` from core/model, nothing else from core/.' },
          { group: ['**/server/**', '**/agent/**', '**/collectors/**', '**/sources/**', '**/cli/**'], message: 'src/ui talks to the agent over HTTP only.' },
          { group: ['node:*'], message: 'src/ui is browser code: no Node modules.' },
        ],
      }],
      'no-console': 'error',
    },
  },
);
