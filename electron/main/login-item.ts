// "Start at login", following the `startAtLogin` setting. macOS and Windows have an API for it
// (app.setLoginItemSettings); on Linux that API does nothing, so the app writes the freedesktop
// autostart entry itself.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { App } from 'electron';

/** Passed when the OS starts the app at login: start in the tray, without opening the console. */
export const HIDDEN_FLAG = '--hidden';

export function linuxAutostartPath(env: Record<string, string | undefined> = process.env): string {
  const configHome = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(configHome, 'autostart', 'dev.lattice.app.desktop');
}

/** The autostart entry; an AppImage must be started through its own path, not the mounted binary. */
export function linuxAutostartEntry(execPath: string): string {
  const quoted = /[\s"'\\$`]/.test(execPath) ? `"${execPath.replace(/(["\\$`])/g, '\\$1')}"` : execPath;
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=Lattice',
    'Comment=Run containers on this computer and share them',
    `Exec=${quoted} ${HIDDEN_FLAG}`,
    'Icon=lattice',
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    '',
  ].join('\n');
}

export function applyStartAtLogin(
  app: Pick<App, 'setLoginItemSettings'>,
  enabled: boolean,
  platform: NodeJS.Platform = process.platform,
  env: Record<string, string | undefined> = process.env,
): void {
  if (platform === 'linux') {
    const path = linuxAutostartPath(env);
    if (enabled) {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, linuxAutostartEntry(env.APPIMAGE || process.execPath));
    } else {
      rmSync(path, { force: true });
    }
    return;
  }
  // Windows passes `args` to the app at login; macOS reports the launch through wasOpenedAtLogin.
  app.setLoginItemSettings({ openAtLogin: enabled, args: [HIDDEN_FLAG] });
}

/** Whether this launch came from the login item rather than from the user. */
export function launchedHidden(
  app: Pick<App, 'getLoginItemSettings'>,
  argv: readonly string[],
  platform: NodeJS.Platform = process.platform,
): boolean {
  if (argv.includes(HIDDEN_FLAG)) return true;
  return platform === 'darwin' && app.getLoginItemSettings().wasOpenedAtLogin === true;
}
