// Accounts, sessions and device credentials: registration, login (rate-limited), refresh-token
// rotation, logout and password change (both end every session of the user), pairing codes and the
// device tokens they turn into.
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { LatticeError, type AuthResponse, type HubUser, type RegisterResponse } from '../shared';
import { HashPoolBusyError, type HashPoolOptions } from './auth/hash-pool';
import { PasswordHasher } from './auth/passwords';
import {
  admit,
  check,
  countFailure,
  delayLimiter,
  RateLimitedError,
  windowLimiter,
  type DelayPolicy,
  type Gate,
  type Limiter,
} from './auth/rate-limit';
import type { TokenService } from './auth/tokens';
import { assertRoomForDevice, DEFAULT_ACCOUNT_CAPS } from './account-caps';
import type { DeviceRow, HubStore, UserRow } from './store/hub-store';

export const PAIRING_CODE_TTL_MS = 10 * 60_000;
/** No 0/O, 1/I: codes are read off a screen and typed. 32 symbols × 10 = 50 bits. */
const CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export { RateLimitedError };

export const newId = (prefix: string) => `${prefix}_${randomBytes(12).toString('base64url')}`;
const normalizeEmail = (email: string) => email.trim().toLowerCase();
export const normalizePairingCode = (code: string) => code.toUpperCase().replace(/[\s-]/g, '');
const hashCode = (code: string) => createHash('sha256').update(normalizePairingCode(code)).digest('hex');

interface Window {
  max: number;
  windowMs: number;
}

/** Every limit on the doors that cost a password hash or can be guessed at. */
export interface AuthLimits {
  /** Login and password-change failures per account, from any address: free tries, then a growing delay. */
  account: DelayPolicy;
  /** Failed logins per address, whatever the accounts. */
  addressLogins: Window;
  /** Failed logins on the whole hub (a spray from many addresses); past it everyone waits (503). */
  globalLogins: Window;
  /** Registration attempts per address (each costs a hash whether or not the email is new). */
  registrations: Window;
  globalRegistrations: Window;
  /** Wrong pairing codes per address, and on the whole hub. */
  pairFailures: Window;
  globalPairFailures: Window;
  /** Refused refresh tokens per address, and on the whole hub. */
  refreshFailures: Window;
  globalRefreshFailures: Window;
}

const MIN = 60_000;
export const DEFAULT_AUTH_LIMITS: AuthLimits = {
  account: { free: 5, baseMs: 1000, maxDelayMs: 2 * MIN, windowMs: 15 * MIN },
  addressLogins: { max: 20, windowMs: 15 * MIN },
  globalLogins: { max: 600, windowMs: 10 * MIN },
  registrations: { max: 20, windowMs: 15 * MIN },
  globalRegistrations: { max: 300, windowMs: 60 * MIN },
  pairFailures: { max: 10, windowMs: 15 * MIN },
  globalPairFailures: { max: 300, windowMs: 15 * MIN },
  refreshFailures: { max: 30, windowMs: 15 * MIN },
  globalRefreshFailures: { max: 1000, windowMs: 15 * MIN },
};

export interface AccountsOptions {
  /** Paired devices one account may have (account-caps.ts). */
  maxDevices?: number;
  limits?: Partial<AuthLimits>;
  /** The password-hash pool: how many hashes at once, how long one may wait (hash-pool.ts). */
  hashPool?: Partial<HashPoolOptions>;
  /** Shorthand for limits.account: free failures per account within the window. */
  loginFailures?: Window;
  /** Shorthand for limits.pairFailures. */
  pairFailures?: Window;
  /** Shorthand for limits.registrations. */
  registrations?: Window;
}

/** What registration answers, whether the email was new or taken: the login that follows decides. */
export const REGISTERED: RegisterResponse = {
  registered: true,
  message: 'Registered. Sign in with this email and password.',
};

const GLOBAL = '*';
/** How often a hub deletes expired attempt counts (each hub of a cluster does, cheaply). */
const PRUNE_EVERY_MS = 60_000;

/** The refusal of a request whose access token is missing, bad, expired or from before a logout. */
export const signInAgain = () =>
  new LatticeError('unauthorized', 'Sign in: the access token is missing, expired or revoked');

/** An access token's verified claims (Accounts.accessClaims). */
export interface AccessClaims {
  userId: string;
  /** The account's token version when the token was issued; a logout or password change bumps it. */
  tokenVersion: unknown;
}

/** The account the claims name, if it exists and the token was issued since its last logout. */
export function currentUser(
  claims: AccessClaims,
  account: Pick<UserRow, 'id' | 'email' | 'tokenVersion'> | undefined,
): HubUser | undefined {
  if (!account || account.id !== claims.userId || claims.tokenVersion !== account.tokenVersion)
    return undefined;
  return { id: account.id, email: account.email };
}

export class Accounts {
  private readonly maxDevices: number;
  readonly limits: AuthLimits;
  readonly hasher: PasswordHasher;
  private readonly account: Limiter;
  private readonly addressLogins: Limiter;
  private readonly globalLogins: Limiter;
  private readonly registrations: Limiter;
  private readonly globalRegistrations: Limiter;
  private readonly pairFailures: Limiter;
  private readonly globalPairFailures: Limiter;
  private readonly refreshFailures: Limiter;
  private readonly globalRefreshFailures: Limiter;
  private prunedAt = 0;

  constructor(
    private readonly store: HubStore,
    private readonly tokens: TokenService,
    opts: AccountsOptions = {},
  ) {
    this.maxDevices = opts.maxDevices ?? DEFAULT_ACCOUNT_CAPS.devices;
    const limits: AuthLimits = { ...DEFAULT_AUTH_LIMITS, ...opts.limits };
    if (opts.loginFailures)
      limits.account = {
        ...limits.account,
        free: opts.loginFailures.max,
        windowMs: opts.loginFailures.windowMs,
      };
    if (opts.pairFailures) limits.pairFailures = opts.pairFailures;
    if (opts.registrations) limits.registrations = opts.registrations;
    this.limits = limits;
    this.hasher = new PasswordHasher(opts.hashPool);
    // The counts are in the store, by these names: every hub on the database shares them.
    const window = (name: keyof AuthLimits) => windowLimiter(store, name, limits[name] as Window);
    this.account = delayLimiter(store, 'account', limits.account);
    this.addressLogins = window('addressLogins');
    this.globalLogins = window('globalLogins');
    this.registrations = window('registrations');
    this.globalRegistrations = window('globalRegistrations');
    this.pairFailures = window('pairFailures');
    this.globalPairFailures = window('globalPairFailures');
    this.refreshFailures = window('refreshFailures');
    this.globalRefreshFailures = window('globalRefreshFailures');
  }

  /**
   * Counts an attempt on every gate, in the store (one statement each, checked and counted at once,
   * so concurrent requests on any hub see each other's attempts). Returns the refund for an attempt
   * that succeeded or was never evaluated.
   */
  private async admit(gates: Gate[]): Promise<() => Promise<void>> {
    const now = Date.now();
    if (now - this.prunedAt >= PRUNE_EVERY_MS) {
      this.prunedAt = now;
      this.store.pruneRateLimits(now).catch(() => undefined);
    }
    return admit(gates, now);
  }

  /** Runs hashing work; when the pool refuses it, the attempt did not happen and is refunded. */
  private async hashing<T>(refund: () => Promise<void>, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof HashPoolBusyError) await refund();
      throw err;
    }
  }

  /** A sign-in (or password check) succeeded: its address and the hub take it back, its account forgets. */
  private async loginSucceeded(email: string, ip: string): Promise<void> {
    await Promise.all([
      this.addressLogins.refund(ip),
      this.globalLogins.refund(GLOBAL),
      this.account.reset(email),
    ]);
  }

  private loginGates(email: string, ip: string): Gate[] {
    return [
      {
        limiter: this.account,
        key: email,
        status: 429,
        message: 'Too many failed sign-ins for this account',
      },
      {
        limiter: this.addressLogins,
        key: ip,
        status: 429,
        message: 'Too many failed sign-ins from this address',
      },
      {
        limiter: this.globalLogins,
        key: GLOBAL,
        status: 503,
        message: 'The hub is refusing sign-ins for a while',
      },
    ];
  }

  /**
   * Creates the account when the email is free. The answer, its status and its cost (one hash) are
   * the same when the email is taken, so registration does not tell which emails have accounts.
   */
  async register(email: string, password: string, ip: string): Promise<RegisterResponse> {
    const refund = await this.admit([
      {
        limiter: this.registrations,
        key: ip,
        status: 429,
        message: 'Too many registrations from this address',
      },
      {
        limiter: this.globalRegistrations,
        key: GLOBAL,
        status: 503,
        message: 'The hub is refusing registrations for a while',
      },
    ]);
    const passwordHash = await this.hashing(refund, () => this.hasher.hash(password));
    // 'email_taken' is deliberately not reported: the owner of that email signs in as before.
    await this.store.createUser({ id: newId('usr'), email: normalizeEmail(email), passwordHash });
    return REGISTERED;
  }

  async login(email: string, password: string, ip: string): Promise<AuthResponse> {
    const normalized = normalizeEmail(email);
    // Refused before hashing: a limited guesser costs the hub nothing.
    const refund = await this.admit(this.loginGates(normalized, ip));
    const user = await this.store.userByEmail(normalized);
    const ok = await this.hashing(refund, () =>
      user ? this.hasher.verify(password, user.passwordHash) : this.hasher.burn(password),
    );
    if (!user || !ok) {
      await this.account.failed(normalized);
      throw new LatticeError('unauthorized', 'Wrong email or password');
    }
    await this.loginSucceeded(normalized, ip);
    return this.session(user);
  }

  /**
   * Refresh is the one limited door a working dashboard uses routinely, and a refresh token cannot be
   * guessed: its limits are read (one query, no write) and only refused tokens are counted.
   */
  async refresh(refreshToken: string, ip: string): Promise<AuthResponse> {
    const gates: Gate[] = [
      { limiter: this.refreshFailures, key: ip, status: 429, message: 'Too many refused refresh tokens' },
      {
        limiter: this.globalRefreshFailures,
        key: GLOBAL,
        status: 503,
        message: 'The hub is refusing refresh tokens for a while',
      },
    ];
    await check(gates);
    try {
      return await this.rotate(refreshToken);
    } catch (err) {
      if (err instanceof LatticeError && err.code === 'unauthorized') await countFailure(gates);
      throw err;
    }
  }

  private async rotate(refreshToken: string): Promise<AuthResponse> {
    const verified = await this.tokens.verify('refresh', refreshToken);
    if (!verified?.jti) throw new LatticeError('unauthorized', 'The refresh token is not valid');
    const state = await this.store.consumeRefreshToken(verified.jti, verified.sub);
    if (state === 'reused') {
      // A rotated token came back: someone else holds a copy. End every session of the user.
      await this.endSessions(verified.sub);
      throw new LatticeError('unauthorized', 'The refresh token was already used; sign in again');
    }
    const user = state === 'ok' ? await this.store.userById(verified.sub) : undefined;
    if (!user) throw new LatticeError('unauthorized', 'The refresh token is not valid');
    return this.session(user);
  }

  /** Revokes refresh tokens and invalidates outstanding access tokens. Callers also close sockets. */
  async endSessions(userId: string): Promise<void> {
    await this.store.revokeRefreshTokens(userId);
    await this.store.bumpTokenVersion(userId);
  }

  async changePassword(
    userId: string,
    currentPassword: string,
    newPassword: string,
    ip: string,
  ): Promise<AuthResponse> {
    const user = await this.store.userById(userId);
    if (!user) throw new LatticeError('unauthorized', 'Sign in again');
    const refund = await this.admit(this.loginGates(user.email, ip));
    const ok = await this.hashing(refund, () => this.hasher.verify(currentPassword, user.passwordHash));
    if (!ok) {
      await this.account.failed(user.email);
      throw new LatticeError('unauthorized', 'The current password is wrong', 'currentPassword');
    }
    await this.loginSucceeded(user.email, ip);
    await this.store.setPassword(userId, await this.hasher.hash(newPassword));
    await this.endSessions(userId);
    return this.session((await this.store.userById(userId))!);
  }

  /** The user behind an access token, or undefined (bad, expired, or issued before a logout). */
  async userForAccessToken(token: string): Promise<HubUser | undefined> {
    const claims = await this.accessClaims(token);
    return claims && this.userForClaims(claims);
  }

  /**
   * What a well-signed, unexpired access token says, before the store is asked whether it still
   * counts: its user and the token version it was issued with. For a caller that reads the account in
   * the same query as everything else it needs (`userForClaims` or `currentUser` decide).
   */
  async accessClaims(token: string): Promise<AccessClaims | undefined> {
    const verified = await this.tokens.verify('access', token);
    return verified && { userId: verified.sub, tokenVersion: verified.payload.tv };
  }

  async userForClaims(claims: AccessClaims): Promise<HubUser | undefined> {
    return currentUser(claims, await this.store.userById(claims.userId));
  }

  /** The device behind a device token: it must exist, not be revoked, and this must be its current token. */
  async deviceForToken(token: string): Promise<DeviceRow | undefined> {
    const verified = await this.tokens.verify('device', token);
    if (!verified?.jti) return undefined;
    const device = await this.store.deviceById(verified.sub);
    if (!device || device.revoked || device.tokenId !== verified.jti) return undefined;
    return device;
  }

  async createPairingCode(userId: string): Promise<{ code: string; expiresAt: string }> {
    await assertRoomForDevice(this.store, userId, this.maxDevices);
    const raw = Array.from({ length: 10 }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
    const code = `${raw.slice(0, 5)}-${raw.slice(5)}`;
    const expiresAt = new Date(Date.now() + PAIRING_CODE_TTL_MS).toISOString();
    await this.store.addPairingCode({ codeHash: hashCode(code), userId, expiresAt });
    return { code, expiresAt };
  }

  async redeemPairingCode(
    code: string,
    name: string,
    ip: string,
  ): Promise<{ deviceId: string; deviceToken: string }> {
    const refund = await this.admit([
      { limiter: this.pairFailures, key: ip, status: 429, message: 'Too many wrong pairing codes' },
      {
        limiter: this.globalPairFailures,
        key: GLOBAL,
        status: 503,
        message: 'The hub is refusing pairing codes for a while',
      },
    ]);
    const userId = await this.store.redeemPairingCode(hashCode(code), new Date().toISOString());
    if (!userId) {
      throw new LatticeError(
        'invalid_argument',
        'The pairing code is wrong, already used or expired',
        'code',
      );
    }
    await refund();
    // Again at redemption: a code made while the account had room may be used after it filled up.
    await assertRoomForDevice(this.store, userId, this.maxDevices);
    const deviceId = newId('dev');
    const { token, jti } = await this.tokens.sign('device', deviceId);
    await this.store.createDevice({ id: deviceId, userId, name, tokenId: jti });
    return { deviceId, deviceToken: token };
  }

  private async session(user: UserRow): Promise<AuthResponse> {
    const access = await this.tokens.sign('access', user.id, { tv: user.tokenVersion, email: user.email });
    const refresh = await this.tokens.sign('refresh', user.id);
    await this.store.addRefreshToken({
      jti: refresh.jti,
      userId: user.id,
      expiresAt: refresh.expiresAt.toISOString(),
    });
    return {
      user: { id: user.id, email: user.email },
      accessToken: access.token,
      refreshToken: refresh.token,
    };
  }
}
