// One in-process fan-out for agent events: consoles, the local API, the hub link all subscribe here.
import type { AgentEvent } from '../../shared';
import type { Logger } from 'pino';

export class EventBus {
  private readonly listeners = new Set<(event: AgentEvent) => void>();

  constructor(private readonly logger?: Logger) {}

  on(listener: (event: AgentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  emit(event: AgentEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (err) {
        // A broken subscriber must not stop the others or the agent.
        this.logger?.warn({ err: (err as Error).message, event: event.type }, 'event listener failed');
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
