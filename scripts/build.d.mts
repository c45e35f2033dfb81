// Types for build.mjs (a plain script, so that `npm run build` needs no TypeScript loader).
export const EXTERNAL: string[];
export const RENDERER_DIR: string;
export const RENDERER_STAMP: string;
export function buildElectron(out?: string): Promise<void>;
export function buildRenderer(options?: { quiet?: boolean }): void;
