import { createRequire } from 'node:module';

/** The package version, reported by /api/health. */
export const HUB_VERSION: string = (() => {
  try {
    return (createRequire(import.meta.url)('../package.json') as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();
