// What passes between hub processes: commands for a device whose agent is connected to another hub,
// dashboard events for users whose dashboards are on other hubs, and which hub holds which device.
// One hub alone (no --bus) uses the in-process bus below, where there is no elsewhere; several hubs
// use NATS (nats-bus.ts). Chosen once, in startHub.
import type { DashboardEvent, HubUser, Result } from '../../shared';
import type { BasicCredentials } from '../relay/basic-auth';
import type { RelayProtection } from '../relay/relay-tls';

/** A dashboard's command for a device, as the hub holding the device's socket runs it. */
export interface RemoteCommand {
  user: HubUser;
  device: { id: string; name: string };
  cmd: { id: string; name: string; args: unknown };
}

/** A relay share as every hub needs it to listen for its visitors: any hub may receive them. */
export interface RelayShareNotice {
  shareId: string;
  deviceId: string;
  userId: string;
  kind: 'tcp' | 'http';
  protection: RelayProtection;
  port: number;
  basicAuth?: BasicCredentials;
  expiresAt: string | null;
}

/** A visitor arrived at `hubUrl`'s hub: the device's agent should dial a stream there. */
export interface StreamRequest {
  deviceId: string;
  streamId: string;
  shareId: string;
  hubUrl: string;
  /** The visitor's hub takes the stream as a byte stream (see stream.open in shared/hub-protocol.ts). */
  byteStream?: boolean;
}

/** What a hub does for the others. */
export interface BusHandlers {
  /** Runs a command on a device connected to this hub (idempotent by command id). */
  runCommand(req: RemoteCommand): Promise<Result<unknown>>;
  /** Hands an event to this hub's dashboards of the user. */
  deliverEvent(userId: string, event: DashboardEvent): void;
  /** The device connected again through another hub, more recently: close this hub's socket of it. */
  closeAgent(deviceId: string): void;
  /** Asks a device connected to this hub for a stream; false when it is not here. */
  openStream(req: StreamRequest): boolean;
  /** Another hub opened (or re-opened) a share: listen for its visitors here too. */
  shareOpened(notice: RelayShareNotice): void;
  /** The share ended (closed by its owner, expired, revoked): stop listening for it. */
  shareClosed(shareId: string): void;
  /** The shares whose device this hub holds, told again to a hub that just started. */
  sharesHere(): RelayShareNotice[];
}

export interface HubBus {
  readonly hubId: string;
  start(handlers: BusHandlers): Promise<void>;
  /** To the user's dashboards on the other hubs (this hub's own are served by the caller). */
  publishEvent(userId: string, event: DashboardEvent): void;
  agentConnected(deviceId: string): void;
  agentDisconnected(deviceId: string): void;
  /** Whether another live hub holds the device's socket. */
  isOnlineElsewhere(deviceId: string): boolean;
  /**
   * Runs the command through the hub holding the device; undefined when no hub holds it. A hub that
   * does not answer within `timeoutMs` gives a `timeout` result.
   */
  commandElsewhere(req: RemoteCommand, timeoutMs: number): Promise<Result<unknown> | undefined>;
  /** Tells the other hubs a share is open (they listen on its port too) or has ended. */
  announceShare(notice: RelayShareNotice): void;
  announceShareClosed(shareId: string): void;
  /**
   * Asks the hub holding the device to have its agent dial a stream to `req.hubUrl`; false when no
   * hub holds the device or none answers within `timeoutMs`.
   */
  streamElsewhere(req: StreamRequest, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** One hub: nothing is elsewhere. */
export function inProcessBus(): HubBus {
  return {
    hubId: 'local',
    start: async () => undefined,
    publishEvent: () => undefined,
    agentConnected: () => undefined,
    agentDisconnected: () => undefined,
    isOnlineElsewhere: () => false,
    commandElsewhere: async () => undefined,
    announceShare: () => undefined,
    announceShareClosed: () => undefined,
    streamElsewhere: async () => false,
    close: async () => undefined,
  };
}
