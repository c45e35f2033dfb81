// Types for console-build.mjs (a plain script, loaded by the CLI and by npm start).
export function consoleBuildNeeded(): 'missing' | 'stale' | undefined;
export function ensureConsoleBuilt(options?: { log?: (line: string) => void }): Promise<boolean>;
