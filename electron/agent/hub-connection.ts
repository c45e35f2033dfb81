// The agent's current hub link. Pairing and unpairing replace it while the agent runs, so the parts
// that ride on it (the relay tunnels of the share service, the settings' "connected" flag) follow
// this holder instead of keeping a link of their own.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Dispatch } from '../../shared';
import type { EventBus } from './event-bus';
import { HubLink } from './hub-link';

export interface HubConnectionDeps {
  /** The dispatcher the hub's relayed commands go into. */
  dispatch: Dispatch;
  bus: EventBus;
  logger: Logger;
}

export class HubConnection {
  private link: HubLink | undefined;
  private readonly listeners = new Set<(link: HubLink | undefined) => void>();

  constructor(private readonly deps: HubConnectionDeps) {}

  /** The link in use, or undefined when this computer is not paired (or the agent is stopping). */
  get current(): HubLink | undefined {
    return this.link;
  }

  get connected(): boolean {
    return this.link?.connected ?? false;
  }

  /** Called with the new link (or undefined) every time it is replaced; returns the unsubscribe function. */
  onChange(listener: (link: HubLink | undefined) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Dials the hub with this device token, replacing nothing: call `stop()` first when re-pairing.
   * `caPem`: the hub's private CA given at pairing, trusted for the link and the relay streams.
   */
  start(hubUrl: string, deviceToken: string, caPem?: string): void {
    const { bus, dispatch, logger } = this.deps;
    const link = new HubLink({
      hubUrl,
      deviceToken,
      ...(caPem ? { caPem } : {}),
      name: hostname(),
      dispatch,
      onEvent: (listener) => bus.on(listener),
      logger: logger.child({ component: 'hub-link' }),
    });
    link.onStatus((connected) => bus.emit({ type: 'hub.status', connected, url: hubUrl }));
    link.start();
    this.replace(link);
  }

  async stop(): Promise<void> {
    const link = this.link;
    this.replace(undefined);
    await link?.stop();
  }

  private replace(link: HubLink | undefined): void {
    this.link = link;
    for (const listener of this.listeners) listener(link);
  }
}
