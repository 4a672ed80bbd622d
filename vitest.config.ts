import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    globalSetup: ['test/global-setup.ts'],
    include: ['test/**/*.test.ts', 'test/**/*.test.tsx'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: service-backed files would only fight over the broker.
    maxWorkers: 2,
    reporters: ['default'],
  },
})
