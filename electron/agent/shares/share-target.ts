// Which port of a workload a share exposes, and how it is presented (postgres, s3, http or tcp).
import { LatticeError, TEMPLATES, type Workload } from '../../../shared';
import type { ShareKind } from '../store';

export interface ShareTarget {
  portName: string | null;
  containerPort: number;
  hostPort: number;
  kind: ShareKind;
}

/**
 * `port` is a template port name (`postgres`, `s3`, `console`) or a container port number; omitted,
 * the template's main port (the first one a custom image publishes). A custom image's port is shared
 * as `kind` (HTTP unless asked for TCP); a template's port has its own kind, which `kind` may only
 * repeat (or, for a template's web port, turn into TCP).
 */
export function pickShareTarget(workload: Workload, port: string | undefined, kind?: ShareKind): ShareTarget {
  const published = workload.ports.filter((p) => p.protocol === 'tcp');
  if (published.length === 0) {
    throw new LatticeError(
      'invalid_argument',
      `Workload ${workload.name} publishes no TCP port to share`,
      'port',
    );
  }
  const templatePorts = TEMPLATES[workload.template].ports;
  const chosen =
    port === undefined
      ? ((templatePorts.length
          ? published.find(
              (p) => p.container === templatePorts[0].container || p.name === templatePorts[0].name,
            )
          : undefined) ?? published[0])
      : published.find((p) => p.name === port || String(p.container) === port);
  if (!chosen) {
    const names = published.map((p) => p.name ?? String(p.container)).join(', ');
    throw new LatticeError(
      'invalid_argument',
      `Workload ${workload.name} has no port "${port}" (it has: ${names})`,
      'port',
    );
  }
  const templatePort = templatePorts.find((t) => t.container === chosen.container || t.name === chosen.name);
  const own = templatePort?.kind;
  if (kind !== undefined && own !== undefined && kind !== own && !(own === 'http' && kind === 'tcp')) {
    throw new LatticeError(
      'invalid_argument',
      `The ${templatePort!.name} port of ${workload.name} is shared as ${own}; --kind tcp|http applies to custom images and web ports`,
      'kind',
    );
  }
  return {
    portName: chosen.name ?? templatePort?.name ?? null,
    containerPort: chosen.container,
    hostPort: chosen.host,
    kind: kind ?? own ?? 'http',
  };
}
