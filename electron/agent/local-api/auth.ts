// Who may talk to the local API: the CLI with the API token from the data dir, or a browser holding a
// console session cookie it got with a one-time token. Plus the DNS-rebinding defences (Host, Origin).
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { DATA_FILES, SESSION_COOKIE } from '../../../shared';

const TOKEN_PATTERN = /^[0-9a-f]{64}$/;

/** The API token (256 bits, hex) kept 0600 in the data dir; reused only when nobody else could have read it. */
export function loadOrCreateApiToken(dataDir: string): string {
  const file = join(dataDir, DATA_FILES.apiToken);
  if (existsSync(file) && (statSync(file).mode & 0o077) === 0) {
    const existing = readFileSync(file, 'utf8').trim();
    if (TOKEN_PATTERN.test(existing)) return existing;
  }
  const token = randomBytes(32).toString('hex');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of an existing file: a token that was readable by others is replaced
  // and its file tightened.
  chmodSync(file, 0o600);
  return token;
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}

export type AuthKind = 'token' | 'cookie' | null;

/** How long a console login link works if nobody opens it: it is printed, so it may be seen later. */
export const ONE_TIME_TOKEN_TTL_MS = 5 * 60_000;
/** Unused links kept at most; asking for more forgets the oldest. */
const MAX_ONE_TIME_TOKENS = 100;

/** Tokens and sessions of one running API. Sessions live in memory: a restarted agent asks for a new login. */
export class ApiAuth {
  /** Unused console tokens and when each stops working. */
  private readonly oneTimeTokens = new Map<string, number>();
  private readonly sessions = new Set<string>();

  constructor(
    readonly apiToken: string,
    private readonly now: () => number = Date.now,
    private readonly oneTimeTtlMs = ONE_TIME_TOKEN_TTL_MS,
  ) {}

  /**
   * A console token that works once and only for a few minutes: it travels in a URL and is printed
   * to a terminal, so it must not stay valid.
   */
  issueOneTimeToken(): string {
    this.forgetExpired();
    if (this.oneTimeTokens.size >= MAX_ONE_TIME_TOKENS) {
      this.oneTimeTokens.delete(this.oneTimeTokens.keys().next().value!);
    }
    const token = randomBytes(24).toString('base64url');
    this.oneTimeTokens.set(token, this.now() + this.oneTimeTtlMs);
    return token;
  }

  /** Spends a one-time token; true when it was valid and had not expired. */
  redeemOneTimeToken(token: string): boolean {
    this.forgetExpired();
    for (const candidate of this.oneTimeTokens.keys()) {
      if (sameSecret(candidate, token)) {
        this.oneTimeTokens.delete(candidate);
        return true;
      }
    }
    return false;
  }

  private forgetExpired(): void {
    const now = this.now();
    for (const [token, expiresAt] of this.oneTimeTokens)
      if (expiresAt <= now) this.oneTimeTokens.delete(token);
  }

  isApiToken(token: string): boolean {
    return sameSecret(this.apiToken, token);
  }

  newSession(): string {
    const id = randomBytes(32).toString('base64url');
    this.sessions.add(id);
    return id;
  }

  sessionCookie(id: string): string {
    return `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/`;
  }

  /** How the request authenticated, if at all. */
  authenticate(req: IncomingMessage): AuthKind {
    const header = req.headers.authorization;
    if (header?.startsWith('Bearer ') && this.isApiToken(header.slice(7).trim())) return 'token';
    const session = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (session) for (const id of this.sessions) if (sameSecret(id, session)) return 'cookie';
    return null;
  }
}

/** The Host values this server answers to: anything else is a DNS-rebinding attempt or a mistake. */
export const allowedHosts = (port: number) => [`127.0.0.1:${port}`, `localhost:${port}`];

export function hostAllowed(req: IncomingMessage, port: number): boolean {
  const host = (req.headers.host ?? '').toLowerCase();
  return allowedHosts(port).includes(host);
}

/** The Origin a browser sends for our own pages is `http://<the Host it asked for>`. */
export function originIsOwn(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  return (
    typeof origin === 'string' && origin.toLowerCase() === `http://${(req.headers.host ?? '').toLowerCase()}`
  );
}
