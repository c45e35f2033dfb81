import { createContext, useContext } from 'react';
import type { ConsoleApi } from './console-api';

export interface ApiScope {
  api: ConsoleApi;
  /** Hash-route prefix of this scope: '' in the console, `/devices/<id>` on the dashboard. */
  base: string;
  /** Whether the owner sits at this computer (local door) or relays through the hub. */
  remote: boolean;
}

export const ApiContext = createContext<ApiScope | null>(null);

export function useApi(): ApiScope {
  const scope = useContext(ApiContext);
  if (!scope) throw new Error('useApi outside an ApiContext provider');
  return scope;
}
