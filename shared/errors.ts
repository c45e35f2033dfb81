import { z } from 'zod';

/** Every error any door can return. The code is for programs, the message for people. */
export const ErrorCode = z.enum([
  'invalid_argument',
  'unknown_command',
  'not_found',
  'conflict',
  'port_taken',
  'forbidden',
  'pending_approval',
  'unauthorized',
  'rate_limited',
  'docker_unavailable',
  'image_not_found',
  'pull_failed',
  'deploy_failed',
  /** A workload's container (or volume) could not be started, stopped, restarted or removed. */
  'start_failed',
  'stop_failed',
  'restart_failed',
  'remove_failed',
  'health_check_failed',
  'share_failed',
  /** Every public port of the hub's relay range is reserved by shares of other accounts. */
  'relay_ports_exhausted',
  /** An account reached one of the hub's per-account limits (paired devices, relay shares). */
  'quota_exceeded',
  'device_offline',
  'timeout',
  /** The device answered with something the contract does not allow (checked at the hub). */
  'agent_error',
  'internal',
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const ErrorBody = z.object({
  code: ErrorCode,
  message: z.string(),
  /** For invalid_argument: the field that was wrong, as a dotted path (`ports.0.host`). */
  field: z.string().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

export type Result<T> = { ok: true; value: T } | { ok: false; error: ErrorBody };

/** An error that carries its code across every door. */
export class LatticeError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'LatticeError';
  }

  toBody(): ErrorBody {
    return this.field
      ? { code: this.code, message: this.message, field: this.field }
      : { code: this.code, message: this.message };
  }

  static from(body: ErrorBody): LatticeError {
    return new LatticeError(body.code, body.message, body.field);
  }
}

/** Turns a zod failure into one readable invalid_argument error naming the first bad field. */
export function fromZodError(error: z.ZodError, what = 'argument'): LatticeError {
  const issue = error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  const where = path ? `${path}: ` : '';
  return new LatticeError(
    'invalid_argument',
    `Invalid ${what}: ${where}${issue?.message ?? 'malformed'}`,
    path || undefined,
  );
}
