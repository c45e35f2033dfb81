// Types for build.mjs (a plain script, so that `npm run build` needs no TypeScript loader).
export const EXTERNAL: string[];
export function buildElectron(out?: string): Promise<void>;
export function hasViteConfig(): boolean;
export function buildRenderer(): void;
