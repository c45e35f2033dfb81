// The console's Content-Security-Policy. It is what turns an injected string in a log line or an
// image name into inert text instead of script running next to `window.lattice`.
import type { Session } from 'electron';
import { consoleCsp } from '../../shared/console-assets';

/** The console's one CSP (shared/console-assets.ts), set on every response of the app's session. */
export const CONTENT_SECURITY_POLICY = consoleCsp();

/** Response headers with our CSP replacing any the response carried (header names are case-insensitive). */
export function withCsp(headers: Record<string, string[]> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() !== 'content-security-policy') out[name] = value;
  }
  out['Content-Security-Policy'] = [CONTENT_SECURITY_POLICY];
  return out;
}

/** Sets the CSP on every response the session receives. */
export function installCsp(session: Pick<Session, 'webRequest'>): void {
  session.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: withCsp(details.responseHeaders) });
  });
}
