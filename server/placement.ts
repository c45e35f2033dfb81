// Where `workload.deploy` runs: a named computer of the account, or for `node: "auto"` the online
// computer that allows remote deploys and has the most memory free for them (free memory, lowered to
// what the owner's cap leaves). When none fits, the error names every computer and why.
import { LatticeError, type NodeInfo } from '../shared';

const MIB = 1024 ** 2;
const mib = (bytes: number) => `${Math.round(bytes / MIB)} MiB`;

/** A computer of the account by id, or by name (case-insensitive); not_found names what was asked. */
export function findNode(nodes: NodeInfo[], ref: string): NodeInfo {
  const byId = nodes.find((n) => n.id === ref);
  if (byId) return byId;
  const byName = nodes.filter((n) => n.name.toLowerCase() === ref.toLowerCase());
  if (byName.length === 1) return byName[0];
  if (byName.length > 1) {
    throw new LatticeError(
      'conflict',
      `${byName.length} computers are named "${ref}"; use its id (${byName.map((n) => n.id).join(', ')})`,
      'node',
    );
  }
  throw new LatticeError('not_found', `No computer "${ref}" in this account`, 'node');
}

/** Why a computer cannot take a remote deploy of `requestedBytes`, or undefined when it can. */
export function unfitReason(node: NodeInfo, requestedBytes: number): string | undefined {
  if (!node.online) return 'offline';
  if (node.capacityAt === null || node.placeableMemoryBytes === null)
    return 'has not reported its capacity yet';
  if (!node.allowsRemoteDeploy) return 'does not allow remote deploys';
  const capped =
    node.remoteDeployMemoryCapBytes !== null ? ` (capped at ${mib(node.remoteDeployMemoryCapBytes)})` : '';
  if (node.placeableMemoryBytes <= requestedBytes || node.placeableMemoryBytes === 0) {
    const asks = requestedBytes ? `, this deploy asks for ${mib(requestedBytes)}` : '';
    return `only ${mib(node.placeableMemoryBytes)} free for remote deploys${capped}${asks}`;
  }
  return undefined;
}

/** The computer `node: "auto"` picks, or a conflict error naming each computer and why it does not fit. */
export function placeAuto(nodes: NodeInfo[], requestedBytes = 0): NodeInfo {
  if (nodes.length === 0) {
    throw new LatticeError('conflict', 'No computer in this account: pair one first (lattice pair)', 'node');
  }
  const fits = nodes.filter((n) => unfitReason(n, requestedBytes) === undefined);
  if (fits.length === 0) {
    const why = nodes.map((n) => `"${n.name}": ${unfitReason(n, requestedBytes)}`).join('; ');
    throw new LatticeError('conflict', `No computer can take this deploy — ${why}`, 'node');
  }
  // Most placeable memory first; the name breaks ties so the choice is stable.
  return fits.sort(
    (a, b) => (b.placeableMemoryBytes ?? 0) - (a.placeableMemoryBytes ?? 0) || a.name.localeCompare(b.name),
  )[0];
}
