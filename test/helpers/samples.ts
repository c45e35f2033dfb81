// Plain contract values for unit tests that need a Workload or a Share to hand to the code under test.
import type { Share, Workload } from '../../shared';

/** A running Postgres workload published on 127.0.0.1:15432; override what the test is about. */
export const sampleWorkload = (over: Partial<Workload> = {}): Workload => ({
  id: 'w1',
  name: 'db',
  template: 'postgres',
  image: 'postgres:16',
  status: 'running',
  ports: [{ name: 'postgres', container: 5432, host: 15432, hostIp: '127.0.0.1', protocol: 'tcp' }],
  volumes: [],
  restart: 'unless-stopped',
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  origin: 'local',
  ...over,
});

/** An active relay share of that workload. */
export const sampleShare = (over: Partial<Share> = {}): Share => ({
  id: 's1',
  workloadId: 'w1',
  workloadName: 'db',
  via: 'relay',
  kind: 'postgres',
  status: 'active',
  url: 'tcp://hub.example:20001',
  publicHost: 'hub.example',
  publicPort: 20001,
  connectionString: 'postgres://share_x:pw@hub.example:20001/app?sslmode=prefer',
  readOnly: false,
  basicAuth: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: null,
  ...over,
});
