import { useEffect, useMemo, useState } from 'react';
import { ApiContext } from '../api/api-context';
import type { ConsoleApi } from '../api/console-api';
import { useHashRoute } from '../api/hash-route';
import { Banners } from '../components/Banners';
import { attachConsole } from '../store/console-sync';
import { useLattice } from '../store/store';
import { Shell } from './Shell';
import { TokenPrompt } from './TokenPrompt';
import { Workspace } from './Workspace';

/** The local console: this computer's agent over IPC (the app) or loopback HTTP (headless). */
export function ConsoleApp({ api }: { api: ConsoleApi }) {
  const session = useLattice((s) => s.session);
  const [attempt, setAttempt] = useState(0);
  const route = useHashRoute();
  const scope = useMemo(() => ({ api, base: '', remote: false }), [api]);

  useEffect(() => {
    let detach: (() => void) | undefined;
    let cancelled = false;
    // Ask once before attaching, so an unauthenticated browser sees only the token prompt.
    void api.invoke('settings.get', {}).then((res) => {
      if (cancelled) return;
      if (!res.ok && res.error.code === 'unauthorized') {
        useLattice.getState().setSession('needs-token');
        return;
      }
      useLattice.getState().setSession('ready');
      detach = attachConsole(api);
    });
    return () => {
      cancelled = true;
      detach?.();
    };
  }, [api, attempt]);

  if (session === 'needs-token') {
    return (
      <TokenPrompt
        onSignedIn={() => {
          useLattice.getState().setSession('checking');
          setAttempt((n) => n + 1);
        }}
      />
    );
  }
  if (session === 'checking') return <main className="center-screen muted">Connecting to the agent…</main>;
  return (
    <ApiContext.Provider value={scope}>
      <Shell
        face="console"
        nav={
          <>
            <a href="#/" aria-current={route.length === 0 ? 'page' : undefined}>
              Overview
            </a>
            <a
              href="#/settings"
              aria-current={route[0] === 'settings' ? 'page' : undefined}
              data-testid="nav-settings"
            >
              Settings
            </a>
          </>
        }
      >
        <Banners face="console" />
        <Workspace route={route} allowSettings />
      </Shell>
    </ApiContext.Provider>
  );
}
