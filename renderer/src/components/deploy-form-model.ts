// The deploy form's state, how it becomes `workload.deploy`'s arguments (and, on the dashboard, the
// hub's placed deploy), and how zod issues map back to its fields.
import type { z } from 'zod';
import {
  DeployCommandArgs,
  type HubDeployInput,
  type HubDeployOutput,
  type NodeInfo,
  type RestartPolicy,
  type Result,
  type ShareExpiry,
  type ShareVia,
  type TemplateId,
} from '../../../shared';

/** Host first, as in `docker run -p HOST:CONTAINER`; an empty host port means any free one. */
export interface PortRow {
  host: string;
  container: string;
  protocol: 'tcp' | 'udp';
}
export interface EnvRow {
  key: string;
  value: string;
}
export interface VolumeRow {
  source: string;
  target: string;
  readOnly: boolean;
}

/** What "Add port", "Add variable" and "Add volume" append. */
export const NEW_PORT: PortRow = { host: '', container: '', protocol: 'tcp' };
export const NEW_ENV: EnvRow = { key: '', value: '' };
export const NEW_VOLUME: VolumeRow = { source: '', target: '', readOnly: false };

/** "Share when ready": the `share` of workload.deploy, opened once the workload is healthy. */
export interface ShareChoice {
  enabled: boolean;
  /** Empty: the agent's default (relay when paired with a hub). */
  via: '' | ShareVia;
  expires: ShareExpiry;
  readOnly: boolean;
}
export const NO_SHARE: ShareChoice = { enabled: false, via: '', expires: '24h', readOnly: false };

/** Where a dashboard deploy runs: `auto` (the hub picks) or a computer's id. */
export const AUTO_TARGET = 'auto';

/**
 * What the dashboard's account-wide deploy adds to the form: the account's computers for the target
 * picker, and the hub's `workload.deploy`. Absent in the console and in one computer's view.
 */
export interface DeployPlacement {
  nodes: NodeInfo[];
  /** Names already taken on any computer, for the suggested name. */
  takenNames: string[];
  deploy(input: HubDeployInput): Promise<Result<HubDeployOutput>>;
}

export interface DeployFormState {
  template: TemplateId;
  name: string;
  /** Templates: the host port of the main service (empty: any free port). */
  hostPort: string;
  image: string;
  ports: PortRow[];
  env: EnvRow[];
  volumes: VolumeRow[];
  restart: RestartPolicy;
  cpus: string;
  memory: string;
  command: string;
  share: ShareChoice;
  /** Dashboard only: `auto` or a computer's id. */
  target: string;
  /** Dashboard only: keep the deploy on the hub until an offline target is back. */
  queue: boolean;
}

export const emptyForm = (template: TemplateId, name: string): DeployFormState => ({
  template,
  name,
  hostPort: '',
  image: '',
  ports: template === 'custom' ? [{ ...NEW_PORT }] : [],
  env: [],
  volumes: [],
  restart: 'unless-stopped',
  cpus: '',
  memory: '',
  command: '',
  share: { ...NO_SHARE },
  target: AUTO_TARGET,
  queue: false,
});

/** The rows with row `index` changed by `patch` (the rows editor's one update path). */
export const updateRow = <R extends object>(rows: R[], index: number, patch: Partial<R>): R[] =>
  rows.map((row, i) => (i === index ? { ...row, ...patch } : row));

export const removeRow = <R>(rows: R[], index: number): R[] => rows.filter((_, i) => i !== index);

/** A number field: empty is "not given", anything else is Number() so zod reports non-numbers. */
const num = (s: string): number | undefined => (s.trim() === '' ? undefined : Number(s.trim()));

/** Splits a command line on spaces, keeping "quoted parts" together. */
export function splitCommand(line: string): string[] {
  const parts: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line))) parts.push(m[1] ?? m[2] ?? m[3]);
  return parts;
}

const blankPort = (p: PortRow) => !p.container.trim() && !p.host.trim();
const blankEnv = (e: EnvRow) => !e.key.trim() && !e.value;
const blankVolume = (v: VolumeRow) => !v.source.trim() && !v.target.trim();

/** The `share` argument, present only when "Share when ready" is ticked. */
const shareArg = (c: ShareChoice) =>
  c.enabled ? { share: { via: c.via || undefined, expires: c.expires, readOnly: c.readOnly } } : {};

export function formToArgs(f: DeployFormState): DeployCommandArgs {
  const name = f.name.trim() || undefined;
  if (f.template !== 'custom') {
    return { template: f.template, name, hostPort: num(f.hostPort), ...shareArg(f.share) };
  }
  const command = splitCommand(f.command);
  return {
    template: 'custom',
    name,
    image: f.image.trim(),
    ports: f.ports
      .filter((p) => !blankPort(p))
      .map((p) => ({ host: num(p.host), container: num(p.container) as number, protocol: p.protocol })),
    env: Object.fromEntries(f.env.filter((e) => !blankEnv(e)).map((e) => [e.key.trim(), e.value])),
    volumes: f.volumes
      .filter((v) => !blankVolume(v))
      .map((v) => ({ source: v.source.trim(), target: v.target.trim(), readOnly: v.readOnly || undefined })),
    restart: f.restart,
    cpus: num(f.cpus),
    memory: f.memory.trim() || undefined,
    command: command.length ? command : undefined,
    ...shareArg(f.share),
  };
}

/** The hub's deploy: the same arguments, where to run them, and whether to wait for an offline target. */
export const hubDeployInput = (args: DeployCommandArgs, f: DeployFormState): HubDeployInput => ({
  ...args,
  node: f.target,
  ...(f.queue ? { queue: true } : {}),
});

/**
 * Why the target cannot be used as chosen, before asking the hub: an offline computer needs the
 * deploy queued. Auto and online computers are left to the hub, which knows their free memory.
 */
export function targetError(f: DeployFormState, nodes: NodeInfo[]): string | undefined {
  if (f.target === AUTO_TARGET || f.queue) return undefined;
  const node = nodes.find((n) => n.id === f.target);
  if (!node) return 'choose Auto or one of your computers';
  if (!node.online)
    return `"${node.name}" is offline: choose Auto or another computer, or queue the deploy until it is back`;
  return undefined;
}

/**
 * The hub's "no computer fits" answer as one line per computer: `No computer can take this deploy —
 * "alpha": offline; "beta": only 12 MiB free …`. Empty when the message is not in that form.
 */
export function placementReasons(message: string): { node: string; reason: string }[] {
  const dash = message.indexOf(' — ');
  if (dash < 0) return [];
  const out: { node: string; reason: string }[] = [];
  const re = /"((?:[^"\\]|\\.)*)": (.*?)(?=; "|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(message.slice(dash + 3)))) out.push({ node: m[1], reason: m[2] });
  return out;
}

/**
 * The form control a server or zod path belongs to. Rows with blank entries are dropped before
 * validation, so indexes are translated back to the rows the person sees; env errors name the key.
 */
export function formFieldFor(f: DeployFormState, path: (string | number)[]): string {
  const [head, index, ...rest] = path.map(String);
  const rowIndex = <T>(rows: T[], blank: (r: T) => boolean) => {
    const kept = rows.map((r, i) => [r, i] as const).filter(([r]) => !blank(r));
    return kept[Number(index)]?.[1] ?? Number(index);
  };
  if (head === 'ports' && index !== undefined)
    return ['ports', rowIndex(f.ports, blankPort), ...rest].join('.');
  if (head === 'volumes' && index !== undefined)
    return ['volumes', rowIndex(f.volumes, blankVolume), ...rest].join('.');
  if (head === 'env' && index !== undefined) {
    const i = f.env.findIndex((e) => e.key.trim() === index);
    return i >= 0 ? `env.${i}.key` : 'env';
  }
  if (head === 'hostPort') return 'hostPort';
  if (head === 'node' || head === 'queue') return 'target';
  if (head === 'share') return 'share';
  return head ?? '';
}

/** What a zod issue says, using the inner message for bad record keys (env names). */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues[0]) return issue.issues[0].message;
  if (issue.code === 'invalid_type' && issue.message.includes('received NaN')) return 'must be a number';
  return issue.message;
}

/** Validates the form with the contract's schema; returns errors keyed by form field. */
export function validateForm(f: DeployFormState): {
  args?: DeployCommandArgs;
  errors: Record<string, string>;
} {
  const args = formToArgs(f);
  const parsed = DeployCommandArgs.safeParse(args);
  if (parsed.success) return { args, errors: {} };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const field = formFieldFor(f, issue.path as (string | number)[]);
    errors[field] ??= issueMessage(issue);
  }
  return { errors };
}
