// The one dispatcher behind every door: name → args (zod) → policy → service → result (zod).
// Remote command ids are idempotency keys: a repeated id gets the first result and runs nothing again.
import type { z } from 'zod';
import type { Logger } from 'pino';
import {
  COMMANDS,
  LatticeError,
  fromZodError,
  isCommandName,
  type CommandContext,
  type CommandName,
  type Dispatch,
  type ErrorBody,
  type Result,
} from '../../shared';
import { checkDoor } from './policy';
import { dockerUnavailable, isDockerConnectionError } from './docker/engine';
import type { Store } from './store';
import type { SecretBox } from './secrets';

export type Handler<K extends CommandName> = (
  args: z.output<(typeof COMMANDS)[K]['args']>,
  ctx: CommandContext,
) => Promise<unknown>;
export type Handlers = { [K in CommandName]: Handler<K> };

const IDEMPOTENCY_CONTEXT = 'command-result';

/** Any failure as the error every door reports (a lost Docker connection becomes docker_unavailable). */
export function toLatticeError(err: unknown): LatticeError {
  if (err instanceof LatticeError) return err;
  // The daemon vanished between our last probe and this call.
  if (isDockerConnectionError(err)) return dockerUnavailable();
  return new LatticeError('internal', err instanceof Error ? err.message : 'The command failed');
}

export function createDispatcher(deps: {
  handlers: Handlers;
  store: Store;
  box: SecretBox;
  logger: Logger;
  /** Sees every failure before it becomes an error body (the engine re-probes on a lost connection). */
  onError?: (err: unknown) => void;
}): Dispatch {
  const inFlight = new Map<string, Promise<Result<unknown>>>();

  async function execute(name: string, args: unknown, ctx: CommandContext): Promise<Result<unknown>> {
    try {
      if (!isCommandName(name)) {
        throw new LatticeError('unknown_command', `Unknown command "${String(name)}"`);
      }
      checkDoor(name, ctx);
      const def = COMMANDS[name];
      const parsed = def.args.safeParse(args ?? {});
      if (!parsed.success) throw fromZodError(parsed.error, `arguments for ${name}`);
      const handler = deps.handlers[name] as Handler<CommandName>;
      const value = await handler(parsed.data as never, ctx);
      const shaped = def.result.safeParse(value);
      if (!shaped.success) {
        deps.logger.error(
          { command: name, issue: shaped.error.issues[0]?.message },
          'a result did not match its schema',
        );
        throw new LatticeError('internal', `The agent produced an invalid result for ${name}`);
      }
      return { ok: true, value: shaped.data };
    } catch (err) {
      deps.onError?.(err);
      const e = toLatticeError(err);
      if (e.code === 'internal') deps.logger.error({ command: name, err: e.message }, 'command failed');
      return { ok: false, error: e.toBody() };
    }
  }

  async function idempotent(
    name: string,
    args: unknown,
    ctx: CommandContext,
    id: string,
  ): Promise<Result<unknown>> {
    const running = inFlight.get(id);
    if (running) return running;
    const record = deps.store.commands.get(id);
    if (record) {
      if (record.command !== name) {
        return {
          ok: false,
          error: { code: 'conflict', message: `Command id ${id} was already used for ${record.command}` },
        };
      }
      if (record.state === 'done' && record.sealed) {
        return deps.box.openJson<Result<unknown>>(record.sealed, `${IDEMPOTENCY_CONTEXT}:${id}`);
      }
      return {
        ok: false,
        error: {
          code: 'conflict',
          message: `Command ${id} was interrupted by an agent restart; check workload.list before retrying with a new id`,
        },
      };
    }
    deps.store.commands.begin(id, name);
    const p = execute(name, args, ctx).then((result) => {
      // Sealed: a deploy result carries the generated credentials.
      deps.store.commands.finish(id, deps.box.sealJson(result, `${IDEMPOTENCY_CONTEXT}:${id}`));
      return result;
    });
    inFlight.set(id, p);
    try {
      return await p;
    } finally {
      inFlight.delete(id);
    }
  }

  const dispatch = async (name: string, args: unknown, ctx: CommandContext) => {
    const result =
      ctx.door === 'remote' && ctx.commandId
        ? await idempotent(name, args, ctx, ctx.commandId)
        : await execute(name, args, ctx);
    if (!result.ok) throw LatticeError.from(result.error as ErrorBody);
    return result.value;
  };
  return dispatch as Dispatch;
}
