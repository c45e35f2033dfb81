import { useEffect, useMemo, useRef } from 'react';
import { ApiContext } from '../api/api-context';
import type { HubClient } from '../api/hub-transport';
import { Banners } from '../components/Banners';
import { attachConsole, loadConsoleState } from '../store/console-sync';
import { resetDeviceState, useLattice } from '../store/store';
import { Workspace } from './Workspace';

/** One paired computer on the dashboard: the console's views, relayed through the hub. */
export function DeviceView({ hub, deviceId, route }: { hub: HubClient; deviceId: string; route: string[] }) {
  const api = useMemo(() => hub.deviceApi(deviceId), [hub, deviceId]);
  const device = useLattice((s) => s.devices[deviceId]);
  const scope = useMemo(
    () => ({ api, base: `/devices/${encodeURIComponent(deviceId)}`, remote: true }),
    [api, deviceId],
  );
  const wasOnline = useRef(device?.online);

  useEffect(() => {
    resetDeviceState();
    const detach = attachConsole(api);
    return () => {
      detach();
      api.close();
    };
  }, [api]);

  // Back online: what changed while it was away arrives as a fresh load, not as events.
  useEffect(() => {
    if (device?.online && wasOnline.current === false) void loadConsoleState(api);
    wasOnline.current = device?.online;
  }, [device?.online, api]);

  return (
    <ApiContext.Provider value={scope}>
      <div data-testid="device-view" data-device={device?.name}>
        <nav aria-label="Breadcrumb" className="small">
          <a href="#/devices">Computers</a> / <span>{device?.name ?? deviceId}</span>{' '}
          {device && (
            <span
              className={`badge badge-${device.online ? 'running' : 'stopped'}`}
              data-testid="device-status"
            >
              {device.online ? 'online' : 'offline'}
            </span>
          )}
        </nav>
        <Banners face="dashboard" deviceOnline={device?.online} />
        <Workspace route={route} allowSettings={false} />
      </div>
    </ApiContext.Provider>
  );
}
