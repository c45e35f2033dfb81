import { useEffect, useMemo } from 'react';
import { TemplateId } from '../../../shared';
import type { HubClient } from '../api/hub-transport';
import { DeployForm } from '../components/DeployForm';
import { EmptyState } from '../components/EmptyState';
import type { DeployPlacement } from '../components/deploy-form-model';
import { refreshNodes } from '../store/inventory-sync';
import { useLattice } from '../store/store';

/** The dashboard's account-wide deploy: the shared deploy form with the target picker (Auto or a computer). */
export function DashboardDeploy({ hub, template }: { hub: HubClient; template: string }) {
  const nodes = useLattice((s) => s.nodes);
  const inventory = useLattice((s) => s.inventory);
  // Free memory is not pushed by the hub: read it when the form opens.
  useEffect(() => void refreshNodes(hub), [hub]);
  const placement = useMemo<DeployPlacement>(
    () => ({
      nodes: Object.values(nodes).sort((a, b) => a.name.localeCompare(b.name)),
      takenNames: Object.values(inventory).map((w) => w.name),
      deploy: (input) => hub.procedure('workload.deploy', input),
    }),
    [hub, nodes, inventory],
  );
  const t = TemplateId.safeParse(template);
  if (!t.success) return <EmptyState title={`Unknown template "${template}"`} />;
  return (
    <>
      <nav aria-label="Breadcrumb" className="small">
        <a href="#/">All workloads</a> / <span>Deploy</span>
      </nav>
      <DeployForm key={t.data} template={t.data} placement={placement} />
    </>
  );
}
