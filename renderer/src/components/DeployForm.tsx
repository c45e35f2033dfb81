import { useState, type FormEvent } from 'react';
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
  validateForm,
  type DeployFormState,
  type EnvRow,
  type PortRow,
  type VolumeRow,
} from './deploy-form-model';

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

  const setPort = (i: number, patch: Partial<PortRow>) =>
    update({ ports: form.ports.map((p, j) => (j === i ? { ...p, ...patch } : p)) });
  const setEnv = (i: number, patch: Partial<EnvRow>) =>
    update({ env: form.env.map((p, j) => (j === i ? { ...p, ...patch } : p)) });
  const setVolume = (i: number, patch: Partial<VolumeRow>) =>
    update({ volumes: form.volumes.map((p, j) => (j === i ? { ...p, ...patch } : p)) });

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

            <fieldset className="rows">
              <legend>Ports</legend>
              {form.ports.map((port, i) => (
                <div className="row row-fields" key={i}>
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
                        onChange={(e) => setPort(i, { container: e.target.value })}
                      />
                    )}
                  </Field>
                  <Field label="Host port" field={`ports.${i}.host`} error={errors[`ports.${i}.host`]}>
                    {(p) => (
                      <input
                        {...p}
                        inputMode="numeric"
                        placeholder="any"
                        value={port.host}
                        onChange={(e) => setPort(i, { host: e.target.value })}
                      />
                    )}
                  </Field>
                  <Field label="Protocol" field={`ports.${i}.protocol`}>
                    {(p) => (
                      <select
                        {...p}
                        value={port.protocol}
                        onChange={(e) => setPort(i, { protocol: e.target.value as 'tcp' | 'udp' })}
                      >
                        <option value="tcp">tcp</option>
                        <option value="udp">udp</option>
                      </select>
                    )}
                  </Field>
                  <button
                    type="button"
                    className="btn btn-ghost btn-small"
                    aria-label={`Remove port ${i + 1}`}
                    onClick={() => update({ ports: form.ports.filter((_, j) => j !== i) })}
                  >
                    Remove
                  </button>
                </div>
              ))}
              {errors.ports && (
                <p className="field-error" data-testid="error-ports">
                  {errors.ports}
                </p>
              )}
              <button
                type="button"
                className="btn btn-small"
                onClick={() =>
                  update({ ports: [...form.ports, { container: '', host: '', protocol: 'tcp' }] })
                }
              >
                Add port
              </button>
            </fieldset>

            <fieldset className="rows">
              <legend>Environment</legend>
              {form.env.map((env, i) => (
                <div className="row row-fields" key={i}>
                  <Field label="Name" field={`env.${i}.key`} error={errors[`env.${i}.key`]}>
                    {(p) => (
                      <input
                        {...p}
                        value={env.key}
                        onChange={(e) => setEnv(i, { key: e.target.value })}
                        autoComplete="off"
                      />
                    )}
                  </Field>
                  <Field label="Value" field={`env.${i}.value`}>
                    {(p) => (
                      <input
                        {...p}
                        value={env.value}
                        onChange={(e) => setEnv(i, { value: e.target.value })}
                        autoComplete="off"
                      />
                    )}
                  </Field>
                  <button
                    type="button"
                    className="btn btn-ghost btn-small"
                    aria-label={`Remove variable ${i + 1}`}
                    onClick={() => update({ env: form.env.filter((_, j) => j !== i) })}
                  >
                    Remove
                  </button>
                </div>
              ))}
              {errors.env && (
                <p className="field-error" data-testid="error-env">
                  {errors.env}
                </p>
              )}
              <button
                type="button"
                className="btn btn-small"
                data-testid="add-env"
                onClick={() => update({ env: [...form.env, { key: '', value: '' }] })}
              >
                Add variable
              </button>
            </fieldset>

            <fieldset className="rows">
              <legend>Volumes</legend>
              {form.volumes.map((v, i) => (
                <div className="row row-fields" key={i}>
                  <Field
                    label="Volume name"
                    field={`volumes.${i}.source`}
                    error={errors[`volumes.${i}.source`]}
                  >
                    {(p) => (
                      <input
                        {...p}
                        value={v.source}
                        onChange={(e) => setVolume(i, { source: e.target.value })}
                      />
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
                        onChange={(e) => setVolume(i, { target: e.target.value })}
                      />
                    )}
                  </Field>
                  <label className="check">
                    <input
                      type="checkbox"
                      checked={v.readOnly}
                      onChange={(e) => setVolume(i, { readOnly: e.target.checked })}
                    />{' '}
                    read-only
                  </label>
                  <button
                    type="button"
                    className="btn btn-ghost btn-small"
                    aria-label={`Remove volume ${i + 1}`}
                    onClick={() => update({ volumes: form.volumes.filter((_, j) => j !== i) })}
                  >
                    Remove
                  </button>
                </div>
              ))}
              <button
                type="button"
                className="btn btn-small"
                onClick={() =>
                  update({ volumes: [...form.volumes, { source: '', target: '', readOnly: false }] })
                }
              >
                Add volume
              </button>
            </fieldset>

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
