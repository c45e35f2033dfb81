import type { RestartPolicy, TemplateId } from './workload';

/** Generated secrets a template needs. Values are made by the agent (≥128 bits where secret). */
export interface Credentials {
  username?: string;
  password?: string;
  database?: string;
}

export interface TemplatePort {
  name: string;
  container: number;
  protocol: 'tcp';
  /** How a share of this port is presented. */
  kind: 'postgres' | 's3' | 'http' | 'tcp';
}

export type HealthCheck =
  | { kind: 'postgres-login' }
  | { kind: 'http'; port: string; path: string }
  | { kind: 'tcp'; port: string }
  | { kind: 'running' };

export interface ConnectionInfo {
  connectionString?: string;
  endpoint?: string;
  consoleUrl?: string;
  url?: string;
  username?: string;
  password?: string;
  database?: string;
  accessKey?: string;
  secretKey?: string;
}

export interface Template {
  id: TemplateId;
  title: string;
  summary: string;
  /** What the card in the gallery promises. */
  features: string[];
  /** The image a real user gets; `imageEnv` overrides it (tests point it at fixture images). */
  defaultImage?: string;
  imageEnv?: string;
  /** Why this image, shown beside the image picker. */
  imageNote?: string;
  ports: TemplatePort[];
  volumeTarget?: string;
  restart: RestartPolicy;
  /** Which credentials the agent generates. */
  credentials: (keyof Credentials)[];
  command?: string[];
  env(creds: Credentials): Record<string, string>;
  health: HealthCheck;
  /** What a client needs, given where the ports are reachable. */
  connection(creds: Credentials, host: string, ports: Record<string, number>): ConnectionInfo;
}

const enc = encodeURIComponent;

export const postgresUrl = (c: Credentials, host: string, port: number, query = '') =>
  `postgres://${enc(c.username ?? '')}:${enc(c.password ?? '')}@${host}:${port}/${enc(c.database ?? '')}${query}`;

/**
 * Where the agent puts a Postgres workload's TLS certificate and key (issued by its own CA) before
 * the server first starts; the template's command turns TLS on with them.
 */
export const POSTGRES_TLS_FILES = {
  dir: '/etc/lattice/tls',
  cert: '/etc/lattice/tls/server.crt',
  key: '/etc/lattice/tls/server.key',
  ca: '/etc/lattice/tls/ca.crt',
} as const;

export const TEMPLATES: Record<TemplateId, Template> = {
  postgres: {
    id: 'postgres',
    title: 'PostgreSQL',
    summary: 'A PostgreSQL 16 database with a generated user, database and password.',
    features: [
      'Generated credentials (192-bit password)',
      'TLS with a certificate from this computer’s own CA',
      'Data kept in a named volume',
      'Ready when it accepts a login',
    ],
    defaultImage: 'postgres:16',
    imageEnv: 'LATTICE_IMAGE_POSTGRES',
    imageNote: 'The official PostgreSQL image from Docker Hub.',
    ports: [{ name: 'postgres', container: 5432, protocol: 'tcp', kind: 'postgres' }],
    volumeTarget: '/var/lib/postgresql/data',
    restart: 'unless-stopped',
    credentials: ['username', 'password', 'database'],
    // The official image's own command with TLS on: its entrypoint passes the flags to the server.
    command: [
      'postgres',
      '-c',
      'ssl=on',
      '-c',
      `ssl_cert_file=${POSTGRES_TLS_FILES.cert}`,
      '-c',
      `ssl_key_file=${POSTGRES_TLS_FILES.key}`,
    ],
    env: (c) => ({
      POSTGRES_USER: c.username ?? '',
      POSTGRES_PASSWORD: c.password ?? '',
      POSTGRES_DB: c.database ?? '',
      POSTGRES_INITDB_ARGS: '--auth-host=scram-sha-256',
    }),
    health: { kind: 'postgres-login' },
    connection: (c, host, ports) => ({
      connectionString: postgresUrl(c, host, ports.postgres),
      username: c.username,
      password: c.password,
      database: c.database,
    }),
  },
  minio: {
    id: 'minio',
    title: 'MinIO S3 storage',
    summary: 'S3-compatible object storage with generated root keys and a web console.',
    features: [
      'S3 API on port 9000, console on 9001',
      'Generated access and secret keys',
      'Data kept in a named volume',
    ],
    defaultImage: 'pgsty/minio:latest',
    imageEnv: 'LATTICE_IMAGE_MINIO',
    imageNote:
      'pgsty/minio, a maintained community build of MinIO: the official minio/minio image has been frozen since October 2025 with an unpatched privilege-escalation advisory (GHSA-jjjj-jwhf-8rgr). Any image honouring MINIO_ROOT_USER/MINIO_ROOT_PASSWORD works.',
    ports: [
      { name: 's3', container: 9000, protocol: 'tcp', kind: 's3' },
      { name: 'console', container: 9001, protocol: 'tcp', kind: 'http' },
    ],
    volumeTarget: '/data',
    restart: 'unless-stopped',
    credentials: ['username', 'password'],
    command: ['server', '/data', '--console-address', ':9001'],
    env: (c) => ({ MINIO_ROOT_USER: c.username ?? '', MINIO_ROOT_PASSWORD: c.password ?? '' }),
    health: { kind: 'http', port: 's3', path: '/minio/health/live' },
    connection: (c, host, ports) => ({
      endpoint: `http://${host}:${ports.s3}`,
      consoleUrl: ports.console ? `http://${host}:${ports.console}` : undefined,
      accessKey: c.username,
      secretKey: c.password,
    }),
  },
  custom: {
    id: 'custom',
    title: 'Custom image',
    summary: 'Any container image with your ports, environment, volumes and restart policy.',
    features: ['Ports published on 127.0.0.1', 'Named volumes by default', 'CPU and memory limits'],
    ports: [],
    restart: 'unless-stopped',
    credentials: [],
    env: () => ({}),
    health: { kind: 'running' },
    connection: (_c, host, ports) => {
      const first = Object.values(ports)[0];
      return first ? { url: `http://${host}:${first}` } : {};
    },
  },
};

export const TEMPLATE_IDS = Object.keys(TEMPLATES) as TemplateId[];

/** The image a template deploys: explicit choice, then the override variable, then the default. */
export function templateImage(
  t: Template,
  env: Record<string, string | undefined>,
  explicit?: string,
): string | undefined {
  return explicit ?? (t.imageEnv ? env[t.imageEnv] : undefined) ?? t.defaultImage;
}
