// Relay across hubs: two hubs on one PostgreSQL and one nats-server (real ones), each on its own
// loopback address with the same relay port range, as hosts behind a load balancer are. The agent's
// real control link (HubLink) and relay (RelayTunnelProvider) reach the cluster through a forwarder
// standing in for the load balancer. A share opened through hub A answers visitors at hub B (the
// agent dials B's own URL for them); closing it stops both; when hub A goes away the agent reconnects
// through B, re-opens there, and the same address works again. An agent never sends its token to a
// stream URL of another scheme than its hub link.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import pino from 'pino';
import type { HubToAgent } from '../../shared';
import { HubLink } from '../../electron/agent/hub-link';
import { RelayTunnelProvider, type RelayControlLink } from '../../electron/agent/tunnels/relay-tunnel';
import { freePortBlock, waitFor } from '../helpers/net';
import { startNatsServer, type NatsServer } from '../helpers/nats-server';
import { sharedPostgresServer } from '../helpers/postgres-server';
import { api, pairDevice, registerUser, startTestHub, type TestHub } from './hub-fixtures';

const silent = pino({ level: 'silent' });
let nats: NatsServer;
let hubA: TestHub;
let hubB: TestHub;
let relayPorts: { from: number; to: number };
const cleanup: (() => unknown)[] = [];

/** A TCP forwarder to one hub at a time: the load balancer in front of the cluster. */
function balancer(): Promise<{ url: string; target: { port: number; host: string }; server: Server }> {
  const lb = { target: { port: 0, host: '127.0.0.1' } } as {
    url: string;
    target: { port: number; host: string };
    server: Server;
  };
  const sockets = new Set<Socket>();
  lb.server = createServer((client) => {
    const upstream = connect(lb.target);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => client.destroy());
    }
    client.pipe(upstream).pipe(client);
  });
  lb.server.on('close', () => sockets.forEach((s) => s.destroy()));
  return new Promise((resolve) =>
    lb.server.listen(0, '127.0.0.1', () => {
      const { port } = lb.server.address() as { port: number };
      lb.url = `http://127.0.0.1:${port}`;
      resolve(lb);
    }),
  );
}

/** A TCP service answering each line with `<name>: <line>`: the shared workload. */
function lineService(name: string): Promise<{ port: number; server: Server }> {
  const server = createServer((s) => {
    s.on('error', () => undefined);
    s.on('data', (d) => s.write(`${name}: ${d.toString()}`));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ port: (server.address() as { port: number }).port, server }),
    ),
  );
}

/** One line through a relay port of the given hub address; rejects when the visitor is dropped. */
function ask(host: string, port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port });
    let got = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no answer from ${host}:${port}`));
    }, 8_000);
    s.on('connect', () => s.write(`${line}\n`));
    s.on('data', (d) => {
      got += d.toString();
      if (got.endsWith('\n')) {
        clearTimeout(timer);
        s.end();
        resolve(got.trim());
      }
    });
    s.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (!got) reject(new Error(`${host}:${port} closed without an answer`));
    });
  });
}

before(async () => {
  nats = await startNatsServer();
  const database = await (await sharedPostgresServer()).createDatabase(`relay_cluster_${process.pid}`);
  relayPorts = await freePortBlock(5);
  const common = { database, bus: nats.url, relayPorts, relay: { offlineGraceMs: 60_000 } };
  hubA = await startTestHub({ ...common, host: '127.0.0.2', publicHost: '127.0.0.1' });
  // Its own empty data directory: the cluster's signing key comes from the database.
  hubB = await startTestHub({ ...common, host: '127.0.0.3', publicHost: '127.0.0.1' });
});

after(async () => {
  for (const fn of cleanup.reverse()) await fn();
  await hubA?.stop();
  await hubB?.stop();
  await nats?.stop();
});

describe('relay across hubs', () => {
  test('a share opened through hub A answers at hub B; it ends on both; after A goes, B serves it', async () => {
    const lb = await balancer();
    lb.target = { host: '127.0.0.2', port: hubA.port };
    cleanup.push(() => lb.server.close());
    const user = await registerUser(hubA);
    const device = await pairDevice(hubA, user.accessToken, 'laptop');
    // One signing key for both hubs, from the database: A's token is good at B, without a key file.
    assert.equal((await api(hubB, 'GET', '/api/me', { token: user.accessToken })).status, 200);
    assert.equal(existsSync(join(hubB.dataDir, 'hub-signing-key.pem')), false);
    const link = new HubLink({
      hubUrl: lb.url,
      deviceToken: device.deviceToken,
      name: 'laptop',
      dispatch: () => Promise.reject(new Error('no commands in this test')),
      onEvent: () => () => undefined,
      logger: silent,
      backoffBaseMs: 100,
      backoffCapMs: 500,
    });
    const relay = new RelayTunnelProvider({ link, hubUrl: lb.url, deviceToken: device.deviceToken });
    const service = await lineService('db');
    cleanup.push(
      () => service.server.close(),
      () => relay.closeAll(),
      () => link.stop(),
    );
    link.start();
    await waitFor('the agent connected to hub A', () => link.connected);

    const endpoint = await relay.open({
      shareId: 'share-1',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: service.port,
      expiresAt: null,
    });
    const port = endpoint.publicPort!;
    assert.equal(endpoint.publicHost, '127.0.0.1', 'the address visitors use: the load balancer');
    assert.equal(await ask('127.0.0.2', port, 'hello A'), 'db: hello A');
    // Hub B hears of the share over NATS and listens on the same port of its own address.
    await waitFor('hub B listening for the share', () =>
      hubB.relay.listening().some((l) => l.shareId === 'share-1' && l.port === port),
    );
    assert.equal(await ask('127.0.0.3', port, 'hello B'), 'db: hello B');

    // Hub A goes away; the agent comes back through the load balancer on B and re-opens there.
    lb.target = { host: '127.0.0.3', port: hubB.port };
    await hubA.stop();
    await waitFor('the agent reconnected through hub B', () => link.connected, 15_000);
    await waitFor('the share answers at hub B again', async () => {
      try {
        return (await ask('127.0.0.3', port, 'after')) === 'db: after';
      } catch {
        return false;
      }
    });

    // Closing the share ends it on B (and on every hub that listened for it).
    await relay.close('share-1');
    await waitFor(
      'hub B stopped listening',
      () => !hubB.relay.listening().some((l) => l.shareId === 'share-1'),
    );
    await assert.rejects(ask('127.0.0.3', port, 'gone'));
    const row = await hubB.store.relayAssignment('share-1');
    assert.equal(row, undefined, 'the port reservation is released');
  });
});

describe('stream URLs named by a hub', () => {
  /** A control link the test drives: what the hub would send, straight to the agent's relay. */
  function scriptedLink() {
    const listeners = new Set<(m: HubToAgent) => void>();
    const sent: unknown[] = [];
    const link: RelayControlLink = {
      connected: true,
      send: (m) => {
        sent.push(m);
        return true;
      },
      onMessage: (cb) => {
        listeners.add(cb);
        return () => listeners.delete(cb);
      },
      onStatus: () => () => undefined,
    };
    return { link, sent, deliver: (m: HubToAgent) => listeners.forEach((l) => l(m)) };
  }

  test('an agent on an https hub does not dial a plain http stream URL (its token stays off the wire)', async () => {
    let dialled = 0;
    const trap = createServer((s) => {
      dialled++;
      s.destroy();
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    cleanup.push(() => trap.close());
    const trapPort = (trap.address() as { port: number }).port;
    const { link, deliver, sent } = scriptedLink();
    const relay = new RelayTunnelProvider({
      link,
      hubUrl: 'https://hub.example',
      deviceToken: 'secret',
      logger: silent,
    });
    cleanup.push(() => relay.closeAll());
    const opening = relay.open({
      shareId: 's',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: 1,
      expiresAt: null,
    });
    const req = sent.find((m) => (m as { type: string }).type === 'relay.open') as { requestId: string };
    deliver({
      type: 'relay.opened',
      requestId: req.requestId,
      shareId: 's',
      publicHost: 'h',
      url: 'tcp://h:1',
    });
    await opening;
    for (const hubUrl of [`http://127.0.0.1:${trapPort}`, `ftp://127.0.0.1:${trapPort}`, 'not a url']) {
      deliver({ type: 'stream.open', streamId: `x${dialled}`, shareId: 's', hubUrl });
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(dialled, 0, 'no connection made to a stream URL of another scheme');
    assert.equal(relay.openConnections('s'), 0);

    // The same message to an agent whose hub link is plain http: it dials the hub named.
    const plain = scriptedLink();
    const relay2 = new RelayTunnelProvider({
      link: plain.link,
      hubUrl: 'http://hub.example',
      deviceToken: 'secret',
      logger: silent,
    });
    cleanup.push(() => relay2.closeAll());
    const opening2 = relay2.open({
      shareId: 's',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort: 1,
      expiresAt: null,
    });
    const req2 = plain.sent.find((m) => (m as { type: string }).type === 'relay.open') as {
      requestId: string;
    };
    plain.deliver({
      type: 'relay.opened',
      requestId: req2.requestId,
      shareId: 's',
      publicHost: 'h',
      url: 'tcp://h:1',
    });
    await opening2;
    plain.deliver({
      type: 'stream.open',
      streamId: 'y',
      shareId: 's',
      hubUrl: `http://127.0.0.1:${trapPort}`,
    });
    await waitFor('the agent dialled the hub named in stream.open', () => dialled === 1);
  });
});
