// The front of an S3 share. The tunnel carries a visitor's connection here (not to the S3 server):
// each request must be signed with the share's own access key (AWS Signature V4, header or
// presigned), must stay inside what the share allows (read-only, one bucket, no server or bucket
// administration), and is then signed again with the workload's root key and sent to the S3 server
// on its loopback port. The root key never leaves this process; the share's key dies with the
// share, because this listener does. Works with any S3-compatible server, admin API or not.
import { randomBytes } from 'node:crypto';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import type { Logger } from 'pino';
import {
  ChunkResigner,
  PayloadHashCheck,
  readSignature,
  resign,
  S3Denied,
  STREAMING_SIGNED,
  STREAMING_SIGNED_TRAILER,
  STREAMING_UNSIGNED_TRAILER,
  UNSIGNED_PAYLOAD,
  verifySignature,
  type S3Key,
  type SignedRequest,
  type Upstream,
} from './s3-sigv4';

export type { S3Key } from './s3-sigv4';

export interface S3ShareScope {
  readOnly: boolean;
  /** Only this bucket (path-style requests), when set. */
  bucket?: string;
}

export interface S3ShareProxyOptions {
  /** The share's own key: what visitors sign with. */
  key: S3Key;
  scope: S3ShareScope;
  /** The S3 server on its loopback port, and the root key the agent signs with. */
  upstream: Upstream;
  logger?: Pick<Logger, 'debug' | 'info' | 'warn'>;
  /** Test hook: the clock. */
  now?: () => number;
}

/** A fresh key pair in AWS's shapes: a 20-character access key id, a 40-character secret (240 bits). */
export function newS3ShareKey(): S3Key {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const id = [...randomBytes(16)].map((b) => alphabet[b % 32]).join('');
  return { accessKeyId: `LS${id}AA`.slice(0, 20), secretAccessKey: randomBytes(30).toString('base64url') };
}

/** S3 bucket names (path-style): 3–63 of a-z 0-9 . -, starting and ending with a letter or digit. */
export function isBucketName(name: string): boolean {
  return (
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !/\.\./.test(name) &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name)
  );
}

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'proxy-connection',
]);

const xmlEscape = (s: string) =>
  s.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!,
  );

const denied = (message: string) => new S3Denied(403, 'AccessDenied', message);

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * What a share may do. Reads (GET, HEAD) anywhere in scope; with read-write, object writes and
 * creating, deleting and batch-deleting in a bucket — never the server's admin or STS endpoints, nor
 * bucket settings (a bucket policy would let the data out past the share's end).
 */
export function authorize(req: IncomingMessage, sig: SignedRequest, scope: S3ShareScope): void {
  const method = req.method ?? 'GET';
  const segments = sig.rawPath.replace(/^\/+/, '').split('/');
  const bucket = decodeSegment(segments[0] ?? '');
  const hasKey = segments.length > 1 && segments.slice(1).join('/') !== '';
  const params = new Set(sig.query.map(([k]) => k));
  if (bucket === 'minio' || params.has('Action')) {
    throw denied('A share reaches buckets and objects only, not the server’s admin or STS endpoints');
  }
  if (scope.bucket !== undefined && bucket !== scope.bucket) {
    throw denied(
      bucket
        ? `This share is limited to the bucket "${scope.bucket}"`
        : `This share is limited to the bucket "${scope.bucket}"; it cannot list the buckets`,
    );
  }
  if (method === 'GET' || method === 'HEAD') return;
  if (scope.readOnly) throw denied('This share is read-only');
  if (!bucket) throw denied('A share cannot act on the server itself');
  const copySource = req.headers['x-amz-copy-source'];
  if (typeof copySource === 'string' && scope.bucket !== undefined) {
    const from = decodeSegment(copySource.replace(/^\/+/, '').split('/')[0] ?? '');
    if (from !== scope.bucket) throw denied(`This share can copy only from the bucket "${scope.bucket}"`);
  }
  // Grants and object locks outlive the share: a public-read ACL would publish the object, a
  // compliance-mode retention would keep even the owner from deleting it for years.
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith('x-amz-grant-') || name.startsWith('x-amz-object-lock-')) {
      throw denied('A share cannot grant access or lock objects');
    }
  }
  const acl = req.headers['x-amz-acl'];
  if (acl !== undefined && acl !== 'private') throw denied('A share cannot grant access (x-amz-acl)');
  if (hasKey) {
    if (params.has('acl') || params.has('policy') || params.has('retention') || params.has('legal-hold')) {
      throw denied('A share cannot change permissions or lock objects');
    }
    if (method === 'PUT' || method === 'POST' || method === 'DELETE') return;
    throw denied(`${method} is not an S3 object operation`);
  }
  const onlyParam = params.size === 1 ? [...params][0] : undefined;
  if ((method === 'PUT' || method === 'DELETE') && params.size === 0) return; // create / delete the bucket
  if (method === 'POST' && onlyParam === 'delete') return; // DeleteObjects
  throw denied('A share cannot change bucket settings (policy, ACL, lifecycle, …)');
}

function sendError(res: ServerResponse, err: unknown, resource: string): void {
  const e =
    err instanceof S3Denied
      ? err
      : new S3Denied(
          502,
          'BadGateway',
          `The S3 server behind this share did not answer: ${(err as Error).message}`,
        );
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>${xmlEscape(e.code)}</Code><Message>${xmlEscape(e.message)}</Message>` +
    `<Resource>${xmlEscape(resource)}</Resource></Error>`;
  res.writeHead(e.status, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(body),
    // The request body may be unread: do not reuse the connection for another request.
    connection: 'close',
  });
  res.end(body);
}

export class S3ShareProxy {
  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Listens on 127.0.0.1 at a free port: the tunnel's local end. */
  static async start(opts: S3ShareProxyOptions): Promise<S3ShareProxy> {
    const now = opts.now ?? Date.now;
    const server = createServer({ requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
      void handle(req, res);
    });
    server.keepAliveTimeout = 30_000;

    async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
      const resource = (req.url ?? '/').split('?')[0];
      let sig: SignedRequest;
      try {
        sig = readSignature(req, now());
        await verifySignature(req, sig, opts.key);
        authorize(req, sig, opts.scope);
      } catch (err) {
        opts.logger?.debug(
          { method: req.method, resource, err: (err as Error).message },
          's3 share refused a request',
        );
        req.resume();
        sendError(res, err, resource);
        return;
      }
      try {
        const out = await resign(req, sig, opts.upstream);
        let body: Readable = req;
        const mode = sig.payloadHash;
        if (mode === STREAMING_SIGNED) {
          body = req.pipe(
            new ChunkResigner({ key: opts.key, sig }, { key: opts.upstream.key, seed: out.seed }),
          );
        } else if (
          mode === STREAMING_SIGNED_TRAILER ||
          (mode.startsWith('STREAMING-') && mode !== STREAMING_UNSIGNED_TRAILER)
        ) {
          throw new S3Denied(
            501,
            'NotImplemented',
            `This share does not accept ${mode} uploads; use signed (hex SHA-256), UNSIGNED-PAYLOAD, ${STREAMING_UNSIGNED_TRAILER} or ${STREAMING_SIGNED} bodies`,
          );
        } else if (/^[0-9a-fA-F]{64}$/.test(mode)) {
          body = req.pipe(new PayloadHashCheck(mode));
        } else if (mode !== UNSIGNED_PAYLOAD && mode !== STREAMING_UNSIGNED_TRAILER) {
          throw new S3Denied(
            400,
            'InvalidArgument',
            'x-amz-content-sha256 must be a SHA-256 or an S3 payload mode',
          );
        }
        // The unsigned modes are passed on as the visitor sent them: nothing in them was signed, and
        // the server checks their checksum trailers itself.
        const up = request({
          host: opts.upstream.host,
          port: opts.upstream.port,
          method: req.method,
          path: out.path,
          headers: out.headers,
        });
        up.on('response', (upRes) => {
          const headers: string[] = [];
          for (let i = 0; i < upRes.rawHeaders.length; i += 2) {
            if (!HOP_BY_HOP.has(upRes.rawHeaders[i].toLowerCase()))
              headers.push(upRes.rawHeaders[i], upRes.rawHeaders[i + 1]);
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
          pipeline(upRes, res, () => undefined);
        });
        pipeline(body, up, (err) => {
          if (!err) return;
          up.destroy();
          opts.logger?.debug({ method: req.method, resource, err: err.message }, 's3 share upload stopped');
          sendError(res, err, resource);
        });
        up.on('error', (err) => sendError(res, err, resource));
      } catch (err) {
        req.resume();
        sendError(res, err, resource);
      }
    }

    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new S3ShareProxy(server, (server.address() as AddressInfo).port);
  }

  /** Stops listening and cuts every open connection: the share's key stops working now. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
