// Host paths are checked twice: as written, and after resolving symlinks. A link inside an allowed
// folder that points at /var/run/docker.sock (or anywhere outside) must not get past the policy, and
// the container is given the resolved path, so swapping the link afterwards changes nothing.
import { realpathSync } from 'node:fs';
import type { DeploySpec } from '../../shared';
import { isBindSource } from '../../shared';

export function resolveBindSources(spec: DeploySpec): DeploySpec {
  if (
    spec.template !== 'custom' ||
    !spec.volumes.some((v) => isBindSource(v.source) && v.source.startsWith('/'))
  ) {
    return spec;
  }
  return {
    ...spec,
    volumes: spec.volumes.map((v) => {
      if (!isBindSource(v.source) || !v.source.startsWith('/')) return v;
      try {
        return { ...v, source: realpathSync(v.source) };
      } catch {
        // A path that does not exist cannot be a link; Docker refuses a missing bind source anyway.
        return v;
      }
    }),
  };
}
