// Lint holds the architecture (DESIGN.md), each folder's rule in one block below:
//   core        pure: imports only core and pure packages; no Node built-in, no process, no dynamic import
//   sources     thin I/O adapters: never import core, collectors, agent, server, fleet, cli or ui
//   collectors  the only glue between sources and core
//   agent       schedules, stores, emits: sees core and collectors' types, never sources
//   server, fleet, export, cli   see the agent and core, never sources; the CLI reaches collectors only through the
//               registry (collectors/index.ts), its composition root's one door
//   ui          browser code: pure core modules (they do no I/O), never anything above core, never Node
// test/lint/architecture.test.ts lints a forbidden import in each folder and expects these rules to refuse it.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const builtins = [...new Set(builtinModules.map((m) => m.replace(/^node:/, '')))];
/** Every Node built-in, with and without the `node:` prefix. */
const nodeBuiltins = [...builtins, ...builtins.map((m) => `node:${m}`), 'node:*'];
/** Packages that do I/O: never in core. */
const ioPackages = ['better-sqlite3', 'fastify', 'pino', 'prom-client', 'commander', 'netlink', 'koffi', 'nats', 'playwright-core', 'autocannon', 'cytoscape'];

const layer = (name) => [`**/${name}/**`, `**/${name}.js`];
const notSources = { group: layer('sources'), message: 'only collectors/ read sources: go through a collector.' };
const dynamicImportOf = (folder) => ({
  selector: `ImportExpression[source.value=/(^|\\/)${folder}\\//]`,
  message: `no dynamic import of ${folder}/ from here either.`,
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'test-artifacts/**', 'ui-dist/**', 'artifacts/**'] },
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
        paths: ioPackages.map((name) => ({ name, message: 'core/ is pure: no I/O packages.' })),
        patterns: [
          { group: nodeBuiltins, message: 'core/ is pure: no Node built-ins (fs, dns, net, worker_threads, os …).' },
          { group: ['**/sources/**', '**/collectors/**', '**/agent/**', '**/server/**', '**/cli/**', '**/fleet/**', '**/export/**', '**/ui/**'], message: 'core/ imports only core/.' },
        ],
      }],
      'no-restricted-globals': ['error',
        { name: 'process', message: 'core/ is pure: configuration comes in as parameters, not from process.' },
        { name: 'require', message: 'core/ imports statically.' },
        { name: 'fetch', message: 'core/ is pure: no I/O.' }],
      'no-restricted-syntax': ['error',
        { selector: 'ImportExpression', message: 'core/ imports statically (no dynamic import()).' },
        { selector: "MemberExpression[object.name='globalThis'][property.name='process']", message: 'core/ is pure: no process.' }],
      'no-console': 'error',
    },
  },
  {
    files: ['src/sources/**/*.ts'],
    ignores: ['src/sources/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/core/**', '**/collectors/**', '**/cli/**', '**/server/**', '**/agent/**', '**/fleet/**', '**/ui/**'], message: 'sources/ return raw data and never import core/ or anything above them.' }],
      }],
      'no-restricted-syntax': ['error', ...['core', 'collectors', 'agent', 'server', 'cli', 'fleet'].map(dynamicImportOf)],
      'no-console': 'error',
    },
  },
  {
    files: ['src/collectors/**/*.ts'],
    ignores: ['src/collectors/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [{ group: ['**/agent/**', '**/server/**', '**/cli/**', '**/fleet/**', '**/ui/**'], message: 'collectors/ glue sources to core; they know nothing above them.' }],
      }],
      'no-restricted-syntax': ['error', ...['agent', 'server', 'cli', 'fleet'].map(dynamicImportOf)],
      'no-console': 'error',
    },
  },
  {
    files: ['src/agent/**/*.ts'],
    ignores: ['src/agent/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [notSources, { group: ['**/server/**', '**/cli/**', '**/fleet/**', '**/ui/**'], message: 'the agent knows nothing of its outputs.' }],
      }],
      'no-restricted-syntax': ['error', ...['sources', 'server', 'cli'].map(dynamicImportOf)],
      'no-console': 'error',
    },
  },
  {
    files: ['src/server/**/*.ts', 'src/fleet/**/*.ts', 'src/export/**/*.ts'],
    ignores: ['src/server/**/*.test.ts', 'src/fleet/**/*.test.ts', 'src/export/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [notSources, { group: ['**/cli/**', '**/ui/**'], message: 'outputs see the agent and core.' }, { group: layer('collectors'), message: 'outputs see the agent and core, not collectors.' }],
      }],
      'no-restricted-syntax': ['error', ...['sources', 'collectors', 'cli'].map(dynamicImportOf)],
      'no-console': 'error',
    },
  },
  {
    files: ['src/cli/**/*.ts'],
    ignores: ['src/cli/**/*.test.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        patterns: [
          notSources,
          { group: ['**/collectors/*', '!**/collectors/index.js'], message: 'the CLI reaches collectors only through their registry, collectors/index.js.' },
          { group: ['**/ui/**'], message: 'the CLI does not import browser code.' },
        ],
      }],
      'no-restricted-syntax': ['error', ...['sources'].map(dynamicImportOf)],
    },
  },
  {
    // The web map runs in the browser: it may import core (lint above keeps core pure: no I/O, no Node API), but
    // never the agent's I/O layers or outputs (it sees the agent only through HTTP), and no Node module.
    files: ['src/ui/**/*.ts'],
    ignores: ['src/ui/**/*.test.ts', 'src/ui/vite.config.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: ioPackages.filter((name) => name !== 'cytoscape').map((name) => ({ name, message: 'src/ui is browser code: no server-side packages.' })),
        patterns: [
          { group: ['**/server/**', '**/agent/**', '**/collectors/**', '**/sources/**', '**/cli/**', '**/fleet/**'], message: 'src/ui imports only core/ (pure); it talks to the agent over HTTP.' },
          { group: nodeBuiltins, message: 'src/ui is browser code: no Node modules.' },
        ],
      }],
      'no-console': 'error',
    },
  },
);
