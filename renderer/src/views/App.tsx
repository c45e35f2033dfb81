import type { Face } from '../api/face';
import { ConsoleApp } from './ConsoleApp';
import { DashboardApp } from './DashboardApp';

export function App({ face }: { face: Face }) {
  if (face.kind === 'console') return <ConsoleApp api={face.api} />;
  if (face.kind === 'dashboard') return <DashboardApp hub={face.hub} />;
  return (
    <main className="center-screen" data-testid="unreachable">
      <div className="card auth-card">
        <h1 className="brand-title">Lattice</h1>
        <p>Nothing answers here: {face.message}</p>
      </div>
    </main>
  );
}
