// Types for cli-bundle.mjs (a plain script: bin/lattice.mjs loads it without a TypeScript loader).
export const CLI_OUT_ROOT: string;
export function freshCliBundle(): string | undefined;
export function buildCliBundle(): Promise<string>;
export function loadCli(options?: {
  env?: Record<string, string | undefined>;
  log?: (line: string) => void;
}): Promise<(argv: string[]) => Promise<void>>;
