// Finding Lattice's containers in Docker. A container is ours only when it carries our owner label
// (this install) and, to act on it for a workload, that workload's label: the agent never touches a
// container it did not create, even one with the same name.
import type Docker from 'dockerode';
import { containerName } from './container-spec';
import { dockerStatusCode } from './docker-errors';

export interface ContainerState {
  id: string;
  /** Docker's state: running, paused, restarting, removing, created, exited, dead. */
  state: string;
  exitCode?: number;
}

export interface OwnedContainerSummary extends ContainerState {
  name: string;
  image: string;
  labels: Record<string, string>;
}

/** One Docker call for all of this owner's containers, keyed by workload id. */
export async function listOwnedContainers(
  docker: Docker,
  ownerId: string,
): Promise<Map<string, OwnedContainerSummary>> {
  const list = await docker.listContainers({ all: true, filters: { label: [`lattice.owner=${ownerId}`] } });
  const byWorkload = new Map<string, OwnedContainerSummary>();
  for (const c of list) {
    // Ours by owner but with no workload label (hand-made): keyed so it matches no row and is reported.
    const id = c.Labels?.['lattice.workload'] || `unlabelled:${c.Id}`;
    byWorkload.set(id, {
      id: c.Id,
      state: c.State,
      name: (c.Names?.[0] ?? '').replace(/^\//, ''),
      image: c.Image,
      labels: c.Labels ?? {},
    });
  }
  return byWorkload;
}

/** The workload's container if it exists AND carries our owner and workload labels. */
export async function findOwnedContainer(
  docker: Docker,
  workload: { id: string; name: string; containerId: string | null },
  ownerId: string,
): Promise<{ container: Docker.Container; info: Docker.ContainerInspectInfo } | undefined> {
  // By the id we recorded, then by the deterministic name (a create the crash kept us from recording).
  for (const handle of [workload.containerId, containerName(workload.name)]) {
    if (!handle) continue;
    try {
      const info = await docker.getContainer(handle).inspect();
      const labels = info.Config.Labels ?? {};
      if (labels['lattice.owner'] === ownerId && labels['lattice.workload'] === workload.id) {
        return { container: docker.getContainer(info.Id), info };
      }
    } catch (err) {
      if (dockerStatusCode(err) !== 404) throw err;
    }
  }
  return undefined;
}
