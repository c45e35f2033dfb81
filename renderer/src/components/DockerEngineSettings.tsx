// Which Docker Engine the agent uses and how it found it, every engine it tried when none answers,
// and the docker contexts on this computer, one of which the owner can pick: the agent reconnects
// at once, no restart (the docker.status event brings the new engine to every open console).
import { useEffect, useState, type FormEvent } from 'react';
import type { ErrorBody, SettingsPatch } from '../../../shared';
import { useApi } from '../api/api-context';
import { useLattice } from '../store/store';
import { ErrorNote } from './ErrorNote';

export function DockerEngineSettings() {
  const { api } = useApi();
  const settings = useLattice((s) => s.settings);
  const system = useLattice((s) => s.system);
  const docker = useLattice((s) => s.docker);
  const [error, setError] = useState<ErrorBody | null>(null);
  const [busy, setBusy] = useState(false);
  const [host, setHost] = useState('');

  // The contexts are read from disk by the agent: fetch them afresh each time Settings opens.
  useEffect(() => {
    let live = true;
    void api.invoke('system.info', {}).then((res) => {
      if (live && res.ok) useLattice.getState().setSystem(res.value);
    });
    return () => {
      live = false;
    };
  }, [api]);

  const choose = async (patch: SettingsPatch) => {
    setBusy(true);
    setError(null);
    const res = await api.invoke('settings.set', patch);
    if (!res.ok) {
      setError(res.error);
    } else {
      useLattice.getState().setSettings(res.value);
      const info = await api.invoke('system.info', {});
      if (info.ok) useLattice.getState().setSystem(info.value);
      setHost('');
    }
    setBusy(false);
  };
  const submitHost = (e: FormEvent) => {
    e.preventDefault();
    void choose({ dockerHost: host.trim() });
  };

  const contexts = system?.dockerContexts ?? [];
  const pickedContext = settings?.dockerContext ?? null;
  const pickedHost = settings?.dockerHost ?? null;
  const engine = docker?.available ? docker.engine : undefined;

  return (
    <div data-testid="docker-engine">
      <dl className="kv">
        <div className="kv-row">
          <dt>In use</dt>
          <dd className="mono" data-testid="docker-engine-host">
            {engine ? engine.host : docker ? 'none answers' : '…'}
          </dd>
        </div>
        {engine && (
          <>
            <div className="kv-row">
              <dt>Context</dt>
              <dd data-testid="docker-engine-context">{engine.context}</dd>
            </div>
            <div className="kv-row">
              <dt>Found through</dt>
              <dd data-testid="docker-engine-how">{engine.how}</dd>
            </div>
          </>
        )}
      </dl>
      {docker && !docker.available && (docker.tried?.length ?? 0) > 0 && (
        <div className="note note-error" data-testid="docker-tried">
          <p>No engine answered. Tried, in order:</p>
          <ul>
            {docker.tried!.map((t) => (
              <li key={`${t.context} ${t.host}`}>
                <span className="mono">{t.host}</span> ({t.how}): {t.reason} — {t.hint}
              </li>
            ))}
          </ul>
        </div>
      )}
      <fieldset className="field" disabled={busy || !settings} data-testid="docker-contexts">
        <legend>Engine to use</legend>
        <label className="check">
          <input
            type="radio"
            name="docker-engine"
            checked={!pickedContext && !pickedHost}
            onChange={() => void choose({ dockerContext: null, dockerHost: null })}
            data-testid="docker-context-auto"
          />
          Automatic, as the docker CLI finds it: DOCKER_HOST, DOCKER_CONTEXT, the CLI&apos;s current context,
          then the usual sockets
        </label>
        <label className="check">
          <input
            type="radio"
            name="docker-engine"
            checked={pickedContext === 'default'}
            onChange={() => void choose({ dockerContext: 'default' })}
            data-testid="docker-context-default"
          />
          <strong>default</strong> <span className="muted">— DOCKER_HOST, or the usual sockets</span>
        </label>
        {contexts.map((c) => (
          <label key={c.name} className="check">
            <input
              type="radio"
              name="docker-engine"
              checked={pickedContext === c.name}
              disabled={!!c.error}
              onChange={() => void choose({ dockerContext: c.name })}
              data-testid={`docker-context-${c.name}`}
            />
            <strong>{c.name}</strong> <span className="mono">{c.host}</span>
            {c.description && <span className="muted"> — {c.description}</span>}
            {c.current && <span className="badge"> the docker CLI&apos;s current context</span>}
            {c.error && <span className="field-error"> {c.error}</span>}
          </label>
        ))}
        {contexts.length === 0 && system && (
          <p className="field-hint">No docker contexts on this computer (see `docker context ls`).</p>
        )}
        {pickedHost && (
          <label className="check">
            <input type="radio" name="docker-engine" checked readOnly data-testid="docker-host-picked" />
            <span className="mono">{pickedHost}</span> <span className="muted">— set here</span>
          </label>
        )}
      </fieldset>
      <form onSubmit={submitHost} className="row row-fields">
        <div className={`field${error?.field === 'dockerHost' ? ' field-invalid' : ''}`}>
          <label htmlFor="docker-host">Or a Docker host</label>
          <input
            id="docker-host"
            className="mono"
            placeholder="unix:///path/to/docker.sock, tcp://host:2376, ssh://user@host"
            value={host}
            onChange={(e) => setHost(e.target.value)}
            autoComplete="off"
            data-testid="docker-host-input"
          />
        </div>
        <button type="submit" className="btn" disabled={busy || !host.trim()}>
          Use this host
        </button>
      </form>
      <ErrorNote error={error} />
    </div>
  );
}
