// The layering rules of docs/ARCHITECTURE.md are enforced by lint; this proves each rule fires on a wrong
// import (and stays quiet on a right one) through the same ESLint config `npm run lint` uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const root = new URL('../..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

async function importErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

const wrong: [file: string, code: string][] = [
  ['shared/probe.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n"],
  ['shared/probe.ts', "import path from 'path';\nexport const x = path;\n"],
  ['shared/probe.ts', "import { app } from 'electron';\nexport const x = app;\n"],
  ['shared/probe.ts', "import type { Agent } from '../electron/agent/agent';\nexport type X = Agent;\n"],
  ['shared/probe.ts', "import { startHub } from '../server/hub';\nexport const x = startHub;\n"],
  ['shared/probe.ts', "import React from 'react';\nexport const x = React;\n"],
  ['electron/agent/probe.ts', "import { app } from 'electron';\nexport const x = app;\n"],
  ['electron/agent/probe.ts', "import { x as y } from '../main/main';\nexport const x = y;\n"],
  // Every table is behind electron/agent/store/: no other agent file opens the database.
  ['electron/agent/probe.ts', "import Database from 'better-sqlite3';\nexport const x = Database;\n"],
  ['electron/agent/shares/probe.ts', "import Database from 'better-sqlite3';\nexport const x = Database;\n"],
  ['electron/agent/store/probe.ts', "import { app } from 'electron';\nexport const x = app;\n"],
  ['server/probe.ts', "import { BrowserWindow } from 'electron';\nexport const x = BrowserWindow;\n"],
  ['server/probe.ts', "import type { Agent } from '../electron/agent/agent';\nexport type X = Agent;\n"],
  ['renderer/src/probe.ts', "import { readFile } from 'node:fs/promises';\nexport const x = readFile;\n"],
  ['renderer/src/probe.ts', "import { ipcRenderer } from 'electron';\nexport const x = ipcRenderer;\n"],
  [
    'renderer/src/probe.ts',
    "import { createAgent } from '../../electron/agent/create-agent';\nexport const x = createAgent;\n",
  ],
  [
    'electron/preload/probe.ts',
    "import { createAgent } from '../agent/create-agent';\nexport const x = createAgent;\n",
  ],
  // electron/main/ reaches the agent only through electron/agent/index.ts.
  [
    'electron/main/probe.ts',
    "import { ShareService } from '../agent/shares/share-service';\nexport const x = ShareService;\n",
  ],
  ['electron/main/probe.ts', "import { SecretBox } from '../agent/secrets';\nexport const x = SecretBox;\n"],
  ['electron/main/probe.ts', "import type { Agent } from '../agent/agent';\nexport type X = Agent;\n"],
];

for (const [file, code] of wrong) {
  test(`lint refuses in ${file}: ${code.split('\n')[0]}`, async () => {
    const errors = await importErrors(file, code);
    assert.equal(errors.length, 1, `expected one layering error, got ${JSON.stringify(errors)}`);
  });
}

const right: [file: string, code: string][] = [
  [
    'shared/probe.ts',
    "import { z } from 'zod';\nimport { AgentEvent } from './events';\nexport const x = [z, AgentEvent];\n",
  ],
  [
    'electron/agent/probe.ts',
    "import { readFileSync } from 'node:fs';\nimport { COMMANDS } from '../../shared';\nexport const x = [readFileSync, COMMANDS];\n",
  ],
  [
    'electron/main/probe.ts',
    "import { app } from 'electron';\nimport type { Agent } from '../agent';\nexport const x = app;\nexport type X = Agent;\n",
  ],
  [
    'electron/main/probe.ts',
    "import { SnapshotStore } from './agent-snapshot';\nexport const x = SnapshotStore;\n",
  ],
  ['electron/agent/store/probe.ts', "import Database from 'better-sqlite3';\nexport const x = Database;\n"],
  [
    'renderer/src/probe.ts',
    "import { TEMPLATES } from '../../shared/templates';\nexport const x = TEMPLATES;\n",
  ],
];

for (const [file, code] of right) {
  test(`lint allows in ${file}: ${code.split('\n')[0]}`, async () => {
    assert.deepEqual(await importErrors(file, code), []);
  });
}
