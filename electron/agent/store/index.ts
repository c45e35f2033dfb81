// The agent's storage, behind one typed module: open the database, get the repositories.
import { openDatabase, type Db } from './db';
import { WorkloadsRepo } from './workloads-repo';
import { SecretsRepo, SettingsRepo } from './settings-repo';
import { CommandResultsRepo } from './command-results-repo';
import { OrphansRepo } from './orphans-repo';

export interface Store {
  db: Db;
  workloads: WorkloadsRepo;
  settings: SettingsRepo;
  secrets: SecretsRepo;
  commands: CommandResultsRepo;
  orphans: OrphansRepo;
  close(): void;
}

export function openStore(path: string): Store {
  const db = openDatabase(path);
  return {
    db,
    workloads: new WorkloadsRepo(db),
    settings: new SettingsRepo(db),
    secrets: new SecretsRepo(db),
    commands: new CommandResultsRepo(db),
    orphans: new OrphansRepo(db),
    close: () => {
      if (db.open) db.close();
    },
  };
}

export type { Db } from './db';
export type { WorkloadRow, StoredSpec, StoredVolume } from './workloads-repo';
export type { OrphanRow } from './orphans-repo';
