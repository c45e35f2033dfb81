// Every plain HTTP request of the hub: CORS for allowed origins, `/api/*` to the JSON API, anything
// else the built dashboard, or a JSON 404.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { HubContext } from '../hub-context';
import { handleTrpc } from '../api/trpc-router';
import { handleApi } from './api-routes';
import { requestPath } from './request-path';
import { baseHeaders, sendJson } from './responses';
import { serveStatic } from './static-files';

export function createRequestRouter(ctx: HubContext) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = requestPath(req.url);
    if (path === undefined) {
      sendJson(res, 400, {
        ok: false,
        error: { code: 'invalid_argument', message: 'The request target is not a valid path' },
      });
      return;
    }
    const origin = req.headers.origin;
    if (origin && ctx.allowedOrigins.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS' && (path.startsWith('/api/') || path.startsWith('/trpc/'))) {
      baseHeaders(res);
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, POST, DELETE',
        'Access-Control-Allow-Headers': 'authorization, content-type',
        'Access-Control-Max-Age': '600',
      });
      res.end();
      return;
    }
    if (path === '/api' || path.startsWith('/api/')) {
      void handleApi(ctx, req, res, path);
      return;
    }
    if (path === '/trpc' || path.startsWith('/trpc/')) {
      void handleTrpc(ctx, req, res);
      return;
    }
    if (
      (req.method === 'GET' || req.method === 'HEAD') &&
      serveStatic(req, res, path, ctx.staticDir, ctx.csp)
    )
      return;
    sendJson(res, 404, {
      ok: false,
      error: { code: 'not_found', message: 'Nothing here (the dashboard is not built: npm run build)' },
    });
  };
}
