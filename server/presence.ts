// Who is connected right now: each device's control socket (at most one; a newer connection of the
// same device replaces the older) and each user's dashboard sockets. Events for a user go only to
// that user's dashboards.
import type { Socket } from 'node:net';
import type WebSocket from 'ws';
import type { DashboardEvent, HubToAgent, Result } from '../shared';
import { inProcessBus, type HubBus } from './bus/hub-bus';
import { sendBounded } from './sockets/socket-limits';

/** A relayed command waiting for the agent's `result`. */
export interface PendingCommand {
  /** The agent answered. */
  resolve(result: Result<unknown>): void;
  /** The socket closed first. */
  gone(message: string): void;
}

/**
 * Agent connections whose socket writes wait for the end of the event loop's turn (holdWrites): kept
 * here rather than in a field, so an idle connection — most of them — holds nothing for it.
 */
const holdingWrites = new Set<AgentConnection>();

export class AgentConnection {
  private commands: Map<string, PendingCommand> | undefined = undefined;

  constructor(
    readonly deviceId: string,
    readonly userId: string,
    readonly ws: WebSocket,
    private readonly maxBufferedBytes: number,
  ) {}

  /**
   * Commands sent on this socket and not answered yet, by command id. Made on first use: most of the
   * thousands of idle agents a hub holds never get a command, and an empty Map is a few hundred bytes.
   */
  get pending(): Map<string, PendingCommand> {
    return (this.commands ??= new Map());
  }

  send(msg: HubToAgent): boolean {
    this.holdWrites();
    return sendBounded(this.ws, JSON.stringify(msg), this.maxBufferedBytes);
  }

  /**
   * Holds the socket's writes until the event loop's turn ends (setImmediate), so the messages sent
   * to one device in one turn — the commands of several requests read together — leave in one write
   * instead of one each: a socket write costs tens of µs in the kernel, the largest part of relaying
   * a command. ws has no cork of its own; its socket is its `_socket` field, and where that is
   * missing every frame is written at once, as before.
   */
  private holdWrites(): void {
    if (holdingWrites.has(this)) return;
    const socket = (this.ws as unknown as { _socket?: Socket | null })._socket;
    if (!socket) return;
    holdingWrites.add(this);
    socket.cork();
    setImmediate(() => {
      holdingWrites.delete(this);
      socket.uncork();
    });
  }
}

export class Presence {
  private readonly agents = new Map<string, AgentConnection>();
  private readonly dashboards = new Map<string, Set<WebSocket>>();
  /** Other hubs (server/bus/): their devices count as online, events reach their dashboards too. */
  bus: HubBus = inProcessBus();

  constructor(private readonly maxBufferedBytes: number) {}

  agent(deviceId: string): AgentConnection | undefined {
    return this.agents.get(deviceId);
  }

  /** Connected to this hub or to another live hub of the cluster. */
  isOnline(deviceId: string): boolean {
    return this.agents.has(deviceId) || this.bus.isOnlineElsewhere(deviceId);
  }

  /** Registers the connection; returns the one it replaced, if any. */
  addAgent(conn: AgentConnection): AgentConnection | undefined {
    const previous = this.agents.get(conn.deviceId);
    this.agents.set(conn.deviceId, conn);
    this.bus.agentConnected(conn.deviceId);
    return previous;
  }

  /** True when `conn` was the device's current connection (and so the device is now offline). */
  removeAgent(conn: AgentConnection): boolean {
    if (this.agents.get(conn.deviceId) !== conn) return false;
    this.agents.delete(conn.deviceId);
    this.bus.agentDisconnected(conn.deviceId);
    return true;
  }

  addDashboard(userId: string, ws: WebSocket): void {
    let set = this.dashboards.get(userId);
    if (!set) this.dashboards.set(userId, (set = new Set()));
    set.add(ws);
    ws.on('close', () => {
      set.delete(ws);
      if (set.size === 0 && this.dashboards.get(userId) === set) this.dashboards.delete(userId);
    });
  }

  /** To the user's dashboards on every hub. */
  publish(userId: string, event: DashboardEvent): void {
    // A socket closed because the device connected through another hub is not "offline".
    if (event.type === 'presence' && !event.online && this.isOnline(event.deviceId)) return;
    this.publishHere(userId, event);
    this.bus.publishEvent(userId, event);
  }

  /** To the user's dashboards on this hub. */
  publishHere(userId: string, event: DashboardEvent): void {
    const set = this.dashboards.get(userId);
    if (!set) return;
    const text = JSON.stringify(event);
    for (const ws of set) sendBounded(ws, text, this.maxBufferedBytes);
  }

  /** Logout and password change: every dashboard socket of the user is closed. */
  closeDashboards(userId: string, reason: string): void {
    for (const ws of this.dashboards.get(userId) ?? []) ws.close(4001, reason);
  }

  closeAll(): void {
    for (const conn of this.agents.values()) conn.ws.terminate();
    for (const set of this.dashboards.values()) for (const ws of set) ws.terminate();
  }
}
