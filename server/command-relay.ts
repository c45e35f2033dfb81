// Relaying a dashboard command to the device's agent and waiting for its result.
// The command id is an idempotency key per device: a stored result is returned as is, a command
// still in flight is joined rather than sent again, so a retried request never deploys twice.
// A device that is not connected fails at once with device_offline; one that does not answer in
// time gives `timeout` to the caller, while the hub keeps waiting a while for the late result.
import type { Logger } from 'pino';
import {
  COMMANDS,
  LatticeError,
  isCommandName,
  withoutCredentials,
  type HubUser,
  type Result,
} from '../shared';
import type { HubStore, StoredCommandResult } from './store/hub-store';
import type { PendingCommand, Presence } from './presence';

export const DEFAULT_COMMAND_TIMEOUTS_MS: Record<string, number> = {
  'workload.deploy': 120_000,
  default: 60_000,
};
/** How long a command that timed out for its caller may still deliver a result worth storing. */
const LATE_RESULT_GRACE_MS = 10 * 60_000;

interface InFlight {
  /** The result once it is stored (or the failure that ended the wait). */
  promise: Promise<Result<unknown>>;
  name: string;
}

/** The agent's answer (or the failure that ended the wait) and the same once it is stored. */
interface Answer {
  result: Result<unknown>;
  final: Promise<Result<unknown>>;
}

const failure = (code: LatticeError['code'], message: string): Result<unknown> => ({
  ok: false,
  error: { code, message },
});

/**
 * An agent's answer checked against the command's result schema before any dashboard sees it: a
 * value that does not match becomes `agent_error` (an error body was already checked by AgentToHub).
 * The value passed on is the schema's output, so fields the contract does not know are dropped.
 */
export function checkAgentResult(
  name: string,
  deviceName: string,
  result: Result<unknown>,
): { result: Result<unknown>; problem?: string } {
  if (!result.ok) return { result };
  if (!isCommandName(name)) {
    return { result: failure('agent_error', `Device "${deviceName}" answered an unknown command ${name}`) };
  }
  const parsed = COMMANDS[name].result.safeParse(result.value);
  if (parsed.success) return { result: { ok: true, value: parsed.data } };
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.map(String).join('.')}` : '';
  const problem = `${issue?.message ?? 'malformed'}${where}`.slice(0, 200);
  return {
    result: failure(
      'agent_error',
      `Device "${deviceName}" answered ${name} with a result that does not match the contract (${problem})`,
    ),
    problem,
  };
}

/**
 * Kept from before a store read of a command's result until relay() has decided on it: counts the
 * commands with the same device and id that left flight meanwhile (CommandRelay.watchResult).
 */
export interface ResultWatch {
  /** True when such a command left flight since the watch began: a read taken meanwhile may miss its result. */
  missed(): boolean;
  release(): void;
}

export interface RelayOptions {
  /** Set when another hub passed the command on: do not pass it on again. */
  fromBus?: boolean;
  /**
   * The command's stored result as the caller already read it (in the one query that also read the
   * account and the device), with the watch begun before that read.
   */
  lookup?: { stored: StoredCommandResult | undefined; watch: ResultWatch };
}

/** A result as the hub stores it: marked when credentials were left out of it. */
type KeptResult = Result<unknown> & { credentialsWithheld?: true };

/** What the hub may keep of an agent's answer: everything but credentials (those stay on the desktop). */
function keptCopy(result: Result<unknown>): KeptResult {
  if (!result.ok) return result;
  const value = withoutCredentials(result.value);
  return value === result.value ? result : { ok: true, value, credentialsWithheld: true };
}

export class CommandRelay {
  private readonly inFlight = new Map<string, InFlight>();
  /** Keys being watched (watchResult): how many watches, how many commands left flight since. */
  private readonly watched = new Map<string, { watches: number; left: number }>();

  constructor(
    private readonly store: HubStore,
    private readonly presence: Presence,
    private readonly logger: Logger,
    private readonly timeoutMs: (name: string) => number,
  ) {}

  /**
   * Begins watching a device's command id before reading its stored result outside relay() (see
   * RelayOptions.lookup); released by the caller once relay() has returned or was not called.
   */
  watchResult(deviceId: string, commandId: string): ResultWatch {
    const key = `${deviceId}\n${commandId}`;
    let entry = this.watched.get(key);
    if (!entry) this.watched.set(key, (entry = { watches: 0, left: 0 }));
    entry.watches++;
    const leftBefore = entry.left;
    const watched = this.watched;
    return {
      missed: () => entry.left !== leftBefore,
      release() {
        if (--entry.watches === 0) watched.delete(key);
      },
    };
  }

  async relay(
    user: HubUser,
    device: { id: string; name: string },
    cmd: { id: string; name: string; args: unknown },
    { fromBus = false, lookup }: RelayOptions = {},
  ): Promise<Result<unknown>> {
    const key = `${device.id}\n${cmd.id}`;
    // A command stays in flight until its result is committed, so checking here first joins a
    // running duplicate without a read, and a miss means any earlier result is already in the store.
    const running = this.inFlight.get(key);
    if (running) return this.joined(running);
    // A lookup read before this check holds every result committed before it began; one that left
    // flight since may be missing from it, and is read now.
    const stored =
      lookup && (lookup.stored || !lookup.watch.missed())
        ? lookup.stored
        : await this.store.commandResult(device.id, cmd.id);
    if (stored) {
      // A copy kept without its credentials is the whole answer only for the agent, which keeps it
      // sealed and replays a repeated id without running it again: while the agent is here the repeat
      // goes to it, so the owner gets the first answer, secrets included.
      const { credentialsWithheld, ...result } = stored.result as KeptResult;
      if (!credentialsWithheld || !this.presence.agent(device.id)) return result as Result<unknown>;
    }
    // No await between this check and the registration below: concurrent duplicates join here.
    const existing = this.inFlight.get(key);
    if (existing) return this.joined(existing);

    const conn = this.presence.agent(device.id);
    if (!conn && !fromBus) {
      // Connected to another hub: that hub relays, stores the result and writes the audit entry.
      const remote = await this.presence.bus.commandElsewhere(
        { user, device, cmd },
        this.timeoutMs(cmd.name),
      );
      if (remote) return remote;
    }
    if (!conn) {
      const result = failure('device_offline', `Device "${device.name}" is offline`);
      await this.audit(user, device.id, cmd, result);
      return result;
    }

    let settle!: (r: { result: Result<unknown>; fromAgent: boolean }) => void;
    const outcome = new Promise<{ result: Result<unknown>; fromAgent: boolean }>(
      (resolve) => (settle = resolve),
    );
    // One timer per command: at the command's timeout the caller hears `timeout` (callerWait) and
    // the same timer is set again for the grace in which a late result is still stored.
    let callerTimedOut!: () => void;
    const callerWait = new Promise<undefined>((resolve) => (callerTimedOut = () => resolve(undefined)));
    let timer = setTimeout(() => {
      callerTimedOut();
      timer = setTimeout(
        () =>
          settle({
            result: failure('timeout', `Device "${device.name}" did not answer command ${cmd.id}`),
            fromAgent: false,
          }),
        LATE_RESULT_GRACE_MS,
      );
      timer.unref();
    }, this.timeoutMs(cmd.name));
    conn.pending.set(cmd.id, {
      resolve: (raw) => {
        const { result, problem } = checkAgentResult(cmd.name, device.name, raw);
        if (problem)
          this.logger.warn({ deviceId: device.id, command: cmd.name, problem }, 'agent result refused');
        settle({ result, fromAgent: true });
      },
      gone: (message) => settle({ result: failure('device_offline', message), fromAgent: false }),
    });

    const answered = outcome.then(({ result, fromAgent }): Answer => {
      clearTimeout(timer);
      conn.pending.delete(cmd.id);
      // Only an answer from the agent is final; "went offline" may be retried with the same id
      // (the agent itself also treats the id as an idempotency key).
      const saved = fromAgent
        ? this.store
            .saveCommandResult({
              deviceId: device.id,
              commandId: cmd.id,
              userId: user.id,
              name: cmd.name,
              result: keptCopy(result),
            })
            .catch((err) => this.logger.error({ err }, 'could not store a command result'))
        : Promise.resolve();
      // Out of flight only once stored: a repeat from then on finds the result in the store.
      const final = saved.then(() => {
        this.inFlight.delete(key);
        const watch = this.watched.get(key);
        if (watch) watch.left++;
        return result;
      });
      return { result, final };
    });
    const flight: InFlight = { promise: answered.then((a) => a.final), name: cmd.name };
    this.inFlight.set(key, flight);

    if (!conn.send({ type: 'command', id: cmd.id, name: cmd.name, args: cmd.args, user })) {
      settle({ result: failure('device_offline', `Device "${device.name}" is offline`), fromAgent: false });
    }
    const answer = await Promise.race([answered, callerWait]);
    const result = answer?.result ?? this.timedOut(cmd.name);
    // The audit row is queued in the same turn as the stored result, so both go to the store in one
    // commit (the stores group the writes of a turn: store/turn-batch.ts); the caller hears back once
    // both are kept.
    await Promise.all([answer?.final, this.audit(user, device.id, cmd, result)]);
    return result;
  }

  /** Called when a device's socket closes: its unanswered commands fail with device_offline. */
  deviceGone(pending: Map<string, PendingCommand>, deviceName: string): void {
    for (const p of pending.values()) p.gone(`Device "${deviceName}" went offline before answering`);
    pending.clear();
  }

  /** A duplicate of a command in flight: its result once stored, or `timeout` for this caller. */
  private async joined(flight: InFlight): Promise<Result<unknown>> {
    return (await this.within(flight.promise, flight.name)) ?? this.timedOut(flight.name);
  }

  private timedOut(name: string): Result<unknown> {
    return failure(
      'timeout',
      `The device did not answer ${name} within ${Math.round(this.timeoutMs(name) / 1000)} s`,
    );
  }

  /** `promise`'s value, or undefined when the command's timeout passes first. */
  private async within<T>(promise: Promise<T>, name: string): Promise<T | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), this.timeoutMs(name));
    });
    try {
      return await Promise.race([promise, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async audit(
    user: HubUser,
    deviceId: string,
    cmd: { id: string; name: string },
    result: Result<unknown>,
  ): Promise<void> {
    await this.store
      .audit({
        userId: user.id,
        deviceId,
        commandId: cmd.id,
        commandName: cmd.name,
        ok: result.ok,
        errorCode: result.ok ? null : result.error.code,
        at: new Date().toISOString(),
      })
      .catch((err) => this.logger.error({ err }, 'could not write the audit log'));
  }
}
