// Types for electron-binary.mjs (a plain script, so that `npm start` needs no TypeScript loader).
export interface ElectronBinary {
  present: boolean;
  path?: string;
  reason?: string;
}
export function findElectronBinary(options?: {
  requireElectron?: () => unknown;
  exists?: (path: string) => boolean;
}): ElectronBinary;
export type StartDecision = { mode: 'electron'; path?: string } | { mode: 'headless'; reason?: string };
export function decideStartMode(options: {
  binary: ElectronBinary;
  env?: Record<string, string | undefined>;
  platform?: NodeJS.Platform;
}): StartDecision;
