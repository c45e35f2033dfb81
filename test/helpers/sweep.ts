// Before and after a test run: remove whatever an earlier, interrupted run left labelled behind.
import Docker from 'dockerode';
import { TEST_LABEL } from './docker';

const docker = new Docker();
try {
  await docker.ping();
  const containers = await docker.listContainers({ all: true, filters: { label: [TEST_LABEL] } });
  for (const c of containers)
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => {});
  const { Volumes } = await docker.listVolumes({ filters: { label: [TEST_LABEL] } });
  for (const v of Volumes ?? [])
    await docker
      .getVolume(v.Name)
      .remove({ force: true })
      .catch(() => {});
  if (containers.length) console.log(`sweep: removed ${containers.length} leftover test container(s)`);
} catch {
  // No engine: the tests that need one say so themselves.
}
