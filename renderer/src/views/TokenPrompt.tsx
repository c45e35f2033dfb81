import { useState, type FormEvent } from 'react';
import type { ErrorBody } from '../../../shared';
import { startHttpSession } from '../api/http-transport';
import { ErrorNote } from '../components/ErrorNote';

/** The only thing a browser without a session sees: no workload data until the token is accepted. */
export function TokenPrompt({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<ErrorBody | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    const res = await startHttpSession(token.trim());
    setBusy(false);
    if (res.ok) onSignedIn();
    else setError(res.error);
  };
  return (
    <main className="center-screen">
      <form className="card auth-card" onSubmit={(e) => void submit(e)} data-testid="token-prompt">
        <h1 className="brand-title">Lattice</h1>
        <p>Paste the token printed by `lattice agent` to open this console.</p>
        <div className="field">
          <label htmlFor="console-token">Console token</label>
          <input
            id="console-token"
            type="password"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            required
            autoFocus
          />
        </div>
        <ErrorNote error={error} testId="token-error" />
        <button type="submit" className="btn btn-primary" disabled={busy || !token.trim()}>
          {busy ? 'Checking…' : 'Open the console'}
        </button>
      </form>
    </main>
  );
}
