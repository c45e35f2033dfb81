// Lint, including the layering rules of docs/ARCHITECTURE.md: a wrong import between the parts fails the build.
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';
import globals from 'globals';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));
const noNode = [{ group: ['node:*'], message: 'This layer runs without Node: no node: imports.' }];
// Exact names (not patterns): a pattern "events" would also match a sibling file "./events".
const noNodePaths = nodeBuiltins.map((name) => ({
  name,
  message: 'This layer runs without Node built-ins.',
}));
// A regex, not a gitignore-style group: the group "electron/*" would also match "../electron/agent/…".
const noElectron = {
  regex: '^electron(/.*)?$',
  message: 'Only electron/main and electron/preload may import electron.',
};
const layer = (name, groups) => ({
  group: groups,
  message: `${name} may not import this part (see docs/ARCHITECTURE.md).`,
});

const agentPatterns = [
  noElectron,
  layer('electron/agent/', ['**/main/**', '**/preload/**', '**/renderer/**', '**/server/**']),
];

export const layering = [
  {
    files: ['shared/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noNodePaths,
          patterns: [
            ...noNode,
            noElectron,
            layer('shared/', ['**/electron/**', '**/server/**', '**/renderer/**', '**/test/**']),
            { group: ['react', 'react-dom', 'react/*'], message: 'shared/ is pure TypeScript.' },
          ],
        },
      ],
    },
  },
  // Two blocks for the agent because a later block's options replace an earlier one's: every agent
  // file has the layer rules, and only store/ may open the database (every table is behind it).
  {
    files: ['electron/agent/**/*.ts'],
    ignores: ['electron/agent/store/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            {
              name: 'better-sqlite3',
              message: 'Only electron/agent/store/ opens the database; use its repositories.',
            },
          ],
          patterns: agentPatterns,
        },
      ],
    },
  },
  {
    files: ['electron/agent/store/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: agentPatterns }] },
  },
  {
    files: ['server/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [noElectron, layer('server/', ['**/electron/**', '**/renderer/**'])] },
      ],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: noNodePaths,
          patterns: [...noNode, noElectron, layer('renderer/', ['**/electron/**', '**/server/**'])],
        },
      ],
    },
  },
  {
    files: ['electron/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            layer('electron/preload/', ['**/agent/**', '**/main/**', '**/renderer/**', '**/server/**']),
          ],
        },
      ],
    },
  },
  {
    files: ['electron/main/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            layer('electron/main/', ['**/renderer/**', '**/server/**']),
            // The agent's one entry is electron/agent/index.ts; its inner files stay private to it.
            {
              regex: '(^|/)agent/(?!index$).+',
              message: 'electron/main/ imports the agent only through its entry, electron/agent/index.ts.',
            },
          ],
        },
      ],
    },
  },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'release/**', 'test-results/**', 'test/fixtures/lint/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': 'off',
    },
  },
  { files: ['renderer/**/*.{ts,tsx}'], languageOptions: { globals: { ...globals.browser } } },
  ...layering,
  prettier,
);
