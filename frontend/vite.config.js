// Library build of the widget (ES module and CommonJS); React stays the host MFE's own.
// The same file configures Vitest (jsdom, @testing-library/react).
import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vite';

// The dev page (dev/, `npm run dev`) reads the Paragon CSS the plugin ships, one level up.
const repository = fileURLToPath(new URL('..', import.meta.url));

export default defineConfig({
  esbuild: { jsx: 'automatic' },
  // The dev page's dependencies, pre-bundled before the first request. Left to discovery, Vite
  // finds react/jsx-dev-runtime only while serving the page, bundles React again under a new hash
  // and reloads: a page that loaded modules of both bundles has two Reacts ("Cannot read
  // properties of null (reading 'useRef')"), which is how a cold dev server failed on CI.
  optimizeDeps: {
    entries: ['dev/index.html'],
    include: ['react', 'react-dom', 'react-dom/client', 'react/jsx-runtime', 'react/jsx-dev-runtime'],
  },
  server: {
    host: '127.0.0.1',
    fs: { allow: [repository] },
    // ?live=1: the widget asks the LMS of `make demo` (sign in through /login/ on this server first).
    proxy: Object.fromEntries(['/microcred', '/login', '/static', '/media'].map(
      (prefix) => [prefix, { target: 'http://127.0.0.1:8000', changeOrigin: false }],
    )),
  },
  build: {
    lib: {
      entry: 'src/index.js',
      formats: ['es', 'cjs'],
      fileName: (format) => `learner-dashboard-widget.${format === 'es' ? 'js' : 'cjs'}`,
    },
    target: 'es2018',
    sourcemap: true,
    rollupOptions: {
      external: ['react', 'react-dom', 'react/jsx-runtime'],
      output: { exports: 'named' },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{js,jsx}', 'dev/**/*.test.{js,jsx}'],
    restoreMocks: true,
  },
});
