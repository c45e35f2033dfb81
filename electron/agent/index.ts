// The agent's one entry for the Electron shell (electron/main/). The shell starts the runtime, hands
// it a safeStorage key provider, and talks to the Agent interface; everything else in
// electron/agent/ stays private to the agent (the layering lint in eslint.config.js enforces it).
export type { Agent, AgentOptions } from './agent';
export { startAgentRuntime, type AgentRuntime, type AgentRuntimeOptions } from './agent-runtime';
export { ensureDataDir, resolveDataDir } from './data-dir';
export { fileKeyProvider, KEY_FILE, PROTECTED_KEY_FILE, type KeyProvider } from './secrets';
export type { LocalApi } from './local-api';
