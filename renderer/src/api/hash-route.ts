// Hash routing: works from file:// in Electron and from any path the agent or hub serves.
import { useSyncExternalStore } from 'react';

const subscribe = (fn: () => void) => {
  window.addEventListener('hashchange', fn);
  return () => window.removeEventListener('hashchange', fn);
};
const read = () => location.hash.replace(/^#/, '') || '/';

export function useHashRoute(): string[] {
  const path = useSyncExternalStore(subscribe, read);
  return path.split('/').filter(Boolean).map(decodeURIComponent);
}

export const navigate = (path: string) => {
  location.hash = path;
};
