// Library build of the widget (ES module and CommonJS); React stays the host MFE's own.
// The same file configures Vitest (jsdom, @testing-library/react).
import { defineConfig } from 'vite';

export default defineConfig({
  esbuild: { jsx: 'automatic' },
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
    include: ['src/**/*.test.{js,jsx}'],
    restoreMocks: true,
  },
});
