// A stand-in engine socket at any path: forwards to the real engine and records what went through
// it, so a test can prove which socket the agent used. Connections are counted, and so are the API
// requests (method and path): dockerode keeps connections alive, so one connection can carry a
// deploy's whole conversation.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

const REAL_SOCKET = '/var/run/docker.sock';

export class EngineForwarder {
  connections = 0;
  /** `POST /containers/create`, `GET /events`, … without the API version prefix or the query. */
  readonly requests: string[] = [];
  private readonly open = new Set<Socket>();
  private server: Server | undefined;

  constructor(readonly path: string) {}

  listen(): Promise<void> {
    this.server = createServer((client) => {
      this.connections++;
      const engine = createConnection(REAL_SOCKET);
      this.open.add(client);
      client.on('data', (chunk: Buffer) => {
        const text = chunk.toString('latin1');
        for (const m of text.matchAll(/(?:^|\r\n)(GET|POST|PUT|DELETE|HEAD) (\/\S*) HTTP\/1\.1\r\n/g)) {
          this.requests.push(`${m[1]} ${m[2].replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '')}`);
        }
      });
      client.pipe(engine).pipe(client);
      const drop = () => {
        this.open.delete(client);
        client.destroy();
        engine.destroy();
      };
      client.on('error', drop).on('close', drop);
      engine.on('error', drop).on('close', drop);
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => resolve());
    });
  }

  /** Stops answering: open connections are cut and the socket file goes away, as when an engine stops. */
  async close(): Promise<void> {
    for (const s of this.open) s.destroy();
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }
}
