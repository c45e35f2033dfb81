// Serialises async work per key: the agent's share service and the hub's relay both change one share
// from several triggers (a command, an expiry timer, a reconnect) that must never interleave.

export class KeyedLock {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `fn` after every earlier call with the same key has settled; resolves with its result. */
  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(fn, fn);
    const settled = next.catch(() => undefined);
    this.tails.set(key, settled);
    void settled.then(() => {
      if (this.tails.get(key) === settled) this.tails.delete(key);
    });
    return next;
  }
}

/** setTimeout's delay is a signed 32-bit number of ms (about 24.8 days); beyond it Node fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** A delay that setTimeout keeps as given: negative → 0, beyond about 24.8 days → the maximum (re-arm then). */
export function timerDelay(ms: number): number {
  return Math.min(Math.max(ms, 0), MAX_TIMER_MS);
}
