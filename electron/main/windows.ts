// The console window. Its web preferences are the sandbox the whole renderer lives in: no Node, an
// isolated preload world, Chromium's sandbox on, and web security left at its default (on).
import type { BrowserWindow, BrowserWindowConstructorOptions, WebPreferences } from 'electron';
import { CONSOLE_URL } from './app-protocol';

export function consoleWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webviewTag: false,
    safeDialogs: true,
    spellcheck: false,
  };
}

export function consoleWindowOptions(
  preloadPath: string,
  iconPath?: string,
): BrowserWindowConstructorOptions {
  return {
    title: 'Lattice',
    width: 1180,
    height: 780,
    minWidth: 760,
    minHeight: 520,
    // Shown on ready-to-show, so the user never sees an empty white frame.
    show: false,
    autoHideMenuBar: true,
    ...(iconPath ? { icon: iconPath } : {}),
    webPreferences: consoleWebPreferences(preloadPath),
  };
}

/** The console URL, optionally at a client-side route (`#/workloads/pg-1`). */
export function consoleUrl(route?: string): string {
  if (!route) return CONSOLE_URL;
  return `${CONSOLE_URL}#${route.startsWith('/') ? route : `/${route}`}`;
}

export interface WindowDeps {
  BrowserWindow: new (options: BrowserWindowConstructorOptions) => BrowserWindow;
}

/**
 * One console window at most. Closing it only hides the app into the tray; opening it again
 * (tray, second launch, dock click) focuses the same window or makes a new one.
 */
export function createConsoleWindows(deps: WindowDeps, options: { preloadPath: string; iconPath?: string }) {
  let win: BrowserWindow | undefined;

  const open = (route?: string): BrowserWindow => {
    if (win && !win.isDestroyed()) {
      if (route) void win.loadURL(consoleUrl(route));
      if (win.isMinimized()) win.restore();
      win.show();
      win.focus();
      return win;
    }
    const created = new deps.BrowserWindow(consoleWindowOptions(options.preloadPath, options.iconPath));
    win = created;
    created.once('ready-to-show', () => created.show());
    created.on('closed', () => {
      if (win === created) win = undefined;
    });
    void created.loadURL(consoleUrl(route)).catch((err: unknown) => {
      console.error(`[lattice] could not load the console: ${String(err)}`);
    });
    return created;
  };

  return {
    open,
    current: () => (win && !win.isDestroyed() ? win : undefined),
  };
}
