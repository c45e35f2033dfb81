// A bounded pool for password hashing. Each scrypt hash at the hub's parameters holds 128 MiB for
// about a second, so the number running at once is what decides the hub's memory: at most
// `concurrency` hashes run, a few more wait in a short queue, and everything beyond that is refused
// at once with "busy, retry after N s" instead of piling up. The ceiling is then
// baseline + concurrency × 128 MiB, whatever the load.
import { RateLimitedError } from './rate-limit';

export interface HashPoolOptions {
  /** Hashes running at once. Default 2 (≈ 256 MiB of scrypt memory). */
  concurrency: number;
  /** Longest a hash may wait for a slot before it is refused. Default 500 ms. */
  maxWaitMs: number;
  /** Longest queue; further hashes are refused without waiting. Default 4 × concurrency. */
  maxQueue: number;
}

export const DEFAULT_HASH_POOL: HashPoolOptions = { concurrency: 2, maxWaitMs: 500, maxQueue: 8 };

/** The hub is hashing as fast as its memory budget allows; the caller answers 503 + Retry-After. */
export class HashPoolBusyError extends RateLimitedError {
  constructor(retryAfterSeconds: number) {
    super(`The hub is busy checking passwords; try again in ${retryAfterSeconds} s`, retryAfterSeconds, 503);
  }
}

interface Waiter {
  start: () => void;
  timer: NodeJS.Timeout;
}

export class HashPool {
  private running = 0;
  private readonly queue: Waiter[] = [];
  /** Moving average of one hash's duration, for Retry-After and for refusing early. */
  private averageMs = 1000;
  readonly options: HashPoolOptions;

  constructor(options: Partial<HashPoolOptions> = {}) {
    const concurrency = options.concurrency ?? DEFAULT_HASH_POOL.concurrency;
    this.options = {
      concurrency,
      maxWaitMs: options.maxWaitMs ?? DEFAULT_HASH_POOL.maxWaitMs,
      maxQueue: options.maxQueue ?? concurrency * 4,
    };
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new Error('hash pool concurrency must be a whole number ≥ 1');
  }

  get stats() {
    return { running: this.running, queued: this.queue.length };
  }

  /** Runs `work` when a slot is free; throws HashPoolBusyError when none frees up soon enough. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    await this.acquire();
    const started = Date.now();
    try {
      return await work();
    } finally {
      this.averageMs = this.averageMs * 0.8 + (Date.now() - started) * 0.2;
      this.release();
    }
  }

  private retryAfter(): number {
    const rounds = (this.queue.length + 1) / this.options.concurrency;
    return Math.max(1, Math.ceil((rounds * this.averageMs) / 1000));
  }

  private acquire(): Promise<void> {
    const { concurrency, maxQueue, maxWaitMs } = this.options;
    if (this.running < concurrency && this.queue.length === 0) {
      this.running++;
      return Promise.resolve();
    }
    // Waiting is pointless when the hashes ahead cannot finish within the wait limit.
    const expectedWaitMs = (Math.floor(this.queue.length / concurrency) + 0.5) * this.averageMs;
    if (this.queue.length >= maxQueue || expectedWaitMs > maxWaitMs * 2) {
      return Promise.reject(new HashPoolBusyError(this.retryAfter()));
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        start: () => {
          clearTimeout(waiter.timer);
          this.running++;
          resolve();
        },
        timer: setTimeout(() => {
          const i = this.queue.indexOf(waiter);
          if (i >= 0) this.queue.splice(i, 1);
          reject(new HashPoolBusyError(this.retryAfter()));
        }, maxWaitMs),
      };
      this.queue.push(waiter);
    });
  }

  private release(): void {
    this.running--;
    const next = this.queue.shift();
    if (next) next.start();
  }
}
