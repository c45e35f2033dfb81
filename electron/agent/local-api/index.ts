export { startLocalApi, type LocalApi, type LocalApiOptions } from './server';
export { readRunningAgent, type RunningAgentFile } from './running-file';
