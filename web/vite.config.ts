import { defineConfig } from 'vitest/config';

// The API lives on fechatter_server; during `npm run dev` the dev server forwards to it so the
// client stays same-origin there as it is when fechatter_server serves the built files.
const api = process.env.FECHATTER_DEV_API ?? 'http://127.0.0.1:6688';

export default defineConfig({
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  define: { __APP_VERSION__: JSON.stringify(process.env.npm_package_version ?? '0.0.0') },
  build: {
    target: 'es2022',
    // Everything the page needs is in dist/: no fonts or scripts from elsewhere.
    assetsInlineLimit: 0,
    sourcemap: true,
  },
  server: {
    proxy: {
      '/api': api,
      '/client-config.json': api,
    },
  },
  test: {
    include: ['tests/unit/**/*.test.ts'],
    environment: 'node',
  },
});
