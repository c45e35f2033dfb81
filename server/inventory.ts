// What the hub knows of an account's computers without asking them: each workload's last reported
// state (no secrets: agents send WorkloadState, and the parse drops anything else) with the time it
// was reported, and each computer's capacity. `workload.list` and `node.list` answer from here, so an
// offline laptop's workloads stay in view, marked offline, with the age of what is known.
import type { Logger } from 'pino';
import {
  WorkloadState,
  type AgentToHub,
  type InventoryWorkload,
  type NodeCapacity,
  type NodeInfo,
  type NodeSummary,
} from '../shared';
import type { Presence } from './presence';
import type { DeviceRow, HubStore } from './store/hub-store';

type InventoryMessage = Extract<
  AgentToHub,
  { type: 'inventory.snapshot' | 'inventory.changed' | 'inventory.removed' | 'capacity' }
>;

/** What `node: "auto"` compares: free memory, lowered to what the owner's cap leaves for remote deploys. */
export function placeableMemory(c: NodeCapacity): number {
  if (c.remoteDeployMemoryCapBytes === null) return c.memoryFreeBytes;
  return Math.max(0, Math.min(c.memoryFreeBytes, c.remoteDeployMemoryCapBytes - c.remoteMemoryUsedBytes));
}

const ageSeconds = (at: string, now: number) => Math.max(0, Math.floor((now - Date.parse(at)) / 1000));

export class Inventory {
  constructor(
    private readonly store: HubStore,
    private readonly presence: Presence,
    private readonly logger: Logger,
  ) {}

  /** Records an agent's inventory or capacity message. */
  async record(device: Pick<DeviceRow, 'id'>, msg: InventoryMessage): Promise<void> {
    const at = new Date().toISOString();
    try {
      switch (msg.type) {
        case 'inventory.snapshot':
          // Parsed again on purpose: only WorkloadState's fields reach the database.
          await this.store.replaceInventory(
            device.id,
            msg.workloads.map((w) => WorkloadState.parse(w)),
            at,
          );
          break;
        case 'inventory.changed':
          await this.store.upsertInventory(device.id, WorkloadState.parse(msg.workload), at);
          break;
        case 'inventory.removed':
          await this.store.removeInventory(device.id, msg.id);
          break;
        case 'capacity':
          await this.store.saveCapacity(device.id, msg.capacity, at);
          break;
      }
    } catch (err) {
      this.logger.error({ err, deviceId: device.id, type: msg.type }, 'could not record inventory');
    }
  }

  node(device: Pick<DeviceRow, 'id' | 'name'>): NodeSummary {
    return { id: device.id, name: device.name, online: this.presence.isOnline(device.id) };
  }

  /** The account's computers with presence and their last capacity, oldest paired first. */
  async nodes(userId: string): Promise<NodeInfo[]> {
    const [devices, capacities, inventory] = await Promise.all([
      this.store.devicesOfUser(userId),
      this.store.capacitiesOfUser(userId),
      this.store.inventoryOfUser(userId),
    ]);
    const capacityOf = new Map(capacities.map((c) => [c.deviceId, c]));
    return devices
      .filter((d) => !d.revoked)
      .map((d): NodeInfo => {
        const c = capacityOf.get(d.id);
        return {
          id: d.id,
          name: d.name,
          online: this.presence.isOnline(d.id),
          lastSeenAt: d.lastSeenAt,
          capacityAt: c?.reportedAt ?? null,
          cpus: c?.capacity.cpus ?? null,
          memoryTotalBytes: c?.capacity.memoryTotalBytes ?? null,
          memoryFreeBytes: c?.capacity.memoryFreeBytes ?? null,
          diskFreeBytes: c?.capacity.diskFreeBytes ?? null,
          runningWorkloads: c?.capacity.runningWorkloads ?? null,
          // Until it reports, a computer is not offered to `auto`.
          allowsRemoteDeploy: c?.capacity.allowsRemoteDeploy ?? false,
          remoteDeployMemoryCapBytes: c?.capacity.remoteDeployMemoryCapBytes ?? null,
          placeableMemoryBytes: c ? placeableMemory(c.capacity) : null,
          workloads: inventory.filter((w) => w.deviceId === d.id).length,
        };
      });
  }

  /** Every workload of the account, with its computer, presence and the age of its state. */
  async workloads(
    userId: string,
    pendingCommands: (deviceId: string, workload: WorkloadState) => number = () => 0,
  ): Promise<InventoryWorkload[]> {
    const [devices, inventory] = await Promise.all([
      this.store.devicesOfUser(userId),
      this.store.inventoryOfUser(userId),
    ]);
    const deviceOf = new Map(devices.filter((d) => !d.revoked).map((d) => [d.id, d]));
    const now = Date.now();
    const out: InventoryWorkload[] = [];
    for (const r of inventory) {
      const device = deviceOf.get(r.deviceId);
      if (!device) continue;
      out.push({
        ...r.workload,
        node: this.node(device),
        observedAt: r.observedAt,
        ageSeconds: ageSeconds(r.observedAt, now),
        pendingCommands: pendingCommands(device.id, r.workload),
      });
    }
    return out.sort((a, b) => a.node.name.localeCompare(b.node.name) || a.name.localeCompare(b.name));
  }
}
