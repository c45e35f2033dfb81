// The agent's storage, behind one typed module: open the database, get the repositories. Every
// table is reached through a repository here; the raw database handle never leaves store/.
import { openDatabase } from './db';
import { WorkloadsRepo } from './workloads-repo';
import { SecretsRepo, SettingsRepo } from './settings-repo';
import { CommandResultsRepo } from './command-results-repo';
import { OrphansRepo } from './orphans-repo';
import { SharesRepo } from './shares-repo';

export interface Store {
  workloads: WorkloadsRepo;
  settings: SettingsRepo;
  secrets: SecretsRepo;
  commands: CommandResultsRepo;
  orphans: OrphansRepo;
  shares: SharesRepo;
  /** Runs `fn` in one SQLite transaction: all of its writes land, or none. */
  transaction<T>(fn: () => T): T;
  close(): void;
}

export function openStore(path: string): Store {
  const db = openDatabase(path);
  return {
    workloads: new WorkloadsRepo(db),
    settings: new SettingsRepo(db),
    secrets: new SecretsRepo(db),
    commands: new CommandResultsRepo(db),
    orphans: new OrphansRepo(db),
    shares: new SharesRepo(db),
    transaction: (fn) => db.transaction(fn)(),
    close: () => {
      if (db.open) db.close();
    },
  };
}

export type { WorkloadRow, StoredSpec, StoredVolume } from './workloads-repo';
export type { OrphanRow } from './orphans-repo';
export type { SharesRepo, ShareRow, ShareKind, ShareRowStatus } from './shares-repo';
