// The console needs no camera, location, notifications or USB; every permission is refused unless
// it is on this list. Writing to the clipboard (the "Copy connection string" buttons) is the one
// exception, and only for the console's own origin.
import type { Session } from 'electron';
import { isAppUrl } from './app-protocol';

const ALLOWED_FOR_CONSOLE = new Set<string>(['clipboard-sanitized-write']);

export function isPermissionAllowed(permission: string, origin: string | undefined): boolean {
  return ALLOWED_FOR_CONSOLE.has(permission) && isAppUrl(origin);
}

export function installPermissionGuards(
  session: Pick<
    Session,
    'setPermissionRequestHandler' | 'setPermissionCheckHandler' | 'setDevicePermissionHandler'
  >,
): void {
  session.setPermissionRequestHandler((webContents, permission, callback, details) => {
    callback(isPermissionAllowed(permission, details.requestingUrl ?? webContents.getURL()));
  });
  session.setPermissionCheckHandler((_webContents, permission, requestingOrigin) =>
    isPermissionAllowed(permission, requestingOrigin),
  );
  session.setDevicePermissionHandler(() => false);
}
