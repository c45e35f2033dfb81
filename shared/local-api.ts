/** Routes and names of the agent's loopback API, shared by the CLI, the console's HTTP transport and the server. */
export const LOCAL_API = {
  /** POST body = the command's args → `Result` JSON. */
  command: (name: string) => `/api/commands/${name}`,
  /** Server-sent events: each `data:` line is one AgentEvent. */
  events: '/api/events',
  /** GET ?tail=N&follow=1 → NDJSON of LogLine while following; JSON `{lines}` otherwise. */
  logs: (ref: string) => `/api/workloads/${encodeURIComponent(ref)}/logs`,
  /** POST {token} (the one-time console token or the API token) → session cookie. */
  session: '/api/session',
  /** GET ?token=… → sets the session cookie, redirects to the console. */
  login: '/login',
  openapi: '/api/openapi.json',
  /** GET → `{service: 'agent' | 'hub', version}`: tells the one renderer build which face to show. */
  health: '/api/health',
} as const;

export const SESSION_COOKIE = 'lattice_console';
/** File names inside the data directory. */
export const DATA_FILES = {
  db: 'agent.db',
  key: 'secret.key',
  apiToken: 'api-token',
  /** Written by a running agent: `{url, pid, startedAt}` so the CLI can find it. */
  running: 'agent.json',
} as const;
