/** The package version, reported by /api/health (read once, in shared/version.ts). */
export { LATTICE_VERSION as HUB_VERSION } from '../shared/version';
