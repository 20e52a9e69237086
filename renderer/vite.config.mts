// Builds the renderer: root renderer/, output dist/renderer/ (electron/main.ts loads
// dist/renderer/index.html from disk, the browser bridge serves the same folder), relative asset
// paths so both file:// and http:// work. Build: `vite build --config renderer/vite.config.ts`.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: './',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/renderer', import.meta.url)),
    emptyOutDir: true,
    // Electron 41 and current Chromium only.
    target: 'chrome120',
    sourcemap: true,
    chunkSizeWarningLimit: 1024,
  },
  server: {
    // The renderer imports ../contract (and, through it, ../protocol/names).
    fs: { allow: [fileURLToPath(new URL('..', import.meta.url))] },
  },
});
