// The agent's version, read in this one place: system.info reports it, the hub link announces it, the
// local API's OpenAPI document and the CLI's --version print it. A JSON import, so bundlers inline it.
import pkg from '../../package.json' with { type: 'json' };

export const AGENT_VERSION: string = pkg.version;
