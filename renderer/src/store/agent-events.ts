// Applies the agent's event stream to the store: the one place live state changes come from.
import type { AgentEvent } from '../../../shared';
import { useLattice } from './store';

export function applyAgentEvent(event: AgentEvent): void {
  const s = useLattice.getState();
  switch (event.type) {
    case 'workload.changed':
      s.upsertWorkload(event.workload);
      return;
    case 'workload.removed':
      s.removeWorkload(event.id);
      return;
    case 'pull.progress':
      s.setPull(event);
      return;
    case 'share.changed':
      s.upsertShare(event.share);
      return;
    case 'share.removed':
      s.removeShare(event.id);
      return;
    case 'docker.status':
      s.setDocker(event.docker);
      return;
    case 'hub.status':
      s.setHubLink({ connected: event.connected, url: event.url });
      return;
    case 'settings.changed':
      s.setSettings(event.settings);
      return;
  }
}
