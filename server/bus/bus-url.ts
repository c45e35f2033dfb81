// The `--bus` value of `lattice hub`, checked by the CLI before anything starts (without loading the
// NATS client) and again when the bus connects.

/** Checks a `--bus` value before anything starts. */
export function parseBusUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error('--bus must be a URL like nats://127.0.0.1:4222');
  }
  if (url.protocol !== 'nats:' && url.protocol !== 'tls:') {
    throw new Error(`--bus must be a nats:// (or tls://) URL, not ${url.protocol}//…`);
  }
  if (!url.hostname) throw new Error('--bus URL names no host');
  return url;
}
