import { useContext, useState, type FormEvent, type ReactNode } from 'react';
import {
  TEMPLATES,
  type DeployCommandArgs,
  type DeployResult,
  type ErrorBody,
  type HubDeployOutput,
  type Result,
  type TemplateId,
} from '../../../shared';
import { ApiContext } from '../api/api-context';
import { navigate } from '../api/hash-route';
import { useLattice } from '../store/store';
import { DeployProgress } from './DeployProgress';
import { ErrorNote } from './ErrorNote';
import { Field } from './Field';
import {
  AUTO_TARGET,
  emptyForm,
  formFieldFor,
  hubDeployInput,
  NEW_ENV,
  NEW_PORT,
  NEW_VOLUME,
  placementReasons,
  removeRow,
  targetError,
  updateRow,
  validateForm,
  type DeployFormState,
  type DeployPlacement,
  type ShareChoice,
} from './deploy-form-model';
import { formatBytes } from './Sparkline';

/**
 * The editor for a list of rows (ports, environment, volumes): each row's fields, a Remove button
 * per row, an error for the list as a whole, and an Add button that appends `blank`.
 */
function RowsEditor<R extends object>(props: {
  /** The form's list ("ports", "env", "volumes"): names its error and Add button for tests. */
  name: string;
  legend: string;
  /** What one row is, for the buttons: "port" → "Add port", "Remove port 2". */
  noun: string;
  rows: R[];
  blank: R;
  onChange: (rows: R[]) => void;
  error?: string;
  children: (row: R, index: number, set: (patch: Partial<R>) => void) => ReactNode;
}) {
  const { name, legend, noun, rows, blank, onChange, error, children } = props;
  return (
    <fieldset className="rows">
      <legend>{legend}</legend>
      {rows.map((row, i) => (
        <div className="row row-fields" key={i}>
          {children(row, i, (patch) => onChange(updateRow(rows, i, patch)))}
          <button
            type="button"
            className="btn btn-ghost btn-small"
            aria-label={`Remove ${noun} ${i + 1}`}
            onClick={() => onChange(removeRow(rows, i))}
          >
            Remove
          </button>
        </div>
      ))}
      {error && (
        <p className="field-error" data-testid={`error-${name}`}>
          {error}
        </p>
      )}
      <button
        type="button"
        className="btn btn-small"
        data-testid={`add-${name}`}
        onClick={() => onChange([...rows, { ...blank }])}
      >
        Add {noun}
      </button>
    </fieldset>
  );
}

function suggestName(template: TemplateId, taken: Set<string>): string {
  const stem = template === 'custom' ? 'app' : template;
  for (let i = 1; ; i++) if (!taken.has(`${stem}-${i}`)) return `${stem}-${i}`;
}

/** What a computer offers to a remote deploy, for the target picker. */
function nodeOffer(n: DeployPlacement['nodes'][number]): string {
  if (!n.online) return 'offline';
  if (n.capacityAt === null || n.placeableMemoryBytes === null) return 'capacity not reported yet';
  if (!n.allowsRemoteDeploy) return 'remote deploys off';
  return `${formatBytes(n.placeableMemoryBytes)} free`;
}

/**
 * The one deploy form of both faces. In the console and in one computer's view it deploys there
 * (`workload.deploy` through the scope's ConsoleApi); given `placement` — the dashboard's
 * account-wide deploy — it adds the target picker and deploys through the hub, which places it.
 */
export function DeployForm({ template, placement }: { template: TemplateId; placement?: DeployPlacement }) {
  const scope = useContext(ApiContext);
  if (!scope && !placement) throw new Error('DeployForm needs an ApiContext or a placement');
  const base = placement ? '' : (scope?.base ?? '');
  const t = TEMPLATES[template];
  const scopeWorkloads = useLattice((s) => s.workloads);
  const inventory = useLattice((s) => s.inventory);
  const workloads = placement ? Object.values(inventory) : Object.values(scopeWorkloads);
  // The name is suggested once; workloads appearing later must not rename what the person sees.
  const [form, setForm] = useState<DeployFormState>(() =>
    emptyForm(
      template,
      suggestName(template, new Set(placement ? placement.takenNames : workloads.map((w) => w.name))),
    ),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [serverError, setServerError] = useState<ErrorBody | null>(null);
  const [unshared, setUnshared] = useState<{ name: string; href: string; error: ErrorBody } | null>(null);
  const [submitted, setSubmitted] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const deploying = workloads.find((w) => submitted && w.name === submitted);
  const nodes = placement?.nodes ?? [];
  const targetNode = nodes.find((n) => n.id === form.target);

  const check = (f: DeployFormState) => {
    const found = validateForm(f);
    const target = placement && targetError(f, nodes);
    return target ? { errors: { ...found.errors, target } } : found;
  };

  const update = (patch: Partial<DeployFormState>) => {
    const next = { ...form, ...patch };
    setForm(next);
    // Once a submit showed errors, re-check as the person fixes them.
    if (Object.keys(errors).length) setErrors(check(next).errors);
  };
  const updateShare = (patch: Partial<ShareChoice>) => update({ share: { ...form.share, ...patch } });

  /** Where the deployed workload is shown: its page on the computer that runs it. */
  const deployed = (
    res: Result<{ name: string; nodeId?: string; shareError?: ErrorBody }>,
  ): ErrorBody | undefined => {
    if (!res.ok) return res.error;
    const where = res.value.nodeId ? `/devices/${encodeURIComponent(res.value.nodeId)}` : base;
    const href = `${where}/workloads/${encodeURIComponent(res.value.name)}`;
    // Deployed but not shared: say why here, and link to it, rather than leave the reason behind.
    if (res.value.shareError) setUnshared({ name: res.value.name, href, error: res.value.shareError });
    else navigate(href);
    return undefined;
  };

  const send = async (args: DeployCommandArgs): Promise<ErrorBody | undefined> => {
    if (!placement) {
      const res: Result<DeployResult> = await scope!.api.invoke('workload.deploy', args);
      return deployed(res.ok ? { ok: true, value: res.value } : res);
    }
    const res: Result<HubDeployOutput> = await placement.deploy(hubDeployInput(args, form));
    if (!res.ok) return res.error;
    if (res.value.queued) {
      navigate('/');
      return undefined;
    }
    const w = res.value.workload;
    if (!w) return { code: 'internal', message: 'The hub answered without the deployed workload' };
    return deployed({
      ok: true,
      value: { name: w.name, nodeId: res.value.node.id, shareError: res.value.shareError },
    });
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setServerError(null);
    setUnshared(null);
    const { args, errors: found } = check(form);
    setErrors(found);
    if (!args || Object.keys(found).length) {
      const first = Object.keys(found)[0];
      document.querySelector<HTMLElement>(`[data-field="${CSS.escape(first)}"]`)?.focus();
      return;
    }
    setBusy(true);
    setSubmitted(form.name.trim() || null);
    const error = await send(args);
    setBusy(false);
    if (!error) return;
    setSubmitted(null);
    const field = error.field ? formFieldFor(form, error.field.split('.')) : undefined;
    if (field) setErrors({ [field]: error.message.replace(/^Invalid [^:]*: ([^:]*: )?/, '') });
    // The placement answer is shown in full at the picker, one computer per line.
    if (field !== 'target') setServerError(error);
  };
  const reasons = errors.target ? placementReasons(errors.target) : [];

  return (
    <section className="card deploy" aria-labelledby="deploy-title" data-testid="deploy-form">
      <h2 id="deploy-title" className="section-title">
        Deploy {t.title}
      </h2>
      <p className="muted">{t.summary}</p>
      {t.imageNote && <p className="muted small">{t.imageNote}</p>}
      <form onSubmit={(e) => void submit(e)} noValidate>
        {placement && (
          <div className="target-picker" data-testid="deploy-target">
            <Field
              label="Run on"
              field="target"
              error={reasons.length ? undefined : errors.target}
              hint="Auto: the hub picks the online computer with the most free memory for remote deploys"
            >
              {(p) => (
                <select
                  {...p}
                  value={form.target}
                  onChange={(e) => update({ target: e.target.value, queue: false })}
                >
                  <option value={AUTO_TARGET}>Auto</option>
                  {nodes.map((n) => (
                    <option key={n.id} value={n.id} data-online={n.online}>
                      {n.name} — {nodeOffer(n)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            {reasons.length > 0 && (
              <div className="note note-error" role="alert" data-testid="placement-reasons">
                <strong>No computer can take this deploy:</strong>
                <ul>
                  {reasons.map((r) => (
                    <li key={r.node}>
                      <strong>{r.node}</strong>: {r.reason}
                    </li>
                  ))}
                </ul>
              </div>
            )}
            {targetNode && !targetNode.online && (
              <label className="check">
                <input
                  type="checkbox"
                  checked={form.queue}
                  onChange={(e) => update({ queue: e.target.checked })}
                  data-testid="deploy-queue"
                />{' '}
                Queue the deploy until {targetNode.name} is back (kept 24 h)
              </label>
            )}
          </div>
        )}
        <Field
          label="Name"
          field="name"
          error={errors.name}
          hint="Lowercase letters, digits, '.', '_' or '-'"
        >
          {(p) => (
            <input
              {...p}
              value={form.name}
              onChange={(e) => update({ name: e.target.value })}
              autoComplete="off"
            />
          )}
        </Field>

        {template !== 'custom' && (
          <Field
            label="Host port (optional)"
            field="hostPort"
            error={errors.hostPort}
            hint="Empty: any free port on 127.0.0.1"
          >
            {(p) => (
              <input
                {...p}
                inputMode="numeric"
                value={form.hostPort}
                onChange={(e) => update({ hostPort: e.target.value })}
              />
            )}
          </Field>
        )}

        {template === 'custom' && (
          <>
            <Field
              label="Image"
              field="image"
              error={errors.image}
              hint="For example nginx:1.27 or ghcr.io/org/app:tag"
            >
              {(p) => (
                <input
                  {...p}
                  value={form.image}
                  onChange={(e) => update({ image: e.target.value })}
                  autoComplete="off"
                />
              )}
            </Field>

            <RowsEditor
              name="ports"
              legend="Ports"
              noun="port"
              rows={form.ports}
              blank={NEW_PORT}
              onChange={(ports) => update({ ports })}
              error={errors.ports}
            >
              {(port, i, set) => (
                <>
                  {/* Host first, as in `docker run -p HOST:CONTAINER`. */}
                  <Field label="Host port" field={`ports.${i}.host`} error={errors[`ports.${i}.host`]}>
                    {(p) => (
                      <input
                        {...p}
                        inputMode="numeric"
                        placeholder="any"
                        value={port.host}
                        onChange={(e) => set({ host: e.target.value })}
                      />
                    )}
                  </Field>
                  <Field
                    label="Container port"
                    field={`ports.${i}.container`}
                    error={errors[`ports.${i}.container`] ?? errors[`ports.${i}`]}
                  >
                    {(p) => (
                      <input
                        {...p}
                        inputMode="numeric"
                        value={port.container}
                        onChange={(e) => set({ container: e.target.value })}
                      />
                    )}
                  </Field>
                  <Field label="Protocol" field={`ports.${i}.protocol`}>
                    {(p) => (
                      <select
                        {...p}
                        value={port.protocol}
                        onChange={(e) => set({ protocol: e.target.value as 'tcp' | 'udp' })}
                      >
                        <option value="tcp">tcp</option>
                        <option value="udp">udp</option>
                      </select>
                    )}
                  </Field>
                </>
              )}
            </RowsEditor>

            <RowsEditor
              name="env"
              legend="Environment"
              noun="variable"
              rows={form.env}
              blank={NEW_ENV}
              onChange={(env) => update({ env })}
              error={errors.env}
            >
              {(env, i, set) => (
                <>
                  <Field label="Name" field={`env.${i}.key`} error={errors[`env.${i}.key`]}>
                    {(p) => (
                      <input
                        {...p}
                        value={env.key}
                        onChange={(e) => set({ key: e.target.value })}
                        autoComplete="off"
                      />
                    )}
                  </Field>
                  <Field label="Value" field={`env.${i}.value`}>
                    {(p) => (
                      <input
                        {...p}
                        value={env.value}
                        onChange={(e) => set({ value: e.target.value })}
                        autoComplete="off"
                      />
                    )}
                  </Field>
                </>
              )}
            </RowsEditor>

            <RowsEditor
              name="volumes"
              legend="Volumes"
              noun="volume"
              rows={form.volumes}
              blank={NEW_VOLUME}
              onChange={(volumes) => update({ volumes })}
              error={errors.volumes}
            >
              {(v, i, set) => (
                <>
                  <Field
                    label="Volume name"
                    field={`volumes.${i}.source`}
                    error={errors[`volumes.${i}.source`]}
                  >
                    {(p) => (
                      <input {...p} value={v.source} onChange={(e) => set({ source: e.target.value })} />
                    )}
                  </Field>
                  <Field
                    label="Path in container"
                    field={`volumes.${i}.target`}
                    error={errors[`volumes.${i}.target`]}
                  >
                    {(p) => (
                      <input
                        {...p}
                        placeholder="/data"
                        value={v.target}
                        onChange={(e) => set({ target: e.target.value })}
                      />
                    )}
                  </Field>
                  <label className="check">
                    <input
                      type="checkbox"
                      checked={v.readOnly}
                      onChange={(e) => set({ readOnly: e.target.checked })}
                    />{' '}
                    read-only
                  </label>
                </>
              )}
            </RowsEditor>

            <div className="row row-fields">
              <Field label="Restart" field="restart" error={errors.restart}>
                {(p) => (
                  <select
                    {...p}
                    value={form.restart}
                    onChange={(e) => update({ restart: e.target.value as DeployFormState['restart'] })}
                  >
                    <option value="unless-stopped">unless stopped</option>
                    <option value="always">always</option>
                    <option value="on-failure">on failure</option>
                    <option value="no">never</option>
                  </select>
                )}
              </Field>
              <Field label="CPUs" field="cpus" error={errors.cpus} hint="e.g. 0.5">
                {(p) => (
                  <input
                    {...p}
                    inputMode="decimal"
                    value={form.cpus}
                    onChange={(e) => update({ cpus: e.target.value })}
                  />
                )}
              </Field>
              <Field label="Memory" field="memory" error={errors.memory} hint="e.g. 512m or 2g">
                {(p) => (
                  <input {...p} value={form.memory} onChange={(e) => update({ memory: e.target.value })} />
                )}
              </Field>
            </div>
            <Field
              label="Command (optional)"
              field="command"
              error={errors.command}
              hint="Overrides the image's command"
            >
              {(p) => (
                <input
                  {...p}
                  value={form.command}
                  onChange={(e) => update({ command: e.target.value })}
                  autoComplete="off"
                />
              )}
            </Field>
          </>
        )}

        <fieldset className="rows share-choice" data-field="share">
          <legend>Share</legend>
          <label className="check">
            <input
              type="checkbox"
              checked={form.share.enabled}
              onChange={(e) => updateShare({ enabled: e.target.checked })}
              data-testid="deploy-share"
            />{' '}
            Share when ready — a public address once it is healthy
          </label>
          {form.share.enabled && (
            <div className="row row-fields">
              <Field label="Via" field="share.via">
                {(p) => (
                  <select
                    {...p}
                    value={form.share.via}
                    onChange={(e) => updateShare({ via: e.target.value as ShareChoice['via'] })}
                  >
                    <option value="">the computer's default</option>
                    <option value="relay">hub relay</option>
                    <option value="ngrok">ngrok</option>
                  </select>
                )}
              </Field>
              <Field label="Expires after" field="share.expires">
                {(p) => (
                  <select
                    {...p}
                    value={form.share.expires}
                    onChange={(e) => updateShare({ expires: e.target.value as ShareChoice['expires'] })}
                  >
                    <option value="1h">1 hour</option>
                    <option value="24h">24 hours</option>
                    <option value="7d">7 days</option>
                    <option value="never">never</option>
                  </select>
                )}
              </Field>
              <label className="check">
                <input
                  type="checkbox"
                  checked={form.share.readOnly}
                  onChange={(e) => updateShare({ readOnly: e.target.checked })}
                  data-testid="deploy-share-read-only"
                />{' '}
                read-only
              </label>
            </div>
          )}
          {errors.share && (
            <p className="field-error" role="alert" data-testid="error-share">
              {errors.share}
            </p>
          )}
        </fieldset>

        <ErrorNote error={serverError} testId="deploy-error" />
        {unshared && (
          <div className="note note-warn" role="alert" data-testid="deploy-unshared">
            <strong>
              {unshared.name} is deployed but not shared: {unshared.error.message}
            </strong>{' '}
            <a href={`#${unshared.href}`}>Open {unshared.name}</a>
          </div>
        )}
        {deploying && <DeployProgress workload={deploying} />}
        <div className="row">
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="deploy-submit">
            {busy ? 'Deploying…' : `Deploy ${t.title}`}
          </button>
          <a className="btn btn-ghost" href={`#${base}/`}>
            Cancel
          </a>
        </div>
      </form>
    </section>
  );
}
