// One renderer build, two faces: which one this page is decides from where it was loaded.
import { LOCAL_API } from '../../../shared';
import type { ConsoleApi } from './console-api';
import { createHttpApi } from './http-transport';
import { createIpcApi } from './ipc-transport';
import { HubClient } from './hub-transport';

export type Face =
  | { kind: 'console'; api: ConsoleApi }
  | { kind: 'dashboard'; hub: HubClient }
  | { kind: 'unreachable'; message: string };

export async function detectFace(): Promise<Face> {
  if (window.lattice) return { kind: 'console', api: createIpcApi(window.lattice) };
  try {
    const res = await fetch(LOCAL_API.health, { credentials: 'same-origin' });
    const body = (await res.json()) as { service?: string };
    if (body.service === 'agent') return { kind: 'console', api: createHttpApi() };
    if (body.service === 'hub') return { kind: 'dashboard', hub: new HubClient() };
    return { kind: 'unreachable', message: `${LOCAL_API.health} answered an unknown service` };
  } catch (err) {
    return { kind: 'unreachable', message: `Could not reach ${location.origin}: ${(err as Error).message}` };
  }
}
