// Where a hub is reached, worked out once after it listens: its public URL (given by --public-url,
// or built from the listen address and the port the OS picked), the browser origins allowed to call
// it, and the dashboard's Content-Security-Policy, which names that origin.
import { contentSecurityPolicy } from './http/static-files';

export interface HubAddress {
  /** No trailing slash. */
  url: string;
  /** Origins allowed to open dashboard sockets and make cross-origin API calls. */
  allowedOrigins: ReadonlySet<string>;
  csp: string;
}

export function hubAddress(opts: {
  port: number;
  /** The listen address. */
  host: string;
  https: boolean;
  publicUrl?: string;
  extraOrigins?: string[];
}): HubAddress {
  const scheme = opts.https ? 'https' : 'http';
  // A wildcard listen address is no address a browser can use; the local name is.
  const shownHost = opts.host === '0.0.0.0' || opts.host === '::' ? 'localhost' : opts.host;
  const hostPart = shownHost.includes(':') ? `[${shownHost}]` : shownHost;
  const url = (opts.publicUrl ?? `${scheme}://${hostPart}:${opts.port}`).replace(/\/+$/, '');
  const publicOrigin = new URL(url).origin;
  const allowedOrigins = new Set([publicOrigin]);
  // Without a public URL the hub is used where it runs, under either loopback name.
  if (!opts.publicUrl) {
    for (const host of ['127.0.0.1', 'localhost']) allowedOrigins.add(`${scheme}://${host}:${opts.port}`);
  }
  for (const o of opts.extraOrigins ?? []) allowedOrigins.add(new URL(o).origin);
  return { url, allowedOrigins, csp: contentSecurityPolicy(publicOrigin) };
}
