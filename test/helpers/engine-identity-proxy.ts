// A stand-in engine socket that says it is another daemon: an HTTP proxy at any path to the real
// engine, passing every request and answer through as they come (streams — events, log follows,
// pulls — included), except that `GET /info` answers with this proxy's daemon ID and name in place of
// the real ones. Everything a container goes through stays the real engine; only the identity the
// agent reads (`docker info` → ID) is this one's. For tests of what happens on "another engine"
// without running a second dockerd.
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

const REAL_SOCKET = '/var/run/docker.sock';

export class EngineIdentityProxy {
  /** `GET /info`, `POST /containers/create`, … without the API version prefix or the query. */
  readonly requests: string[] = [];
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    /** The daemon ID this engine reports; change it to play another daemon behind the same socket. */
    public daemonId: string,
  ) {}

  listen(): Promise<void> {
    this.server = createServer((req, res) => this.forward(req, res));
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    return new Promise((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => resolve());
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').replace(/^\/v[\d.]+/, '').replace(/\?.*$/, '');
    this.requests.push(`${req.method} ${path}`);
    const upstream = request(
      { socketPath: REAL_SOCKET, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        if (req.method === 'GET' && path === '/info' && answer.statusCode === 200) {
          const chunks: Buffer[] = [];
          answer.on('data', (c: Buffer) => chunks.push(c));
          answer.on('end', () => {
            const info = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
            const body = JSON.stringify({ ...info, ID: this.daemonId, Name: `proxy-${this.daemonId}` });
            res.writeHead(200, {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(body),
            });
            res.end(body);
          });
          return;
        }
        const headers = { ...answer.headers };
        res.writeHead(answer.statusCode ?? 502, headers);
        // Event and log streams: the client waits for the head before the first event.
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  }
}
