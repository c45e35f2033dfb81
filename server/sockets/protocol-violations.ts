// What the hub does when a paired device sends messages it does not understand. One line per bad
// message let a single agent flood the log (6,518 lines in five seconds), so violations are counted
// per device and logged as samples with counts: the first at once, then at most one summary line per
// device per `logIntervalMs`. A device past `maxPerWindow` violations within `windowMs` is
// disconnected with CLOSE_PROTOCOL_VIOLATIONS and refused for a cool-down that doubles each time
// (the agent also backs off on that code). Unknown message types are still tolerated below the bound:
// a newer agent may know more types than this hub.
import type { Logger } from 'pino';

export interface ViolationLimits {
  maxPerWindow: number;
  windowMs: number;
  logIntervalMs: number;
  /** First cool-down after a disconnect; it doubles with each further one, up to maxCooldownMs. */
  cooldownMs: number;
  maxCooldownMs: number;
}

export const DEFAULT_VIOLATION_LIMITS: ViolationLimits = {
  maxPerWindow: 50,
  windowMs: 60_000,
  logIntervalMs: 60_000,
  cooldownMs: 30_000,
  maxCooldownMs: 15 * 60_000,
};

/** Devices remembered at most; beyond it the stalest are forgotten. */
const MAX_DEVICES = 10_000;
/** Hub-wide, whatever the number of misbehaving devices: at most this many violation lines a minute. */
const MAX_LINES_PER_MINUTE = 30;

interface DeviceRecord {
  windowStart: number;
  inWindow: number;
  /** Counted since the last line written for this device. */
  unlogged: number;
  reasons: Map<string, number>;
  sample: string | undefined;
  lastLogAt: number;
  strikes: number;
  blockedUntil: number;
  touchedAt: number;
}

export type Verdict = { disconnect: false } | { disconnect: true; cooldownSeconds: number };

export class ProtocolViolations {
  readonly limits: ViolationLimits;
  private readonly devices = new Map<string, DeviceRecord>();
  private linesThisMinute = 0;
  private minuteStart = 0;
  private suppressedLines = 0;

  constructor(
    private readonly logger: Logger,
    limits: Partial<ViolationLimits> = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...DEFAULT_VIOLATION_LIMITS, ...limits };
  }

  /** Seconds the device must still wait before it may connect again; 0 when it may. */
  cooldownSeconds(deviceId: string): number {
    const rec = this.devices.get(deviceId);
    const left = rec ? rec.blockedUntil - this.now() : 0;
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  /** Counts one bad message; says whether the device has now earned a disconnect. */
  record(deviceId: string, reason: string, sample?: string): Verdict {
    const now = this.now();
    const rec = this.device(deviceId, now);
    // Still held off (frames that were in flight when it was cut): counted, nothing more.
    if (rec.blockedUntil > now) {
      rec.unlogged++;
      return { disconnect: true, cooldownSeconds: Math.ceil((rec.blockedUntil - now) / 1000) };
    }
    // Good behaviour for a long while wipes the slate.
    if (rec.strikes && now - rec.blockedUntil > this.limits.maxCooldownMs) rec.strikes = 0;
    if (now - rec.windowStart > this.limits.windowMs) {
      rec.windowStart = now;
      rec.inWindow = 0;
    }
    rec.inWindow++;
    rec.unlogged++;
    rec.reasons.set(reason, (rec.reasons.get(reason) ?? 0) + 1);
    rec.sample ??= sample?.slice(0, 200);

    if (rec.inWindow > this.limits.maxPerWindow) {
      const cooldown = Math.min(this.limits.maxCooldownMs, this.limits.cooldownMs * 2 ** rec.strikes);
      rec.strikes++;
      rec.blockedUntil = now + cooldown;
      rec.inWindow = 0;
      const cooldownSeconds = Math.ceil(cooldown / 1000);
      this.line(rec, deviceId, now, 'disconnecting a device that keeps sending bad messages', {
        cooldownSeconds,
      });
      return { disconnect: true, cooldownSeconds };
    }
    if (now - rec.lastLogAt >= this.limits.logIntervalMs) {
      this.line(rec, deviceId, now, 'device sent messages the hub does not understand (sampled)');
    }
    return { disconnect: false };
  }

  private line(rec: DeviceRecord, deviceId: string, now: number, msg: string, extra: object = {}): void {
    if (now - this.minuteStart >= 60_000) {
      this.minuteStart = now;
      this.linesThisMinute = 0;
    }
    if (this.linesThisMinute >= MAX_LINES_PER_MINUTE) {
      // The counts stay with the device and appear in its next line.
      this.suppressedLines++;
      return;
    }
    this.linesThisMinute++;
    this.logger.warn(
      {
        deviceId,
        violations: rec.unlogged,
        reasons: Object.fromEntries(rec.reasons),
        sample: rec.sample,
        ...(this.suppressedLines ? { suppressedLines: this.suppressedLines } : {}),
        ...extra,
      },
      msg,
    );
    this.suppressedLines = 0;
    rec.unlogged = 0;
    rec.reasons.clear();
    rec.sample = undefined;
    rec.lastLogAt = now;
  }

  private device(deviceId: string, now: number): DeviceRecord {
    let rec = this.devices.get(deviceId);
    if (!rec) {
      if (this.devices.size >= MAX_DEVICES) this.forgetStalest();
      rec = {
        windowStart: now,
        inWindow: 0,
        unlogged: 0,
        reasons: new Map(),
        sample: undefined,
        lastLogAt: 0,
        strikes: 0,
        blockedUntil: 0,
        touchedAt: now,
      };
      this.devices.set(deviceId, rec);
    }
    rec.touchedAt = now;
    return rec;
  }

  private forgetStalest(): void {
    const now = this.now();
    for (const [id, rec] of this.devices) {
      if (rec.blockedUntil < now && now - rec.touchedAt > this.limits.windowMs) this.devices.delete(id);
    }
    if (this.devices.size >= MAX_DEVICES) {
      const oldest = this.devices.keys().next().value;
      if (oldest !== undefined) this.devices.delete(oldest);
    }
  }
}
