// Builds the web map (src/ui) into dist/ui: index.html there, the rest under /ui/ where the agent serves it.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = path.dirname(fileURLToPath(import.meta.url));

export default defineConfig({
  root: here,
  base: '/ui/',
  publicDir: path.join(here, 'public'),
  logLevel: 'warn',
  // `npx vite --config src/ui/vite.config.ts` serves the UI with hot reload at /ui/, the API from a running agent.
  server: { proxy: { '/api': process.env.PORTOLAN_URL ?? 'http://127.0.0.1:9057' } },
  build: {
    outDir: path.resolve(here, '../../dist/ui'),
    emptyOutDir: true,
    target: 'es2022',
    // cytoscape and fCoSE are most of the bundle (~550 kB, ~170 kB gzipped), loaded once and cached immutably.
    chunkSizeWarningLimit: 800,
    reportCompressedSize: false,
  },
});
