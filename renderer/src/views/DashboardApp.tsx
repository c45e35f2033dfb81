import { useEffect } from 'react';
import { useHashRoute } from '../api/hash-route';
import type { HubClient } from '../api/hub-transport';
import { attachInventory } from '../store/inventory-sync';
import { useLattice } from '../store/store';
import { AllWorkloadsPage } from './AllWorkloadsPage';
import { AuthScreen } from './AuthScreen';
import { DashboardDeploy } from './DashboardDeploy';
import { DeviceView } from './DeviceView';
import { DevicesPage } from './DevicesPage';
import { Shell } from './Shell';

async function loadDevices(hub: HubClient) {
  const res = await hub.devices();
  if (res.ok) useLattice.getState().setDevices(res.value);
}

/** The remote dashboard served by the hub. */
export function DashboardApp({ hub }: { hub: HubClient }) {
  const auth = useLattice((s) => s.hubAuth);
  const user = useLattice((s) => s.hubUser);
  const streamState = useLattice((s) => s.streamState);
  const route = useHashRoute();

  useEffect(() => {
    const s = useLattice.getState();
    const offAuth = hub.authChanges.add((u) => useLattice.getState().setHubUser(u));
    const offStream = hub.streamStates.add((state) => useLattice.getState().setStreamState(state));
    const offEvents = hub.dashboardEvents.add((e) => {
      if (e.type !== 'presence') return;
      const state = useLattice.getState();
      // A device we have not listed yet has just paired.
      if (!state.devices[e.deviceId]) void loadDevices(hub);
      else state.setPresence(e.deviceId, e.online, e.lastSeenAt);
    });
    void hub.resume().then((u) => s.setHubUser(u));
    return () => {
      offAuth();
      offStream();
      offEvents();
    };
  }, [hub]);

  useEffect(() => {
    if (auth !== 'signed-in') return;
    void loadDevices(hub);
    // The account-wide inventory lives as long as the session, whichever page is open.
    return attachInventory(hub);
  }, [auth, hub]);

  if (auth === 'checking') return <main className="center-screen muted">Connecting to the hub…</main>;
  if (auth === 'signed-out' || !user) return <AuthScreen hub={hub} />;

  const [page, deviceId, ...rest] = route;
  const hubDown = streamState === 'down' && (
    <div className="banner banner-error" data-testid="banner-hub-down">
      The hub is unreachable — retrying. Online states may be out of date.
    </div>
  );
  const onWorkloads = !page || page === 'workloads' || page === 'deploy';
  return (
    <Shell
      face="dashboard"
      nav={
        <>
          <a href="#/" aria-current={onWorkloads ? 'page' : undefined} data-testid="nav-workloads">
            All workloads
          </a>
          <a
            href="#/devices"
            aria-current={page === 'devices' ? 'page' : undefined}
            data-testid="nav-devices"
          >
            Computers
          </a>
          <span className="muted small" data-testid="hub-user">
            {user.email}
          </span>
          <button
            type="button"
            className="btn btn-small btn-ghost"
            onClick={() => void hub.logout()}
            data-testid="logout"
          >
            Log out
          </button>
        </>
      }
    >
      {page === 'devices' && deviceId ? (
        <DeviceView key={deviceId} hub={hub} deviceId={deviceId} route={rest} />
      ) : page === 'devices' ? (
        <>
          {hubDown}
          <DevicesPage hub={hub} />
        </>
      ) : page === 'deploy' ? (
        <DashboardDeploy hub={hub} template={deviceId ?? ''} />
      ) : (
        <>
          {hubDown}
          <AllWorkloadsPage hub={hub} />
        </>
      )}
    </Shell>
  );
}
