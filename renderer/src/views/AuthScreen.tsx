import { useState, type FormEvent } from 'react';
import { AccountCredentials, type ErrorBody } from '../../../shared';
import type { HubClient } from '../api/hub-transport';
import { ErrorNote } from '../components/ErrorNote';

/** Sign in or create an account on the hub. */
export function AuthScreen({ hub }: { hub: HubClient }) {
  const [mode, setMode] = useState<'login' | 'register'>('login');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<ErrorBody | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (mode === 'register') {
      const parsed = AccountCredentials.safeParse({ email: email.trim(), password });
      if (!parsed.success) {
        const errs: Record<string, string> = {};
        for (const i of parsed.error.issues) errs[String(i.path[0])] ??= i.message;
        setFieldErrors(errs);
        return;
      }
    }
    setFieldErrors({});
    setBusy(true);
    const res =
      mode === 'register'
        ? await hub.register(email.trim(), password)
        : await hub.login(email.trim(), password);
    setBusy(false);
    if (!res.ok) {
      if (res.error.field) setFieldErrors({ [res.error.field]: res.error.message });
      setError(res.error);
    }
  };

  return (
    <main className="center-screen">
      <form className="card auth-card" onSubmit={(e) => void submit(e)} data-testid="auth-form" noValidate>
        <h1 className="brand-title">Lattice</h1>
        <p className="muted">Your computers, from anywhere.</p>
        <div className="segmented" role="tablist" aria-label="Sign in or create an account">
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'login'}
            className={`btn btn-small ${mode === 'login' ? 'btn-primary' : 'btn-ghost'}`}
            onClick={() => setMode('login')}
            data-testid="auth-mode-login"
          >
            Sign in
          </button>
          <button
            type="button"
            role="tab"
            aria-selected={mode === 'register'}
            className={`btn btn-small ${mode === 'register' ? 'btn-primary' : 'btn-ghost'}`}
            onClick={() => setMode('register')}
            data-testid="auth-mode-register"
          >
            Create account
          </button>
        </div>
        <div className={`field${fieldErrors.email ? ' field-invalid' : ''}`}>
          <label htmlFor="auth-email">Email</label>
          <input
            id="auth-email"
            type="email"
            autoComplete="username"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            aria-invalid={!!fieldErrors.email}
            data-testid="auth-email"
          />
          {fieldErrors.email && <p className="field-error">{fieldErrors.email}</p>}
        </div>
        <div className={`field${fieldErrors.password ? ' field-invalid' : ''}`}>
          <label htmlFor="auth-password">Password</label>
          <input
            id="auth-password"
            type="password"
            autoComplete={mode === 'register' ? 'new-password' : 'current-password'}
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-invalid={!!fieldErrors.password}
            data-testid="auth-password"
          />
          {fieldErrors.password && <p className="field-error">{fieldErrors.password}</p>}
          {mode === 'register' && <p className="field-hint">At least 10 characters.</p>}
        </div>
        <ErrorNote error={error} testId="auth-error" />
        <button type="submit" className="btn btn-primary" disabled={busy} data-testid="auth-submit">
          {busy ? 'One moment…' : mode === 'register' ? 'Create account' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
