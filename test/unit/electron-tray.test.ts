// The tray menu and icon, built from an agent snapshot without Electron.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { MenuItemConstructorOptions } from 'electron';
import { EMPTY_SNAPSHOT, applyEvent, type AgentSnapshot } from '../../electron/main/agent-snapshot';
import {
  buildTrayMenu,
  createTrayController,
  shareInOneClick,
  trayIconPath,
  trayIconState,
  type OneClickShareDeps,
  type TrayActions,
} from '../../electron/main/tray';
import { LatticeError, type Settings, type ShareCreateArgs } from '../../shared';
import { sampleShare as share, sampleWorkload as workload } from '../helpers/samples';

function recordingActions() {
  const calls: [string, ...unknown[]][] = [];
  const actions: TrayActions = {
    openConsole: () => calls.push(['openConsole']),
    deployPostgres: () => calls.push(['deployPostgres']),
    startWorkload: (w) => calls.push(['startWorkload', w.id]),
    stopWorkload: (w) => calls.push(['stopWorkload', w.id]),
    copyText: (text) => calls.push(['copyText', text]),
    shareWorkload: (w) => calls.push(['shareWorkload', w.id]),
    setPaused: (paused) => calls.push(['setPaused', paused]),
    quit: () => calls.push(['quit']),
  };
  return { calls, actions };
}

function find(menu: MenuItemConstructorOptions[], id: string): MenuItemConstructorOptions {
  for (const item of menu) {
    if (item.id === id) return item;
    if (Array.isArray(item.submenu)) {
      try {
        return find(item.submenu, id);
      } catch {
        // keep looking
      }
    }
  }
  throw new Error(`no menu item ${id}`);
}

const click = (item: MenuItemConstructorOptions) => (item.click as unknown as () => void)();

const running = workload({
  id: 'w1',
  name: 'db',
  connectionString: 'postgres://u:p@127.0.0.1:15432/app',
});
const stopped = workload({
  id: 'w2',
  name: 'cache',
  status: 'stopped',
  template: 'custom',
  image: 'nginx',
  ports: [],
});

const snapshot = (over: Partial<AgentSnapshot>): AgentSnapshot => ({
  ...EMPTY_SNAPSHOT,
  docker: { available: true, version: '20.10' },
  ...over,
});

describe('tray menu', () => {
  test('has the fixed items in order: console, deploy, workloads, pause, quit', () => {
    const { actions } = recordingActions();
    const menu = buildTrayMenu(snapshot({ workloads: [running, stopped] }), actions);
    const labels = menu.filter((i) => i.type !== 'separator').map((i) => i.label);
    assert.deepEqual(labels, [
      'Open console',
      'Deploy Postgres',
      'cache — stopped',
      'db — running',
      'Pause agent',
      'Quit Lattice',
    ]);
  });

  test('a running workload can be stopped, not started; its connection string is copied', () => {
    const { calls, actions } = recordingActions();
    const menu = buildTrayMenu(snapshot({ workloads: [running, stopped] }), actions);
    assert.equal(find(menu, 'workload:w1:start').enabled, false);
    assert.equal(find(menu, 'workload:w1:stop').enabled, true);
    const copy = find(menu, 'workload:w1:copy');
    assert.equal(copy.label, 'Copy connection string');
    assert.equal(copy.enabled, true);
    click(copy);
    click(find(menu, 'workload:w1:stop'));
    click(find(menu, 'workload:w1:share'));
    assert.deepEqual(calls, [
      ['copyText', 'postgres://u:p@127.0.0.1:15432/app'],
      ['stopWorkload', 'w1'],
      ['shareWorkload', 'w1'],
    ]);
  });

  test('a stopped workload can be started, not stopped or shared, and has nothing to copy', () => {
    const { calls, actions } = recordingActions();
    const menu = buildTrayMenu(snapshot({ workloads: [running, stopped] }), actions);
    assert.equal(find(menu, 'workload:w2:start').enabled, true);
    assert.equal(find(menu, 'workload:w2:stop').enabled, false);
    assert.equal(find(menu, 'workload:w2:share').enabled, false);
    assert.equal(find(menu, 'workload:w2:copy').enabled, false);
    click(find(menu, 'workload:w2:start'));
    assert.deepEqual(calls, [['startWorkload', 'w2']]);
  });

  test('an active share is marked on its workload and its public connection string can be copied', () => {
    const { calls, actions } = recordingActions();
    const menu = buildTrayMenu(snapshot({ workloads: [running], shares: [share({})] }), actions);
    assert.equal(find(menu, 'workload:w1').label, 'db — running · shared');
    const copyShare = find(menu, 'share:s1:copy');
    assert.equal(copyShare.enabled, true);
    click(copyShare);
    assert.deepEqual(calls, [['copyText', 'postgres://share_x:pw@hub.example:20001/app?sslmode=prefer']]);
  });

  test('top-level actions call theirs; pause is a checkbox that toggles', () => {
    const { calls, actions } = recordingActions();
    const menu = buildTrayMenu(snapshot({}), actions);
    click(find(menu, 'open-console'));
    click(find(menu, 'deploy-postgres'));
    const pause = find(menu, 'pause');
    assert.equal(pause.type, 'checkbox');
    assert.equal(pause.checked, false);
    click(pause);
    click(find(menu, 'quit'));
    assert.deepEqual(calls, [['openConsole'], ['deployPostgres'], ['setPaused', true], ['quit']]);

    const paused = buildTrayMenu(snapshot({ paused: true, workloads: [stopped] }), actions);
    assert.equal(find(paused, 'pause').checked, true);
    assert.equal(find(paused, 'deploy-postgres').enabled, false, 'no deploys while paused');
    assert.equal(find(paused, 'workload:w2:start').enabled, false, 'no starts while paused');
    click(find(paused, 'pause'));
    assert.deepEqual(calls.at(-1), ['setPaused', false]);
  });

  test('with no workloads it says so; with Docker down deploy is disabled and the problem is shown', () => {
    const { actions } = recordingActions();
    const empty = buildTrayMenu(snapshot({}), actions);
    assert.equal(find(empty, 'no-workloads').enabled, false);
    const down = buildTrayMenu(
      snapshot({ docker: { available: false, message: 'socket not found' } }),
      actions,
    );
    assert.equal(find(down, 'deploy-postgres').enabled, false);
    assert.match(String(find(down, 'problem').label), /Docker is not available: socket not found/);
  });
});

describe('tray icon state', () => {
  test('problem > sharing > running > idle', () => {
    assert.equal(trayIconState(snapshot({})), 'idle');
    assert.equal(trayIconState(snapshot({ workloads: [stopped] })), 'idle');
    assert.equal(trayIconState(snapshot({ workloads: [running, stopped] })), 'running');
    assert.equal(trayIconState(snapshot({ workloads: [running], shares: [share({})] })), 'sharing');
    assert.equal(
      trayIconState(snapshot({ workloads: [running], shares: [share({ status: 'revoked' })] })),
      'running',
      'a revoked share is not sharing',
    );
    const failed = workload({ id: 'w3', name: 'bad', status: 'failed' });
    assert.equal(trayIconState(snapshot({ workloads: [running, failed], shares: [share({})] })), 'problem');
    assert.equal(
      trayIconState(snapshot({ workloads: [running], shares: [share({})], docker: { available: false } })),
      'problem',
    );
    assert.equal(
      trayIconState(snapshot({ docker: { available: true, runcVersion: '1.1.5', runcVulnerable: true } })),
      'problem',
    );
  });

  test('the snapshot follows agent events, and the icon with it', () => {
    let s = snapshot({});
    s = applyEvent(s, { type: 'workload.changed', workload: running });
    assert.equal(trayIconState(s), 'running');
    s = applyEvent(s, { type: 'share.changed', share: share({}) });
    assert.equal(trayIconState(s), 'sharing');
    s = applyEvent(s, { type: 'share.removed', id: 's1' });
    assert.equal(trayIconState(s), 'running');
    s = applyEvent(s, { type: 'workload.changed', workload: { ...running, status: 'stopped' } });
    assert.equal(trayIconState(s), 'idle');
    s = applyEvent(s, { type: 'workload.removed', id: 'w1', name: 'db' });
    assert.deepEqual(s.workloads, []);
  });

  test('icon files: 32 px on Linux trays, the 16 px base elsewhere', () => {
    assert.equal(trayIconPath('/icons', 'sharing', 'linux'), '/icons/sharing-32.png');
    assert.equal(trayIconPath('/icons', 'problem', 'darwin'), '/icons/problem.png');
  });

  test('the controller swaps the icon and rebuilds the menu when the snapshot changes', () => {
    const images: string[] = [];
    const menus: MenuItemConstructorOptions[][] = [];
    class FakeTray {
      constructor(image: unknown) {
        images.push(String(image));
      }
      on() {}
      setImage(image: unknown) {
        images.push(String(image));
      }
      setToolTip() {}
      setContextMenu(menu: unknown) {
        menus.push(menu as MenuItemConstructorOptions[]);
      }
      destroy() {}
    }
    const { actions } = recordingActions();
    const tray = createTrayController(
      {
        Tray: FakeTray as never,
        Menu: { buildFromTemplate: ((t: MenuItemConstructorOptions[]) => t) as never },
        nativeImage: { createFromPath: ((p: string) => p) as never },
      },
      { iconDir: '/icons', platform: 'linux', actions, initial: snapshot({}) },
    );
    assert.deepEqual(images, ['/icons/idle-32.png']);
    tray.update(snapshot({ workloads: [running], shares: [share({})] }));
    assert.equal(tray.state, 'sharing');
    assert.deepEqual(images, ['/icons/idle-32.png', '/icons/sharing-32.png']);
    assert.equal(menus.length, 2);
    assert.ok(menus[1].some((i) => i.id === 'workload:w1'));
  });
});

describe('Share… in one click', () => {
  type Setup = Pick<Settings, 'ngrokConfigured' | 'hub'>;
  const unpaired: Setup = { ngrokConfigured: false, hub: { url: null, deviceId: null, connected: false } };
  const paired: Setup = {
    ngrokConfigured: true,
    hub: { url: 'https://hub.example', deviceId: 'dev1', connected: true },
  };

  /** The app's side of a click, recorded: what was asked of the agent, the clipboard, notifications. */
  function clickShare(settings: Setup, created = share({}), fail?: Error) {
    const calls: [string, ...unknown[]][] = [];
    const deps: OneClickShareDeps = {
      settings: async () => settings,
      createShare: async (args: ShareCreateArgs) => {
        calls.push(['createShare', args]);
        if (fail) throw fail;
        return created;
      },
      copyText: (text) => calls.push(['copyText', text]),
      notify: (title, body) => calls.push(['notify', title, body]),
      openSharePanel: (w) => calls.push(['openSharePanel', w.name]),
    };
    return { calls, outcome: shareInOneClick(running, deps) };
  }

  test('paired with a hub: shared through the relay, the connection string copied, a notification', async () => {
    const { calls, outcome } = clickShare(paired);
    const result = await outcome;
    assert.equal(result.outcome, 'shared');
    assert.deepEqual(calls.slice(0, 2), [
      ['createShare', { workload: 'w1', via: 'relay' }],
      ['copyText', 'postgres://share_x:pw@hub.example:20001/app?sslmode=prefer'],
    ]);
    const [kind, title, body] = calls[2];
    assert.equal(kind, 'notify');
    assert.equal(title, 'db is shared');
    assert.match(String(body), /^Shared through your hub.*The connection string is on the clipboard\.$/);
    assert.equal(calls.length, 3);
  });

  test('not paired, an ngrok token set: shared through ngrok; an HTTP share copies its URL', async () => {
    const httpShare = share({
      via: 'ngrok',
      kind: 'http',
      connectionString: undefined,
      url: 'https://x.ngrok.app',
    });
    const { calls, outcome } = clickShare({ ...unpaired, ngrokConfigured: true }, httpShare);
    const result = await outcome;
    assert.equal(result.outcome, 'shared');
    assert.equal(result.outcome === 'shared' && result.via, 'ngrok');
    assert.deepEqual(calls[0], ['createShare', { workload: 'w1', via: 'ngrok' }]);
    assert.deepEqual(calls[1], ['copyText', 'https://x.ngrok.app']);
    assert.match(String(calls[2][2]), /^Shared through ngrok.*The address is on the clipboard\.$/);
  });

  test('neither: nothing is shared, the share panel opens and the notification says why', async () => {
    const { calls, outcome } = clickShare(unpaired);
    const result = await outcome;
    assert.equal(result.outcome, 'opened-console');
    assert.deepEqual(calls[0], ['openSharePanel', 'db']);
    assert.equal(calls[1][0], 'notify');
    assert.match(String(calls[1][2]), /not paired with a hub and has no ngrok token/);
    assert.equal(
      calls.some(([name]) => name === 'createShare' || name === 'copyText'),
      false,
    );
  });

  test('a share that fails copies nothing and says why', async () => {
    const { calls, outcome } = clickShare(
      paired,
      share({}),
      new LatticeError('device_offline', 'The hub is not reachable'),
    );
    const result = await outcome;
    assert.deepEqual(result, { outcome: 'failed', message: 'The hub is not reachable' });
    assert.deepEqual(calls.at(-1), ['notify', 'Sharing db failed', 'The hub is not reachable']);
    assert.equal(
      calls.some(([name]) => name === 'copyText'),
      false,
    );
  });
});
