// The console never leaves its own origin. Navigation is refused, new windows are refused, and a
// link to the outside world is handed to the system browser — only https, only after the URL parses.
import type { Shell, WebContents } from 'electron';
import { isAppUrl } from './app-protocol';

/** https only, and no credentials in the URL (a classic way to dress up a phishing link). */
export function isSafeExternalUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' && parsed.hostname !== '' && !parsed.username && !parsed.password;
  } catch {
    return false;
  }
}

type OpenExternal = Pick<Shell, 'openExternal'>;

/** Opens a safe URL in the system browser; returns whether it did. */
export function openExternalSafely(shell: OpenExternal, url: string): boolean {
  if (!isSafeExternalUrl(url)) {
    console.warn(
      `[lattice] refused to open ${JSON.stringify(url.slice(0, 200))}: only https links open outside`,
    );
    return false;
  }
  void shell
    .openExternal(url)
    .catch((err: unknown) => console.warn(`[lattice] could not open ${url}: ${String(err)}`));
  return true;
}

export type GuardedContents = Pick<WebContents, 'on' | 'setWindowOpenHandler'>;

/** What to do with a navigation request: stay (an in-app URL), or cancel it and maybe open it outside. */
export function navigationDecision(url: string): 'allow' | 'external' | 'deny' {
  if (isAppUrl(url)) return 'allow';
  return isSafeExternalUrl(url) ? 'external' : 'deny';
}

export function guardNavigation(contents: GuardedContents, shell: OpenExternal): void {
  const onNavigate = (event: { preventDefault(): void }, url: string) => {
    const decision = navigationDecision(url);
    if (decision === 'allow') return;
    event.preventDefault();
    if (decision === 'external') openExternalSafely(shell, url);
  };
  // The URL is read from the event (the positional `url` argument is deprecated in recent Electron).
  contents.on('will-navigate', (event) => onNavigate(event, event.url));
  contents.on('will-frame-navigate', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(({ url }) => {
    openExternalSafely(shell, url);
    return { action: 'deny' };
  });
}
