// Docker's failures as the contract's errors: each container action gets its own code, so a caller
// (the console, the CLI, a script) can tell a failed stop from a failed deploy. A lost connection to
// the daemon is `docker_unavailable` whatever was being done.
import { LatticeError, type ErrorCode } from '../../../shared';
import { dockerUnavailable, isDockerConnectionError } from './engine';

/** Docker's HTTP status on a failed call (404 no such object, 304 already in that state, 409 conflict). */
export const dockerStatusCode = (err: unknown): number | undefined =>
  (err as { statusCode?: number } | undefined)?.statusCode;

/** Docker's own message when it gave one (the `json.message` of dockerode's error), else the error's. */
export const dockerMessage = (err: unknown): string =>
  (err as { json?: { message?: string } }).json?.message ?? (err as Error).message;

export type ContainerAction = 'start' | 'stop' | 'restart' | 'remove';

const ACTION_CODES: Record<ContainerAction, ErrorCode> = {
  start: 'start_failed',
  stop: 'stop_failed',
  restart: 'restart_failed',
  remove: 'remove_failed',
};

/** A failed start / stop / restart / remove of a workload's container (or, for remove, its volume). */
export function containerActionError(
  err: unknown,
  action: ContainerAction,
  what = 'the container',
): LatticeError {
  if (isDockerConnectionError(err)) return dockerUnavailable();
  return new LatticeError(ACTION_CODES[action], `Docker could not ${action} ${what}: ${dockerMessage(err)}`);
}

/** A failure anywhere in the deploy pipeline that is not already one of ours. */
export function deployError(err: unknown): LatticeError {
  if (err instanceof LatticeError) return err;
  if (isDockerConnectionError(err)) return dockerUnavailable();
  return new LatticeError('deploy_failed', `Deploy failed: ${dockerMessage(err)}`);
}

/** Docker refusing a start because a published host port was taken after we picked it. */
export function portTakenOnStart(err: unknown): LatticeError | undefined {
  const message = dockerMessage(err);
  if (!/port is already allocated|address already in use/i.test(message)) return undefined;
  return new LatticeError('port_taken', `A host port of this workload was taken meanwhile: ${message}`);
}
