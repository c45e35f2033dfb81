// Real Docker for tests: a loud failure when there is none, and cleanup of what a test created.
import Docker from 'dockerode';

export const TEST_LABEL = 'lattice.test';

export const FIXTURE_IMAGES = {
  postgres: 'lattice-fixture/postgres:15',
  minio: 'lattice-fixture/minio:latest',
  nginx: 'lattice-fixture/nginx:latest',
} as const;

/** Environment for agent processes under test: fixture images and the test label on everything. */
export function fixtureEnv(): Record<string, string> {
  return {
    LATTICE_IMAGE_POSTGRES: FIXTURE_IMAGES.postgres,
    LATTICE_IMAGE_MINIO: FIXTURE_IMAGES.minio,
    LATTICE_EXTRA_LABELS: `${TEST_LABEL}=1`,
  };
}

/**
 * An agent's environment that finds its engine only through the docker CLI's files in `dockerConfig`
 * (its contexts, `currentContext`): fixture images, and explicitly no DOCKER_HOST or DOCKER_CONTEXT.
 */
export function dockerConfigEnv(dockerConfig: string): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...process.env,
    ...fixtureEnv(),
    DOCKER_CONFIG: dockerConfig,
    LATTICE_LOG_LEVEL: process.env.LATTICE_LOG_LEVEL ?? 'warn',
  };
  delete env.DOCKER_HOST;
  delete env.DOCKER_CONTEXT;
  return env;
}

let cached: Docker | undefined;

/** The real engine, or an error that says how to start one. Tests never skip for lack of Docker. */
export async function requireDocker(): Promise<Docker> {
  const docker = cached ?? new Docker();
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(
      `No Docker Engine answers at ${process.env.DOCKER_HOST ?? '/var/run/docker.sock'} (${(err as Error).message}). ` +
        'Start one: `apt-get install -y docker.io && dockerd --storage-driver=overlay2 &`, or run `bash .ci/run`.',
    );
  }
  cached = docker;
  return docker;
}

/** Fails with the command that builds them when the fixture images are missing. */
export async function requireFixtureImages(...names: (keyof typeof FIXTURE_IMAGES)[]): Promise<Docker> {
  const docker = await requireDocker();
  for (const name of names) {
    try {
      await docker.getImage(FIXTURE_IMAGES[name]).inspect();
    } catch {
      throw new Error(`Fixture image ${FIXTURE_IMAGES[name]} is missing: run \`npm run fixtures\` first.`);
    }
  }
  return docker;
}

/** Removes every container and volume carrying `label` (key or key=value), created by tests. */
export async function removeLabelled(label: string = TEST_LABEL): Promise<void> {
  const docker = await requireDocker();
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(
    containers.map((c) =>
      docker
        .getContainer(c.Id)
        .remove({ force: true, v: true })
        .catch(() => undefined),
    ),
  );
  const { Volumes } = await docker.listVolumes({ filters: { label: [label] } });
  await Promise.all(
    (Volumes ?? []).map((v) =>
      docker
        .getVolume(v.Name)
        .remove({ force: true })
        .catch(() => undefined),
    ),
  );
}
