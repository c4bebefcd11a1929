// Builds the dashboard into web/dist, which `kindred serve` embeds. The output is committed
// and CI rebuilds it and compares, so it must only depend on the sources and package-lock.json.
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The licenses of every bundled library, shipped beside the code.
    license: { fileName: 'licenses.md' },
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/graphql/ws': { target: 'ws://127.0.0.1:8080', ws: true },
      '/graphql': 'http://127.0.0.1:8080',
      '/segments': 'http://127.0.0.1:8080',
    },
  },
});
