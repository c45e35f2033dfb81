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

/** A listen address that names no host (every interface). */
const isWildcard = (host: string) => host === '0.0.0.0' || host === '::';
/** A host as it stands in a URL (IPv6 in brackets). */
const urlHost = (host: string) => (host.includes(':') ? `[${host}]` : host);

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
  const shownHost = isWildcard(opts.host) ? 'localhost' : opts.host;
  const url = (opts.publicUrl ?? `${scheme}://${urlHost(shownHost)}:${opts.port}`).replace(/\/+$/, '');
  const publicOrigin = new URL(url).origin;
  const allowedOrigins = new Set([publicOrigin]);
  // Without a public URL the hub is used where it runs, under either loopback name.
  if (!opts.publicUrl) {
    for (const host of ['127.0.0.1', 'localhost']) allowedOrigins.add(`${scheme}://${host}:${opts.port}`);
  }
  for (const o of opts.extraOrigins ?? []) allowedOrigins.add(new URL(o).origin);
  return { url, allowedOrigins, csp: contentSecurityPolicy(publicOrigin) };
}

/**
 * The URL at which agents reach this very hub process, not the load balancer in front of the
 * cluster: a visitor that arrives here is served by a stream the agent dials to it. Only hubs on a
 * bus need one. By default the listen address; a wildcard address names no host, so it must be given.
 */
export function advertiseAddress(opts: {
  port: number;
  host: string;
  https: boolean;
  advertiseUrl?: string;
}): string {
  const scheme = opts.https ? 'https:' : 'http:';
  if (opts.advertiseUrl !== undefined) {
    const url = new URL(opts.advertiseUrl);
    if (url.protocol !== scheme) {
      throw new Error(
        `--advertise-url must start with ${scheme}// like the hub itself (got ${url.protocol}//): agents send their token only over the scheme of their hub link`,
      );
    }
    return url.toString().replace(/\/+$/, '');
  }
  if (isWildcard(opts.host)) {
    throw new Error(
      `--advertise-url is needed with --bus when the hub listens on ${opts.host}: the URL at which agents reach this hub process directly (not the load balancer)`,
    );
  }
  return `${scheme}//${urlHost(opts.host)}:${opts.port}`;
}
