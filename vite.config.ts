// The renderer build: one app (console + dashboard) into dist/renderer, with relative asset paths so
// the same files load from Electron's app:// origin, from the agent's loopback API and from the hub.
//
// Development: `LATTICE_DEV_API=http://127.0.0.1:<port> npx vite` serves the renderer with hot reload
// and forwards /api and /login to a running agent or hub. The forwarded requests carry the target's
// own Origin, because both servers refuse cross-origin writes (DNS-rebinding and CSRF defences).
import { defineConfig, type ProxyOptions } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

const devApi = process.env.LATTICE_DEV_API;

function forwardTo(target: string): ProxyOptions {
  const origin = new URL(target).origin;
  return {
    target,
    changeOrigin: true,
    ws: true,
    configure: (proxy) => {
      proxy.on('proxyReq', (req) => {
        if (req.getHeader('origin')) req.setHeader('origin', origin);
      });
      proxy.on('proxyReqWs', (req) => {
        req.setHeader('origin', origin);
      });
    },
  };
}

export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react()],
  server: devApi ? { proxy: { '/api': forwardTo(devApi), '/login': forwardTo(devApi) } } : undefined,
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // No inline scripts or data: modules: the console runs under `script-src 'self'`.
    assetsInlineLimit: 0,
  },
});
