// AWS Signature Version 4 on both sides of an S3 share: checking that a visitor's request is signed
// with the share's own key, and signing the request again with the workload's root key for the S3
// server. The signing itself is @smithy/signature-v4's (the AWS SDK's signer); checking a signature
// is signing the same canonical request with the share's secret and comparing in constant time.
// What is left here is reading the request (which headers were signed, which date, which scope) and
// the aws-chunked framing of STREAMING-AWS4-HMAC-SHA256-PAYLOAD bodies, whose per-chunk signatures
// are checked and replaced one by one.
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import { SignatureV4 } from '@smithy/signature-v4';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const STREAMING_SIGNED = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD';
export const STREAMING_SIGNED_TRAILER = 'STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER';
export const STREAMING_UNSIGNED_TRAILER = 'STREAMING-UNSIGNED-PAYLOAD-TRAILER';
const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** S3 refuses header-signed requests more than 15 minutes off its clock. */
const MAX_SKEW_MS = 15 * 60_000;
/** Presigned URLs live a week at most. */
const MAX_PRESIGNED_S = 7 * 86_400;

export interface S3Key {
  accessKeyId: string;
  secretAccessKey: string;
}

/** An S3 error the way S3 says it (clients show `code` and `message`). */
export class S3Denied extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The SHA-256 / HMAC-SHA-256 the signer needs, from node:crypto. */
class NodeSha256 {
  private hash!: Hash | Hmac;
  constructor(private readonly secret?: string | ArrayBuffer | ArrayBufferView) {
    this.reset();
  }
  update(data: Uint8Array): void {
    this.hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
  reset(): void {
    const s = this.secret;
    this.hash =
      s === undefined
        ? createHash('sha256')
        : createHmac(
            'sha256',
            typeof s === 'string'
              ? s
              : ArrayBuffer.isView(s)
                ? Buffer.from(s.buffer, s.byteOffset, s.byteLength)
                : Buffer.from(s),
          );
  }
}

export function signerFor(key: S3Key, region: string): SignatureV4 {
  return new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    region,
    service: 's3',
    sha256: NodeSha256,
    // S3 signs the path as sent, encoded once.
    uriEscapePath: false,
    applyChecksum: false,
  });
}

/** The parts of a signed request a verifier and a re-signer need. */
export interface SignedRequest {
  auth: 'header' | 'query';
  accessKeyId: string;
  /** yyyyMMddTHHmmssZ */
  amzDate: string;
  date: Date;
  region: string;
  signedHeaders: string[];
  signature: string;
  /** x-amz-content-sha256 (header auth), UNSIGNED-PAYLOAD for presigned URLs. */
  payloadHash: string;
  /** Presigned URLs: seconds of validity. */
  expiresIn?: number;
  rawPath: string;
  /** Decoded query pairs, in order, without the presigning parameters. */
  query: [string, string][];
}

const PRESIGN_PARAMS = new Set([
  'X-Amz-Algorithm',
  'X-Amz-Credential',
  'X-Amz-Date',
  'X-Amz-Expires',
  'X-Amz-SignedHeaders',
  'X-Amz-Signature',
  'X-Amz-Security-Token',
]);

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export function parseQuery(raw: string): [string, string][] {
  if (!raw) return [];
  return raw
    .split('&')
    .filter(Boolean)
    .map((pair) => {
      const eq = pair.indexOf('=');
      return eq < 0
        ? [safeDecode(pair), '']
        : [safeDecode(pair.slice(0, eq)), safeDecode(pair.slice(eq + 1))];
    });
}

/** RFC 3986, as SigV4 encodes (encodeURIComponent leaves !'()* alone). */
export const encodeRfc3986 = (s: string) =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export const queryString = (pairs: [string, string][]) =>
  pairs.map(([k, v]) => `${encodeRfc3986(k)}=${encodeRfc3986(v)}`).join('&');

function parseAmzDate(s: string | undefined): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(s ?? '');
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
}

/** "AK/20250101/us-east-1/s3/aws4_request" */
function parseCredential(credential: string | undefined) {
  const parts = (credential ?? '').split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || parts[3] !== 's3' || !/^\d{8}$/.test(parts[1]))
    return undefined;
  return { accessKeyId: parts[0], date: parts[1], region: parts[2] };
}

const malformed = (what: string) => new S3Denied(400, 'AuthorizationHeaderMalformed', what);

/** Reads the SigV4 signature of a request (Authorization header or presigned query); anything else is refused. */
export function readSignature(req: IncomingMessage, now: number): SignedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rawPath = q < 0 ? url : url.slice(0, q);
  const pairs = parseQuery(q < 0 ? '' : url.slice(q + 1));
  const param = (name: string) => pairs.find(([k]) => k === name)?.[1];
  const auth = req.headers.authorization;

  if (auth?.startsWith(`${ALGORITHM} `)) {
    const fields = new Map(
      auth
        .slice(ALGORITHM.length + 1)
        .split(',')
        .map((f) => f.trim())
        .filter(Boolean)
        .map((f) => [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)] as const),
    );
    const credential = parseCredential(fields.get('Credential'));
    const signed = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (!credential || !signed || !signature || !/^[0-9a-f]{64}$/.test(signature)) {
      throw malformed('The authorization header is malformed.');
    }
    const amzDate = req.headers['x-amz-date'];
    const date = parseAmzDate(typeof amzDate === 'string' ? amzDate : undefined);
    if (!date || typeof amzDate !== 'string') {
      throw new S3Denied(403, 'AccessDenied', 'AWS authentication requires a valid x-amz-date header');
    }
    if (credential.date !== amzDate.slice(0, 8))
      throw malformed('The credential date does not match x-amz-date.');
    if (Math.abs(now - date.getTime()) > MAX_SKEW_MS) {
      throw new S3Denied(
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the server time is too large.',
      );
    }
    const payload = req.headers['x-amz-content-sha256'];
    return {
      auth: 'header',
      accessKeyId: credential.accessKeyId,
      amzDate,
      date,
      region: credential.region,
      signedHeaders: signed.split(';'),
      signature,
      payloadHash: typeof payload === 'string' ? payload : EMPTY_SHA256,
      rawPath,
      query: pairs,
    };
  }

  if (param('X-Amz-Algorithm') !== undefined) {
    if (param('X-Amz-Algorithm') !== ALGORITHM) {
      throw new S3Denied(
        400,
        'AuthorizationQueryParametersError',
        `X-Amz-Algorithm only supports "${ALGORITHM}"`,
      );
    }
    const credential = parseCredential(param('X-Amz-Credential'));
    const amzDate = param('X-Amz-Date');
    const date = parseAmzDate(amzDate);
    const expiresIn = Number(param('X-Amz-Expires'));
    const signed = param('X-Amz-SignedHeaders');
    const signature = param('X-Amz-Signature');
    if (
      !credential ||
      !date ||
      !amzDate ||
      credential.date !== amzDate.slice(0, 8) ||
      !Number.isInteger(expiresIn) ||
      expiresIn < 1 ||
      expiresIn > MAX_PRESIGNED_S ||
      !signed ||
      !signature ||
      !/^[0-9a-f]{64}$/.test(signature)
    ) {
      throw new S3Denied(
        400,
        'AuthorizationQueryParametersError',
        'The presigned URL is missing or has malformed X-Amz-* parameters.',
      );
    }
    if (now > date.getTime() + expiresIn * 1000)
      throw new S3Denied(403, 'AccessDenied', 'Request has expired');
    if (date.getTime() - now > MAX_SKEW_MS) {
      throw new S3Denied(403, 'RequestTimeTooSkewed', 'The presigned URL is dated in the future.');
    }
    return {
      auth: 'query',
      accessKeyId: credential.accessKeyId,
      amzDate,
      date,
      region: credential.region,
      signedHeaders: signed.split(';'),
      signature,
      payloadHash: UNSIGNED_PAYLOAD,
      expiresIn,
      rawPath,
      query: pairs.filter(([k]) => !PRESIGN_PARAMS.has(k)),
    };
  }

  if (auth?.startsWith('AWS ') || param('AWSAccessKeyId') !== undefined) {
    throw new S3Denied(
      400,
      'InvalidRequest',
      'This share accepts AWS Signature Version 4 only (every current S3 client signs with it)',
    );
  }
  throw new S3Denied(
    403,
    'AccessDenied',
    'This share needs its access key: sign the request (AWS Signature V4)',
  );
}

type Query = Record<string, string | string[]>;

function queryObject(pairs: [string, string][]): Query {
  const out: Query = {};
  for (const [k, v] of pairs) {
    const had = out[k];
    out[k] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  return out;
}

/** The signed headers' values as received: repeated headers comma-joined, as SigV4 wants. */
function signedHeaderValues(req: IncomingMessage, names: string[]): Record<string, string> {
  const wanted = new Set(names);
  const values = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    if (!wanted.has(name)) continue;
    values.set(name, [...(values.get(name) ?? []), req.rawHeaders[i + 1]]);
  }
  const out: Record<string, string> = {};
  for (const name of names) {
    const v = values.get(name);
    if (v === undefined)
      throw new S3Denied(400, 'AuthorizationHeaderMalformed', `Signed header ${name} is missing`);
    out[name] = v.map((x) => x.trim()).join(',');
  }
  return out;
}

/** Path as sent, and with each segment re-encoded once: clients differ in what they leave unencoded. */
function candidatePaths(rawPath: string): string[] {
  const normalised = rawPath
    .split('/')
    .map((segment) => encodeRfc3986(safeDecode(segment)))
    .join('/');
  return normalised === rawPath ? [rawPath] : [rawPath, normalised];
}

const sameHex = (a: string, b: string) => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

function signatureOf(authorization: string): string {
  return /Signature=([0-9a-f]{64})/.exec(authorization)?.[1] ?? '';
}

/**
 * Whether the request is signed by `key`: the signer signs the same canonical request (the signed
 * headers as received, the same date, region and payload hash) and the two signatures are compared
 * in constant time. Throws S3Denied when not.
 */
export async function verifySignature(req: IncomingMessage, sig: SignedRequest, key: S3Key): Promise<void> {
  if (sig.accessKeyId !== key.accessKeyId) {
    throw new S3Denied(
      403,
      'InvalidAccessKeyId',
      'The AWS Access Key Id you provided does not exist in our records.',
    );
  }
  // The signer writes x-amz-date itself (from signingDate) and treats `date`/`authorization` as its own.
  const names = sig.signedHeaders.filter((h) => h !== 'x-amz-date');
  if (sig.auth === 'header' && names.length === sig.signedHeaders.length) {
    throw malformed('x-amz-date must be among the signed headers.');
  }
  if (names.includes('date') || names.includes('authorization')) {
    throw malformed('Signing the Date or Authorization header is not supported; sign x-amz-date.');
  }
  const headers = signedHeaderValues(req, names);
  const signer = signerFor(key, sig.region);
  const signable = new Set(sig.signedHeaders);
  for (const path of candidatePaths(sig.rawPath)) {
    const base = {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: 'share',
      path,
      query: queryObject(sig.query),
      headers: { ...headers },
    };
    let expected: string;
    let expectedHeaders: string;
    if (sig.auth === 'header') {
      const signed = await signer.sign(
        { ...base, headers: { ...base.headers, 'x-amz-content-sha256': sig.payloadHash } },
        {
          signingDate: sig.date,
          signableHeaders: signable,
          // Sent but not signed (allowed for GETs by some clients): it must stay out of the canonical headers.
          unsignableHeaders: signable.has('x-amz-content-sha256')
            ? undefined
            : new Set(['x-amz-content-sha256']),
        },
      );
      const authorization = String(signed.headers.authorization ?? '');
      expected = signatureOf(authorization);
      expectedHeaders = /SignedHeaders=([^,]+)/.exec(authorization)?.[1] ?? '';
    } else {
      const presigned = await signer.presign(
        { ...base, headers: { ...base.headers, 'x-amz-content-sha256': UNSIGNED_PAYLOAD } },
        {
          signingDate: sig.date,
          expiresIn: sig.expiresIn,
          signableHeaders: signable,
          unsignableHeaders: new Set(['x-amz-content-sha256']),
          // The signed headers stay headers: only the visitor's own query parameters are in the query.
          unhoistableHeaders: new Set([...sig.signedHeaders, 'x-amz-content-sha256']),
        },
      );
      expected = String(presigned.query?.['X-Amz-Signature'] ?? '');
      expectedHeaders = String(presigned.query?.['X-Amz-SignedHeaders'] ?? '');
    }
    if (expectedHeaders === sig.signedHeaders.join(';') && sameHex(expected, sig.signature)) return;
  }
  throw new S3Denied(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  );
}

/** Headers that belong to one connection, never forwarded (RFC 9110 §7.6.1), plus the ones re-made. */
const NOT_FORWARDED = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
  'authorization',
  'x-amz-date',
  'date',
  'x-amz-security-token',
]);

export interface Upstream {
  host: string;
  port: number;
  key: S3Key;
}

export interface ResignedRequest {
  path: string;
  headers: Record<string, string>;
  /** For STREAMING-AWS4-HMAC-SHA256-PAYLOAD: what the chunk signatures chain from. */
  seed: { signature: string; amzDate: string; scope: string; signingDate: Date; region: string };
}

/** The visitor's request, signed again with the root key for the S3 server behind the share. */
export async function resign(
  req: IncomingMessage,
  sig: SignedRequest,
  upstream: Upstream,
): Promise<ResignedRequest> {
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i].toLowerCase();
    if (NOT_FORWARDED.has(name) || name.startsWith('proxy-')) continue;
    const v = req.rawHeaders[i + 1];
    headers[name] = headers[name] === undefined ? v : `${headers[name]},${v}`;
  }
  headers.host = `${upstream.host}:${upstream.port}`;
  headers['x-amz-content-sha256'] = sig.payloadHash;
  // A presigned GET arrives without a body; a chunked body keeps its framing (Node re-frames it).
  const signingDate = new Date();
  const signer = signerFor(upstream.key, sig.region);
  const path = sig.query.length ? `${sig.rawPath}?${queryString(sig.query)}` : sig.rawPath;
  const signed = await signer.sign(
    {
      method: req.method ?? 'GET',
      protocol: 'http:',
      hostname: upstream.host,
      port: upstream.port,
      path: sig.rawPath,
      query: queryObject(sig.query),
      headers,
    },
    { signingDate },
  );
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(signed.headers)) out[k] = String(v);
  const amzDate = out['x-amz-date'];
  return {
    path,
    headers: out,
    seed: {
      signature: signatureOf(out.authorization ?? ''),
      amzDate,
      scope: `${amzDate.slice(0, 8)}/${sig.region}/s3/aws4_request`,
      signingDate,
      region: sig.region,
    },
  };
}

/**
 * Passes a body through while hashing it; holds back the last piece until the hash is known, so an
 * upload whose bytes do not match its signed x-amz-content-sha256 never completes upstream.
 */
export class PayloadHashCheck extends Transform {
  private readonly hash = createHash('sha256');
  private held: Buffer | undefined;
  constructor(private readonly expected: string) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    if (this.held) this.push(this.held);
    this.held = chunk;
    cb();
  }
  override _flush(cb: TransformCallback): void {
    const got = this.hash.digest('hex');
    if (!sameHex(got, this.expected.toLowerCase())) {
      cb(
        new S3Denied(
          400,
          'XAmzContentSHA256Mismatch',
          "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
      );
      return;
    }
    if (this.held) this.push(this.held);
    cb();
  }
}

const MAX_CHUNK_LINE = 4096;

/**
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD: each chunk carries a signature chained from the previous one
 * (the first from the request's). Every chunk's signature is checked against the share's key and
 * replaced by one chained from the re-signed request's, with the root key. Sizes and signature
 * lengths stay the same, so Content-Length and x-amz-decoded-content-length stay right.
 */
export class ChunkResigner extends Transform {
  private buf: Buffer = Buffer.alloc(0);
  private state: 'size' | 'data' | 'crlf' | 'done' = 'size';
  private remaining = 0;
  private size = 0;
  private claimed = '';
  private data: Buffer[] = [];
  private prevIn: string;
  private prevOut: string;
  private readonly inSigner: SignatureV4;
  private readonly outSigner: SignatureV4;

  constructor(
    private readonly visitor: { key: S3Key; sig: SignedRequest },
    private readonly upstream: { key: S3Key; seed: ResignedRequest['seed'] },
  ) {
    super();
    this.prevIn = visitor.sig.signature;
    this.prevOut = upstream.seed.signature;
    this.inSigner = signerFor(visitor.key, visitor.sig.region);
    this.outSigner = signerFor(upstream.key, upstream.seed.region);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.drain().then(() => cb(), cb);
  }

  override _flush(cb: TransformCallback): void {
    if (this.state !== 'done') {
      cb(new S3Denied(400, 'IncompleteBody', 'The aws-chunked body ended before its last chunk'));
      return;
    }
    cb();
  }

  private async drain(): Promise<void> {
    for (;;) {
      if (this.state === 'size') {
        const eol = this.buf.indexOf('\r\n');
        if (eol < 0) {
          if (this.buf.length > MAX_CHUNK_LINE) throw this.bad('chunk header line too long');
          return;
        }
        const line = this.buf.subarray(0, eol).toString('latin1');
        this.buf = this.buf.subarray(eol + 2);
        const m = /^([0-9a-fA-F]{1,16});chunk-signature=([0-9a-f]{64})$/.exec(line);
        if (!m) throw this.bad(`bad chunk header "${line.slice(0, 100)}"`);
        this.size = Number.parseInt(m[1], 16);
        if (!Number.isSafeInteger(this.size)) throw this.bad('chunk too large');
        this.claimed = m[2];
        this.remaining = this.size;
        this.data = [];
        this.state = this.size === 0 ? 'crlf' : 'data';
        if (this.size === 0) await this.finishChunk();
      } else if (this.state === 'data') {
        if (!this.buf.length) return;
        const n = Math.min(this.remaining, this.buf.length);
        this.data.push(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) {
          await this.finishChunk();
          this.state = 'crlf';
        }
      } else if (this.state === 'crlf') {
        if (this.buf.length < 2) return;
        if (this.buf[0] !== 13 || this.buf[1] !== 10) throw this.bad('no CRLF after chunk data');
        this.buf = this.buf.subarray(2);
        if (this.size === 0) {
          this.push(Buffer.from('\r\n'));
          this.state = 'done';
        } else {
          this.push(Buffer.from('\r\n'));
          this.state = 'size';
        }
      } else {
        if (this.buf.length) throw this.bad('bytes after the last chunk');
        return;
      }
    }
  }

  private async finishChunk(): Promise<void> {
    const body = Buffer.concat(this.data);
    const bodyHash = createHash('sha256').update(body).digest('hex');
    const inScope = `${this.visitor.sig.amzDate.slice(0, 8)}/${this.visitor.sig.region}/s3/aws4_request`;
    const expected = await this.inSigner.sign(
      [
        'AWS4-HMAC-SHA256-PAYLOAD',
        this.visitor.sig.amzDate,
        inScope,
        this.prevIn,
        EMPTY_SHA256,
        bodyHash,
      ].join('\n'),
      { signingDate: this.visitor.sig.date },
    );
    if (!sameHex(expected, this.claimed)) {
      throw new S3Denied(403, 'SignatureDoesNotMatch', 'A chunk signature of the upload does not match.');
    }
    this.prevIn = this.claimed;
    const seed = this.upstream.seed;
    const mine = await this.outSigner.sign(
      ['AWS4-HMAC-SHA256-PAYLOAD', seed.amzDate, seed.scope, this.prevOut, EMPTY_SHA256, bodyHash].join('\n'),
      { signingDate: seed.signingDate },
    );
    this.prevOut = mine;
    this.push(Buffer.from(`${this.size.toString(16)};chunk-signature=${mine}\r\n`, 'latin1'));
    if (body.length) this.push(body);
  }

  private bad(what: string): S3Denied {
    return new S3Denied(400, 'InvalidRequest', `aws-chunked body: ${what}`);
  }
}
