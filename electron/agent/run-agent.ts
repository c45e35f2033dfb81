// The headless agent: `lattice agent` and `npm start`'s fallback when Electron cannot start. Creates the
// agent, opens the loopback API and prints one ready line with the console's login URL.
import { request } from 'node:http';
import { LOCAL_API, LatticeError } from '../../shared';
import type { Agent } from './agent';
import { createAgent } from './create-agent';
import { ensureDataDir } from './data-dir';
import { startLocalApi, type LocalApi } from './local-api';
import { readRunningAgent } from './local-api/running-file';
import { createShareService } from './shares/share-service';

export interface HeadlessAgentOptions {
  dataDir: string;
  /** 0 or undefined: any free port. */
  apiPort?: number;
  hubUrl?: string;
  consoleDir?: string;
  env?: Record<string, string | undefined>;
  /** Close on SIGINT/SIGTERM and exit (default true). */
  handleSignals?: boolean;
  /** Where the ready line goes (default stdout). */
  print?: (line: string) => void;
}

export interface HeadlessAgent {
  agent: Agent;
  api: LocalApi;
  close(): Promise<void>;
}

function answersAsAgent(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(new URL(LOCAL_API.health, url), { agent: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

export async function runHeadlessAgent(opts: HeadlessAgentOptions): Promise<HeadlessAgent> {
  const dataDir = ensureDataDir(opts.dataDir);
  // Two agents on one data dir would fight over its database and its containers.
  const running = readRunningAgent(dataDir);
  if (running && running.pid !== process.pid && (await answersAsAgent(running.url))) {
    throw new LatticeError(
      'conflict',
      `A Lattice agent is already running for ${dataDir} (pid ${running.pid}, ${running.url})`,
    );
  }
  const agent = await createAgent({
    dataDir,
    hubUrl: opts.hubUrl,
    env: opts.env ?? process.env,
    // [sharing] share.create/revoke/list through the relay or ngrok.
    shareServiceFactory: (internals) => createShareService(internals),
  });
  let api: LocalApi;
  try {
    api = await startLocalApi(agent, { port: opts.apiPort ?? 0, consoleDir: opts.consoleDir });
  } catch (err) {
    await agent.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') {
      throw new LatticeError('port_taken', `API port ${opts.apiPort} is taken: pick another with --api-port`);
    }
    throw err;
  }

  let closing: Promise<void> | undefined;
  // Containers keep running with their restart policy: closing the agent only closes its doors.
  const close = () =>
    (closing ??= (async () => {
      await api.close();
      await agent.close();
    })());

  if (opts.handleSignals !== false) {
    const onSignal = () => {
      // A second Ctrl-C while closing means "now".
      if (closing) process.exit(130);
      const force = setTimeout(() => process.exit(1), 10_000);
      force.unref();
      close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  (opts.print ?? ((line: string) => process.stdout.write(`${line}\n`)))(
    `Lattice agent ready — console: ${api.consoleLoginUrl} (API ${api.url})`,
  );
  return { agent, api, close };
}
