import { TemplateId } from '../../../shared';
import { DeployForm } from '../components/DeployForm';
import { EmptyState } from '../components/EmptyState';
import { SettingsPage } from '../components/SettingsPage';
import { TemplateGallery } from '../components/TemplateGallery';
import { WorkloadList } from '../components/WorkloadList';
import { WorkloadPage } from '../components/WorkloadPage';

/** The views both faces share, chosen by the route below the scope's base. */
export function Workspace({ route, allowSettings }: { route: string[]; allowSettings: boolean }) {
  const [page, arg] = route;
  if (!page)
    return (
      <>
        <WorkloadList />
        <TemplateGallery />
      </>
    );
  if (page === 'deploy') {
    const t = TemplateId.safeParse(arg);
    return t.success ? (
      <DeployForm key={t.data} template={t.data} />
    ) : (
      <EmptyState title={`Unknown template "${arg}"`} />
    );
  }
  if (page === 'workloads' && arg) return <WorkloadPage key={arg} workloadRef={arg} />;
  if (page === 'settings' && allowSettings) return <SettingsPage />;
  return <EmptyState title="Nothing here" />;
}
