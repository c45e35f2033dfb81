import { useState, type FormEvent, type ReactNode } from 'react';
import { TEMPLATES, type ErrorBody, type TemplateId } from '../../../shared';
import { useApi } from '../api/api-context';
import { navigate } from '../api/hash-route';
import { useLattice } from '../store/store';
import { DeployProgress } from './DeployProgress';
import { ErrorNote } from './ErrorNote';
import { Field } from './Field';
import {
  emptyForm,
  formFieldFor,
  NEW_ENV,
  NEW_PORT,
  NEW_VOLUME,
  removeRow,
  updateRow,
  validateForm,
  type DeployFormState,
} from './deploy-form-model';

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

export function DeployForm({ template }: { template: TemplateId }) {
  const { api, base } = useApi();
  const t = TEMPLATES[template];
  const workloads = useLattice((s) => s.workloads);
  // The name is suggested once; workloads appearing later must not rename what the person sees.
  const [form, setForm] = useState<DeployFormState>(() =>
    emptyForm(template, suggestName(template, new Set(Object.values(workloads).map((w) => w.name)))),
  );
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [serverError, setServerError] = useState<ErrorBody | null>(null);
  const [submitted, setSubmitted] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const deploying = Object.values(workloads).find((w) => submitted && w.name === submitted);

  const update = (patch: Partial<DeployFormState>) => {
    const next = { ...form, ...patch };
    setForm(next);
    // Once a submit showed errors, re-check as the person fixes them.
    if (Object.keys(errors).length) setErrors(validateForm(next).errors);
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setServerError(null);
    const { args, errors: found } = validateForm(form);
    setErrors(found);
    if (!args) {
      const first = Object.keys(found)[0];
      document.querySelector<HTMLElement>(`[data-field="${CSS.escape(first)}"]`)?.focus();
      return;
    }
    setBusy(true);
    setSubmitted(form.name.trim() || null);
    const res = await api.invoke('workload.deploy', args);
    setBusy(false);
    if (res.ok) {
      navigate(`${base}/workloads/${encodeURIComponent(res.value.name)}`);
      return;
    }
    setSubmitted(null);
    if (res.error.field) {
      const field = formFieldFor(form, res.error.field.split('.'));
      setErrors({ [field]: res.error.message.replace(/^Invalid [^:]*: ([^:]*: )?/, '') });
    }
    setServerError(res.error);
  };

  return (
    <section className="card deploy" aria-labelledby="deploy-title" data-testid="deploy-form">
      <h2 id="deploy-title" className="section-title">
        Deploy {t.title}
      </h2>
      <p className="muted">{t.summary}</p>
      {t.imageNote && <p className="muted small">{t.imageNote}</p>}
      <form onSubmit={(e) => void submit(e)} noValidate>
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

        <ErrorNote error={serverError} testId="deploy-error" />
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
