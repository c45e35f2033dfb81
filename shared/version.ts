// Lattice's version, read from package.json in this one place: the agent reports it (system.info,
// the hub hello, the local API, `lattice --version`) and the hub serves it. A JSON import, so the
// bundlers inline it. Not re-exported from index.ts, so the browser bundle does not carry package.json.
import pkg from '../package.json' with { type: 'json' };

export const LATTICE_VERSION: string = pkg.version;
