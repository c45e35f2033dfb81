// A relay byte stream pumped by a given build of the agent's worker thread (relay-stream-worker.cjs
// as a bundle script emitted it): used by the CLI and Electron bundle tests to show the emitted file
// runs as a thread, with only what it bundled, and relays a visitor's bytes through a real hub relay.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { HubToAgent } from '../../shared';
import { PumpThread, type PumpStats } from '../../electron/agent/tunnels/relay-stream-thread';
import { RelayStreams, streamUrl } from '../../electron/agent/tunnels/relay-streams';
import { attachAgent, basePort, dial, echoServer, roundTrip, startHub, TOKEN } from './relay-rig';
import { waitFor } from './net';

/** Dials the hub's `stream.open` by hand as a byte stream to `localPort` (the rig delivers none itself). */
export function dialByHand(
  streams: RelayStreams,
  hubUrl: string,
  open: { streamId: string; shareId: string },
  localPort: number,
  stillWanted: () => boolean = () => true,
): void {
  streams.dial({
    streamId: open.streamId,
    shareId: open.shareId,
    url: streamUrl(hubUrl, open.streamId),
    localHost: '127.0.0.1',
    localPort,
    byteStream: true,
    stillWanted,
  });
}

/** Echoes 256 KiB through one stream pumped by a thread running `file`; the thread's stats meanwhile. */
export async function streamThroughWorkerFile(file: string): Promise<PumpStats> {
  const echo = await echoServer();
  const first = await basePort(1);
  const hub = await startHub({ first, last: first });
  const { link, provider } = await attachAgent(hub);
  const warnings: string[] = [];
  const thread = new PumpThread(() => ({ file, script: file, evaluate: false }));
  const streams = new RelayStreams({
    deviceToken: TOKEN,
    thread,
    logger: {
      info: () => undefined,
      debug: () => undefined,
      warn: (o: { err?: string }) => warnings.push(o.err ?? ''),
    } as never,
  });
  try {
    const localPort = (echo.address() as AddressInfo).port;
    await provider.open({
      shareId: 'sh_worker',
      kind: 'tcp',
      localHost: '127.0.0.1',
      localPort,
      expiresAt: null,
    });
    // The provider's own streams would go to the agent's thread: this stream is dialed by hand.
    link.deliverStreams = false;
    const visitor = await dial(first);
    const open = await waitFor('the hub to ask for a stream', () =>
      link.delivered.find((m): m is Extract<HubToAgent, { type: 'stream.open' }> => m.type === 'stream.open'),
    );
    dialByHand(streams, hub.url, open, localPort);
    const data = randomBytes(256 * 1024);
    assert.ok((await roundTrip(visitor, data)).equals(data), 'the visitor got its bytes back');
    const stats = await thread.stats();
    assert.deepEqual(warnings, [], 'the thread started');
    assert.ok(stats, 'the thread runs');
    visitor.destroy();
    await waitFor('the stream to end', () => streams.count(open.shareId) === 0, 5_000, 20);
    return stats;
  } finally {
    streams.close();
    await provider.closeAll();
    await hub.close();
    await new Promise((r) => echo.close(r));
  }
}
