// The ACME flags' own checks, kept apart from acme.ts so `lattice` can refuse bad flags without
// loading the ACME client.

/** Throws a message naming the flag when the ACME settings cannot work. */
export function checkAcmeOptions(opts: { email?: string; directoryUrl?: string }): void {
  if (!opts.email || !opts.directoryUrl)
    throw new Error('--acme-email and --acme-directory go together (the account contact and the CA to ask)');
  if (!/^[^@\s]+@[^@\s]+$/.test(opts.email))
    throw new Error(`--acme-email ${opts.email} is not an email address`);
  let url: URL;
  try {
    url = new URL(opts.directoryUrl);
  } catch {
    throw new Error(`--acme-directory ${opts.directoryUrl} is not a URL`);
  }
  if (url.protocol !== 'https:') throw new Error('--acme-directory must be an https:// URL (RFC 8555 §6.1)');
}
