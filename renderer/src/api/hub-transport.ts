// The remote dashboard: the hub's REST API for accounts and devices, its account-wide procedures at
// /trpc (shared/hub-api.ts: every workload, computer and queued command of the account), its WebSocket
// for presence, device events and queue changes, and per-device ConsoleApis that relay commands.
import {
  AuthResponse,
  DashboardEvent,
  Device,
  PairingCode,
  TOKEN_PROTOCOL_PREFIX,
  type AgentEvent,
  type CommandName,
  type ErrorBody,
  type HubProcedureInput,
  type HubProcedureName,
  type HubProcedureOutput,
  type HubUser,
  type LogLine,
  type Result,
} from '../../../shared';
import { z } from 'zod';
import { newLogLines } from './log-overlap';
import type { ConsoleApi, StreamState } from './console-api';
import { Listeners } from './listeners';
import { networkError, readResult } from './read-result';
import { procedureRequest, readProcedureReply } from './trpc-reply';

const REFRESH_KEY = 'lattice.hub.refresh';
const LOG_POLL_MS = 2000;
const RECONNECT_MS = [1000, 2000, 5000, 10_000];

export class HubClient {
  private accessToken: string | null = null;
  private refreshToken: string | null = null;
  private socket: WebSocket | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private attempts = 0;
  private refreshing: Promise<boolean> | undefined;
  readonly dashboardEvents = new Listeners<DashboardEvent>();
  readonly streamStates = new Listeners<StreamState>();
  readonly authChanges = new Listeners<HubUser | null>();
  user: HubUser | null = null;
  streamState: StreamState = 'connecting';

  constructor(private readonly base = '') {
    try {
      this.refreshToken = sessionStorage.getItem(REFRESH_KEY);
    } catch {
      this.refreshToken = null;
    }
  }

  /** Restores a session from the refresh token kept for this tab, if any. */
  async resume(): Promise<HubUser | null> {
    if (!this.refreshToken) return null;
    return (await this.refresh()) ? this.user : null;
  }

  /** Registration answers alike whether or not the email was taken; the sign-in that follows decides. */
  async register(email: string, password: string): Promise<Result<HubUser>> {
    const res = await this.request<unknown>('/api/auth/register', {
      method: 'POST',
      body: { email, password },
      anonymous: true,
    });
    if (!res.ok) return res;
    return this.login(email, password);
  }

  async login(email: string, password: string): Promise<Result<HubUser>> {
    return this.authenticate('/api/auth/login', { email, password });
  }

  async logout(): Promise<void> {
    const refreshToken = this.refreshToken;
    await this.request('/api/auth/logout', { method: 'POST', body: { refreshToken } }).catch(() => undefined);
    this.setSession(null);
  }

  async devices(): Promise<Result<Device[]>> {
    const res = await this.request<unknown>('/api/devices');
    if (!res.ok) return res;
    const list = Array.isArray(res.value) ? res.value : (res.value as { devices?: unknown }).devices;
    const parsed = z.array(Device).safeParse(list);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, error: { code: 'internal', message: 'The hub sent an unexpected device list' } };
  }

  async createPairingCode(): Promise<Result<z.infer<typeof PairingCode>>> {
    const res = await this.request<unknown>('/api/devices/pairing', { method: 'POST', body: {} });
    if (!res.ok) return res;
    const parsed = PairingCode.safeParse(res.value);
    return parsed.success
      ? { ok: true, value: parsed.data }
      : { ok: false, error: { code: 'internal', message: 'The hub sent an unexpected pairing code' } };
  }

  /** Relays one command to a device; the id is the idempotency key. */
  command<T>(deviceId: string, name: CommandName, args: unknown): Promise<Result<T>> {
    return this.request<T>(`/api/devices/${encodeURIComponent(deviceId)}/commands`, {
      method: 'POST',
      body: { id: crypto.randomUUID(), name, args: args ?? {} },
    });
  }

  /**
   * One procedure of the hub's account-wide API (`/trpc/<name>`), its input and output those of the
   * contract. The same API a script reaches with @trpc/client; spelled out here because the renderer
   * may not import the hub's router type.
   */
  async procedure<K extends HubProcedureName>(
    name: K,
    input: HubProcedureInput<K>,
    retried = false,
  ): Promise<Result<HubProcedureOutput<K>>> {
    const { method, path, body } = procedureRequest(name, input);
    const res = await this.send(path, { method, body });
    if (!(res instanceof Response)) return { ok: false, error: res };
    if (res.status === 401 && !retried && (await this.refresh())) return this.procedure(name, input, true);
    let json: unknown;
    try {
      json = await res.json();
    } catch {
      return { ok: false, error: { code: 'internal', message: `Unexpected reply (HTTP ${res.status})` } };
    }
    return readProcedureReply(name, res.status, json);
  }

  /** A ConsoleApi for one device: commands relayed, events filtered from the dashboard socket. */
  deviceApi(deviceId: string): ConsoleApi {
    return {
      kind: 'hub',
      invoke: (name, args) => this.command(deviceId, name, args),
      onEvent: (listener: (event: AgentEvent) => void) =>
        this.dashboardEvents.add((e) => {
          if (e.type === 'device.event' && e.deviceId === deviceId) listener(e.event);
        }),
      onStreamState: (listener) => {
        queueMicrotask(() => listener(this.streamState));
        return this.streamStates.add(listener);
      },
      followLogs: (ref, tail, onLine, onError) => {
        // The hub relays commands, not streams: follow by polling the tail.
        let previous: LogLine[] = [];
        let stopped = false;
        let timer: ReturnType<typeof setTimeout> | undefined;
        const poll = async () => {
          const res = await this.command<{ lines: LogLine[] }>(deviceId, 'workload.logs', { ref, tail });
          if (stopped) return;
          if (res.ok) {
            for (const line of newLogLines(previous, res.value.lines)) onLine(line);
            previous = res.value.lines;
          } else onError?.(res.error);
          timer = setTimeout(poll, LOG_POLL_MS);
        };
        void poll();
        return () => {
          stopped = true;
          clearTimeout(timer);
        };
      },
      // Subscriptions end with their own unsubscribe functions; the shared socket stays for other devices.
      close: () => undefined,
    };
  }

  /** Opens the dashboard WebSocket (presence and device events), reconnecting until logout. */
  connectEvents(): void {
    if (this.socket || !this.accessToken) return;
    const url = new URL('/api/events', this.base || location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url, ['lattice.v1', TOKEN_PROTOCOL_PREFIX + this.accessToken]);
    this.socket = ws;
    ws.onopen = () => {
      this.attempts = 0;
      this.setStreamState('live');
    };
    ws.onmessage = (msg) => {
      try {
        const parsed = DashboardEvent.safeParse(JSON.parse(String(msg.data)));
        if (parsed.success) this.dashboardEvents.emit(parsed.data);
      } catch {
        // Not JSON: ignore, the hub only sends DashboardEvents.
      }
    };
    ws.onclose = () => {
      if (this.socket !== ws) return;
      this.socket = undefined;
      if (!this.accessToken) return;
      this.setStreamState('down');
      const delay = RECONNECT_MS[Math.min(this.attempts++, RECONNECT_MS.length - 1)];
      // The access token may have expired: refresh before dialling again.
      this.reconnectTimer = setTimeout(() => {
        void this.refresh().then((ok) => (ok ? this.connectEvents() : undefined));
      }, delay);
    };
  }

  private setStreamState(state: StreamState) {
    if (state === this.streamState) return;
    this.streamState = state;
    this.streamStates.emit(state);
  }

  private setSession(auth: z.infer<typeof AuthResponse> | null) {
    this.accessToken = auth?.accessToken ?? null;
    this.refreshToken = auth?.refreshToken ?? null;
    this.user = auth?.user ?? null;
    try {
      if (auth) sessionStorage.setItem(REFRESH_KEY, auth.refreshToken);
      else sessionStorage.removeItem(REFRESH_KEY);
    } catch {
      // Storage disabled: the session lasts as long as the page.
    }
    if (!auth) {
      clearTimeout(this.reconnectTimer);
      const ws = this.socket;
      this.socket = undefined;
      ws?.close();
      this.setStreamState('connecting');
    }
    this.authChanges.emit(this.user);
  }

  private async authenticate(
    path: string,
    body: { email: string; password: string },
  ): Promise<Result<HubUser>> {
    const res = await this.request<unknown>(path, { method: 'POST', body, anonymous: true });
    if (!res.ok) return res;
    const auth = AuthResponse.safeParse(res.value);
    if (!auth.success)
      return { ok: false, error: { code: 'internal', message: 'The hub sent an unexpected reply' } };
    this.setSession(auth.data);
    this.connectEvents();
    return { ok: true, value: auth.data.user };
  }

  private refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      if (!this.refreshToken) return false;
      const res = await this.request<unknown>('/api/auth/refresh', {
        method: 'POST',
        body: { refreshToken: this.refreshToken },
        anonymous: true,
      });
      const auth = res.ok ? AuthResponse.safeParse(res.value) : undefined;
      if (auth?.success) {
        const hadSocket = !!this.socket;
        this.setSession(auth.data);
        if (!hadSocket) this.connectEvents();
        return true;
      }
      if (!res.ok && (res.error.code === 'unauthorized' || res.error.code === 'invalid_argument'))
        this.setSession(null);
      return false;
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  private async request<T>(
    path: string,
    opts: { method?: string; body?: unknown; anonymous?: boolean } = {},
    retried = false,
  ): Promise<Result<T>> {
    const res = await this.send(path, opts);
    if (!(res instanceof Response)) return { ok: false, error: res };
    if (res.status === 401 && !opts.anonymous && !retried && (await this.refresh())) {
      return this.request<T>(path, opts, true);
    }
    return readResult<T>(res);
  }

  /** One HTTP request to the hub with the access token; a network failure comes back as an ErrorBody. */
  private async send(
    path: string,
    opts: { method?: string; body?: unknown; anonymous?: boolean },
  ): Promise<Response | ErrorBody> {
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    if (!opts.anonymous && this.accessToken) headers.authorization = `Bearer ${this.accessToken}`;
    try {
      return await fetch(this.base + path, {
        method: opts.method ?? 'GET',
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        credentials: 'same-origin',
      });
    } catch (err) {
      this.setStreamState('down');
      return networkError('Could not reach the hub', err);
    }
  }
}
