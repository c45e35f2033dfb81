// The deploy form's state, how it becomes `DeployArgs`, and how zod issues map back to its fields.
import type { z } from 'zod';
import { DeployArgs, type RestartPolicy, type TemplateId } from '../../../shared';

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

export function formToArgs(f: DeployFormState): DeployArgs {
  const name = f.name.trim() || undefined;
  if (f.template !== 'custom') {
    return { template: f.template, name, hostPort: num(f.hostPort) };
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
  };
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
  return head ?? '';
}

/** What a zod issue says, using the inner message for bad record keys (env names). */
function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues[0]) return issue.issues[0].message;
  if (issue.code === 'invalid_type' && issue.message.includes('received NaN')) return 'must be a number';
  return issue.message;
}

/** Validates the form with the contract's schema; returns errors keyed by form field. */
export function validateForm(f: DeployFormState): { args?: DeployArgs; errors: Record<string, string> } {
  const args = formToArgs(f);
  const parsed = DeployArgs.safeParse(args);
  if (parsed.success) return { args, errors: {} };
  const errors: Record<string, string> = {};
  for (const issue of parsed.error.issues) {
    const field = formFieldFor(f, issue.path as (string | number)[]);
    errors[field] ??= issueMessage(issue);
  }
  return { errors };
}
