// The address a request came from, for rate limits and connection caps. The socket's peer is the
// truth; `X-Forwarded-For` is believed only when the hub was told how many reverse proxies stand in
// front of it (`--trust-proxy N`), and then only as far as those N proxies vouch for it: the client
// is the entry N hops from the right of [...X-Forwarded-For, socket peer]. Anything a client writes
// further left is ignored, so it cannot pick its own address.
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';

export function clientAddress(req: IncomingMessage, trustProxy = 0): string {
  const peer = req.socket.remoteAddress ?? 'unknown';
  if (trustProxy <= 0) return peer;
  const header = req.headers['x-forwarded-for'];
  const forwarded = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  const chain = [...forwarded, peer];
  const candidate = chain[Math.max(0, chain.length - 1 - trustProxy)];
  // A proxy that wrote garbage: fall back to the peer rather than key limits on free text.
  return isIP(candidate) ? candidate : peer;
}

/** Parses `--trust-proxy`: how many reverse proxies in front of the hub add X-Forwarded-For. */
export function parseTrustProxy(value: string | number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 10) throw new Error('must be a whole number of proxies, 0-10');
  return n;
}
