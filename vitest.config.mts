import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Endpoint tests start a real local host (SQLite + Azurite) per file.
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
