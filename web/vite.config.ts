import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { THEME_CSS } from '../src/ui/theme.js';

/** `import 'virtual:gantry-theme.css'`: the server pages' design tokens, bundled into the UI's stylesheet. */
function gantryTheme(): Plugin {
  const id = 'virtual:gantry-theme.css';
  const resolved = '\0gantry-theme.css';
  return {
    name: 'gantry-theme',
    resolveId: (source) => (source === id ? resolved : undefined),
    load: (source) => (source === resolved ? THEME_CSS : undefined),
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react(), gantryTheme()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets',
    target: 'es2022',
    sourcemap: false,
    reportCompressedSize: true,
  },
  server: {
    // `npx vite web` during UI work: the API, sign-in and apps come from a running Gantry.
    proxy: Object.fromEntries(
      ['/api', '/login', '/logout', '/auth', '/apps'].map((p) => [
        p,
        { target: process.env.GANTRY_URL ?? 'http://127.0.0.1:8080', changeOrigin: false },
      ]),
    ),
  },
});
