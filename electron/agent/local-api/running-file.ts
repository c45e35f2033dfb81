// `agent.json` in the data dir: where a running agent's API is, so the CLI (and a second agent) can find it.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_FILES } from '../../../shared/local-api';

export interface RunningAgentFile {
  url: string;
  pid: number;
  startedAt: string;
}

export function writeRunningFile(dataDir: string, running: RunningAgentFile): void {
  const file = join(dataDir, DATA_FILES.running);
  writeFileSync(file, JSON.stringify(running), { mode: 0o600 });
  // The mode only applies to a new file; one left behind by a killed agent is rewritten in place.
  chmodSync(file, 0o600);
}

/** Removes agent.json only if it still describes `mine` (a newer agent may have replaced it). */
export function removeRunningFile(dataDir: string, mine: RunningAgentFile): void {
  const file = join(dataDir, DATA_FILES.running);
  try {
    if (!existsSync(file)) return;
    const current = JSON.parse(readFileSync(file, 'utf8')) as RunningAgentFile;
    if (current.pid === mine.pid && current.url === mine.url) rmSync(file, { force: true });
  } catch {
    rmSync(file, { force: true });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, but another user's.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** agent.json when it names a live process; a file left behind by a killed agent counts as none. */
export function readRunningAgent(dataDir: string): RunningAgentFile | undefined {
  const file = join(dataDir, DATA_FILES.running);
  if (!existsSync(file)) return undefined;
  try {
    const running = JSON.parse(readFileSync(file, 'utf8')) as RunningAgentFile;
    if (typeof running.url !== 'string' || typeof running.pid !== 'number') return undefined;
    return pidAlive(running.pid) ? running : undefined;
  } catch {
    return undefined;
  }
}
