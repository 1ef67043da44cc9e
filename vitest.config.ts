import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          // test/fuzz: the fuzz suite, a fixed budget of generated inputs plus saved regressions (test/fuzz/harness.ts).
          include: ['src/**/*.test.ts', 'test/fixtures/**/*.test.ts', 'test/lint/**/*.test.ts', 'test/fuzz/**/*.test.ts'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 180_000,
        },
      },
    ],
  },
});
